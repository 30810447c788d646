// Scale benchmark (not a test): the scale-out topology of test/scale (nginx,
// two servers on one MariaDB joined by Redis, two repeater nodes), on
// loopback. Prints the cross-server event delay for 1,000 events (created on
// one server, read on a technician's stream on the other) and pairing latency
// across nodes for 200 sessions through nginx; last line one JSON object.
import request from 'supertest';
import knexFactory from 'knex';
import { WebSocket } from 'ws';
import { startMariaDb } from '../test/mariadb.ts';
import { clientKey, startTopology } from '../test/scale/topology.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse } from '../test/http-clients.ts';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { makeTestCertificate } from '../test/deploy-front.ts';

// nginx serves TLS (deploy/nginx-scale.conf) with a certificate made here, as the tests' global
// setup makes one: this process runs again, trusting it from its start.
if (!process.env.HELPDESK_TEST_TLS_CERT) {
  const tls = makeTestCertificate();
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: tls.cert, HELPDESK_TEST_TLS_CERT: tls.cert, HELPDESK_TEST_TLS_KEY: tls.key };
  const run = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  rmSync(tls.dir, { recursive: true, force: true });
  process.exit(run.status ?? 1);
}

const EVENTS = 1000;
const SESSIONS = 200;
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const round = (x: number): number => Number(x.toFixed(2));

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 10 minutes; stopping');
  process.exit(2);
}, 600_000);
watchdog.unref();

const mariadb = await startMariaDb();
const admin = knexFactory({ client: 'mysql2', connection: mariadb.url });
await admin.raw('CREATE DATABASE scale_bench CHARACTER SET utf8mb4');
await admin.destroy();
const t = await startTopology(`${mariadb.url}/scale_bench`, { MAX_ACTIVE_TICKETS_PER_TECH: '1000' });
try {
  const root = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
  // The stream on server 1, the requests through server 2.
  const live = await openSse(`${t.servers[0]!.url}/api/v1/events`, { cookie: await cookieOf(root) });
  await live.next((e) => e === 'snapshot');
  const delays: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const sentAt = Date.now();
    const res = await request(t.servers[1]!.url).post('/api/v1/help-requests').set(clientKey).send({ requesterName: `Bench ${i}`, username: 'b', hostname: 'h', os: 'Linux', description: 'bench' });
    const id = res.body.id as number;
    const event = await live.next((e, d) => e === 'ticket' && d.ticket.id === id, 5_000);
    delays.push(event.at - sentAt);
  }
  live.close();
  console.log(`cross-server events: ${EVENTS}, delay from the POST on server 2 to the event on server 1's stream: p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms`);

  // Pairing across nodes, through nginx: from the viewer's open to x11vnc's first bytes (a desktop leg's greeting).
  await root.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' });
  const ana = await loginAt(t.front, 'ana', 'ana-password-123');
  const pairing: number[] = [];
  const perNode: Record<string, number> = {};
  const sockets: WebSocket[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const created = await request(t.front).post('/api/v1/help-requests').set(clientKey).send({ requesterName: `Pair ${i}`, username: 'p', hostname: 'h', os: 'Linux', description: 'pair' });
    const { id, clientSecret } = created.body as { id: number; clientSecret: string };
    await ana.post(`/api/v1/tickets/${id}/accept`);
    await request(t.front).post(`/api/v1/help-requests/${id}/approve`).set('authorization', `Bearer ${clientSecret}`).send({ viewOnly: false });
    const d = (await request(t.front).post(`/api/v1/help-requests/${id}/desktop-token`).set('authorization', `Bearer ${clientSecret}`)).body.url as string;
    const v = (await ana.post(`/api/v1/tickets/${id}/viewer-token`)).body.url as string;
    const node = /\/r\/([^/]+)\//.exec(d)![1]!;
    perNode[node] = (perNode[node] ?? 0) + 1;
    const desktop = new WebSocket(d);
    await new Promise((resolve, reject) => {
      desktop.once('open', resolve);
      desktop.once('error', reject);
    });
    desktop.send(Buffer.from('RFB 003.008\n'));
    const viewer = new WebSocket(v, { origin: t.front });
    let openedAt = 0;
    viewer.once('open', () => (openedAt = performance.now()));
    await new Promise((resolve, reject) => {
      viewer.once('message', resolve);
      viewer.once('error', reject);
    });
    pairing.push(performance.now() - openedAt);
    sockets.push(desktop, viewer);
  }
  for (const s of sockets) s.terminate();
  console.log(`pairing across nodes through nginx: ${SESSIONS} sessions (${Object.entries(perNode).map(([n, c]) => `${n} ${c}`).join(', ')}), p50 ${percentile(pairing, 50).toFixed(2)} ms, p99 ${percentile(pairing, 99).toFixed(2)} ms`);
  console.log(JSON.stringify({ crossServerEventP50Ms: round(percentile(delays, 50)), crossServerEventP99Ms: round(percentile(delays, 99)), pairP99Ms: round(percentile(pairing, 99)), sessionsPerNode: perNode }));
} finally {
  await t.stop();
  await mariadb.destroy();
}
process.exit(0);
