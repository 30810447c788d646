// The scale-out deployment on one machine, as deploy/ describes it: nginx in
// front (one public port, plus an internal one for the repeaters' link), two
// server processes on one MariaDB database joined by Redis, and two repeater
// nodes that nginx reaches at /r/<node>/. Used by `npm run test:scale` and
// `npm run bench:scale`; everything on loopback, every process stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForPort } from '../processes.ts';
import { startRedis, type RedisServer } from '../redis.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess, type RepeaterProcess } from '../repeater-process.ts';

export interface Topology {
  /** The public address (nginx). */
  front: string;
  servers: { port: number; process: ServerProcess | null; url: string }[];
  nodes: Record<string, RepeaterProcess>;
  redis: RedisServer;
  startServer(index: number): Promise<void>;
  stop(): Promise<void>;
}

export function nginxConfig(o: { dir: string; port: number; internalPort: number; servers: number[]; nodes: Record<string, number> }): string {
  const servers = o.servers.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=3s;`).join('\n');
  const nodes = Object.entries(o.nodes).map(([name, p]) => `    ${name} 127.0.0.1:${p};`).join('\n');
  const proxied = `proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;`;
  return `worker_processes 1;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/error.log warn;
daemon off;
user root;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/body;
  proxy_temp_path ${o.dir}/proxy;
  fastcgi_temp_path ${o.dir}/fastcgi;
  uwsgi_temp_path ${o.dir}/uwsgi;
  scgi_temp_path ${o.dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream helpdesk_servers {
${servers}
  }
  map $node $node_upstream {
${nodes}
  }
  server {
    listen 127.0.0.1:${o.port};
    location ~ ^/r/(?<node>[A-Za-z0-9._-]+)/(?<leg>wsServer|wsClient)$ {
      proxy_pass http://$node_upstream/$leg$is_args$args;
      ${proxied}
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 120s;
      proxy_buffering off;
    }
    location /internal/ { return 404; }
    location ~ ^/api/v1/(events|help-requests/\\d+/events)$ {
      proxy_pass http://helpdesk_servers;
      ${proxied}
      proxy_set_header Connection '';
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503;
    }
    location / {
      proxy_pass http://helpdesk_servers;
      ${proxied}
      proxy_next_upstream error timeout http_502 http_503 http_504;
    }
  }
  server {
    listen 127.0.0.1:${o.internalPort};
    location / {
      proxy_pass http://helpdesk_servers;
      ${proxied}
      proxy_set_header Connection '';
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`;
}

export async function startTopology(databaseUrl: string, extraServerEnv: Record<string, string> = {}): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'helpdesk-scale-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const [port, internalPort, s1, s2, rb, rc] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const front = `http://127.0.0.1:${port}`;
  const nodePorts = { 'node-b': rb!, 'node-c': rc! };
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig({ dir, port: port!, internalPort: internalPort!, servers: [s1!, s2!], nodes: nodePorts }));
  const redis = await startRedis();
  const children: ChildProcess[] = [];
  const nodes: Record<string, RepeaterProcess> = {};
  const servers: Topology['servers'] = [s1!, s2!].map((p) => ({ port: p, process: null, url: `http://127.0.0.1:${p}` }));
  const stop = async (): Promise<void> => {
    for (const node of Object.values(nodes)) await node.stop();
    for (const s of servers) if (s.process && s.process.child.exitCode === null) await stopProcess(s.process.child, 8_000);
    for (const child of children) await stopProcess(child);
    await redis.stop();
  };
  try {
  const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  children.push(nginx);
  await waitForPort(port!, 'nginx', nginx);
  const serverEnv = {
    REDIS_URL: redis.url,
    PUBLIC_URL: front,
    REPEATER_PUBLIC_URL: `ws://127.0.0.1:${port}/r/node-b`,
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
        REPEATER_NODE_URL: `ws://127.0.0.1:${port}/r/${name}`,
        REPEATER_NODE_HEARTBEAT_MS: '200',
        // Every leg comes through nginx, from one address.
        REPEATER_MAX_LEGS_PER_ADDRESS: '5000',
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
