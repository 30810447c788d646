// The repeater on a port of its own (a repeater process, tests, benchmarks):
// an HTTP server whose plain requests get `handler` (404 by default) and
// whose upgrades the repeater claims once attached.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const notFound: RequestListener = (_req, res) => {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only websocket upgrades are served here' } }));
};

export function ownServer(handler: RequestListener = notFound): Server {
  return createServer(handler);
}

/** Listens on host:port (0 for any); resolves with the bound address. */
export async function listening(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server.address() as AddressInfo;
}
