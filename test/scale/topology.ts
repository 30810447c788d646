// The scale-out deployment on one machine, as deploy/ describes it: nginx in
// front running deploy/nginx-scale.conf as written, over TLS (one public port,
// plus an internal one for the repeaters' link), two
// server processes on one MariaDB database joined by Redis, and two repeater
// nodes that nginx reaches at /r/<node>/. Used by `npm run test:scale` and
// `npm run bench:scale`; everything on loopback, every process stopped by pid.
import { freePort, stopProcess } from '../processes.ts';
import { renderDeployFile, startNginx, testCertificate, type Nginx } from '../deploy-front.ts';
import { startRedis, type RedisServer } from '../redis.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess, type RepeaterProcess } from '../repeater-process.ts';

export const TOPOLOGY_CLIENT_KEY = 'client-key-for-the-scale-tests';
/** The header a desktop client sends to ask for help (CLIENT_KEY). */
export const clientKey = { 'x-client-key': TOPOLOGY_CLIENT_KEY } as const;

export interface Topology {
  /** The public address (nginx, https://127.0.0.1:<port>, with the run's test certificate). */
  front: string;
  servers: { port: number; process: ServerProcess | null; url: string }[];
  nodes: Record<string, RepeaterProcess>;
  redis: RedisServer;
  startServer(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** deploy/nginx-scale.conf as written, with this machine's addresses and the run's certificate (test/deploy-front.ts). */
export function scaleSite(o: { port: number; httpPort: number; internalPort: number; servers: readonly [number, number]; nodes: readonly [number, number] }): string {
  const { cert, key } = testCertificate();
  return renderDeployFile('nginx-scale.conf', [
    ['listen 80;', `listen 127.0.0.1:${o.httpPort};`],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${o.port} ssl http2;`],
    ['listen 10.0.0.10:8079;', `listen 127.0.0.1:${o.internalPort};`],
    ['/etc/letsencrypt/live/help.example.com/fullchain.pem', cert],
    ['/etc/letsencrypt/live/help.example.com/privkey.pem', key],
    ['10.0.0.11:8080', `127.0.0.1:${o.servers[0]}`],
    ['10.0.0.12:8080', `127.0.0.1:${o.servers[1]}`],
    ['node-1 10.0.0.21:8081', `node-1 127.0.0.1:${o.nodes[0]}`],
    ['node-2 10.0.0.22:8081', `node-2 127.0.0.1:${o.nodes[1]}`],
  ]);
}

export async function startTopology(databaseUrl: string, extraServerEnv: Record<string, string> = {}, extraNodeEnv: Record<string, string> = {}): Promise<Topology> {
  const [port, httpPort, internalPort, s1, s2, n1, n2] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const front = `https://127.0.0.1:${port}`;
  const nodePorts = { 'node-1': n1!, 'node-2': n2! };
  const site = scaleSite({ port: port!, httpPort: httpPort!, internalPort: internalPort!, servers: [s1!, s2!], nodes: [n1!, n2!] });
  const redis = await startRedis();
  let nginx: Nginx | null = null;
  const nodes: Record<string, RepeaterProcess> = {};
  const servers: Topology['servers'] = [s1!, s2!].map((p) => ({ port: p, process: null, url: `http://127.0.0.1:${p}` }));
  const stop = async (): Promise<void> => {
    for (const node of Object.values(nodes)) await node.stop();
    for (const s of servers) if (s.process && s.process.child.exitCode === null) await stopProcess(s.process.child, 8_000);
    await nginx?.stop();
    await redis.stop();
  };
  try {
  nginx = await startNginx(site, [port!, httpPort!, internalPort!]);
  const serverEnv = {
    REDIS_URL: redis.url,
    PUBLIC_URL: front,
    CLIENT_KEY: TOPOLOGY_CLIENT_KEY, // an https:// PUBLIC_URL requires one (header: `clientKey`)
    REPEATER_PUBLIC_URL: `wss://127.0.0.1:${port}/r/node-1`,
    REPEATER_SECRET: TEST_REPEATER_SECRET,
    REPEATER_LOST_AFTER_MS: '1000',
    REPEATER_NODE_STALE_MS: '1000',
    MAX_ACTIVE_TICKETS_PER_TECH: '100',
    TICKET_CREATE_RATE_PER_MINUTE: '10000',
    LOGIN_RATE_PER_MINUTE: '1000',
    ...extraServerEnv,
  };
  const startServer = async (index: number): Promise<void> => {
    servers[index]!.process = await startServerProcess(servers[index]!.port, databaseUrl, serverEnv);
  };
  await startServer(0); // one at a time: the first runs the migrations
  await startServer(1);
  for (const [name, nodePort] of Object.entries(nodePorts)) {
    nodes[name] = await startRepeaterProcess(
      {
        REPEATER_SERVER_URL: `http://127.0.0.1:${internalPort}`,
        REPEATER_SECRET: TEST_REPEATER_SECRET,
        REPEATER_NAME: name,
        REPEATER_NODE_URL: `wss://127.0.0.1:${port}/r/${name}`,
        REPEATER_NODE_HEARTBEAT_MS: '200',
        // Every leg comes through nginx (TRUST_PROXY: loopback), and the tests' clients all from 127.0.0.1.
        REPEATER_MAX_LEGS_PER_ADDRESS: '5000',
        ...extraNodeEnv,
      },
      { port: nodePort },
    );
  }
  await new Promise((r) => setTimeout(r, 400)); // first heartbeats
  return { front, servers, nodes, redis, startServer, stop };
  } catch (err) {
    await stop(); // nothing left running when the topology could not start
    throw err;
  }
}
