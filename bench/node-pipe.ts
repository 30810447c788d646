// The floor for any Node relay, for the repeater benchmark: a plain TCP relay
// with net sockets piped both ways (what a user would write in ten lines).
// Listens on 127.0.0.1 (any port), forwards every connection to the port given
// as argv[2], reports its port over IPC.
import { connect, createServer } from 'node:net';

const targetPort = Number(process.argv[2]);
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as { port: number }).port });
});
process.on('disconnect', () => process.exit(0));
