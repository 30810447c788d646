// The terminal client asks what the request is about (issue 29), as a real
// process against the real server: in Spanish, a numbered list of the
// server's topics in Spanish; the one picked goes with the request (which
// lands in that topic's team's queue). `--topic` names one by its name; one
// that does not exist is refused in words and nothing is requested.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

let h: Harness;
let admin: Tech;
let teamId: number;
const topics: Record<string, number> = {};

beforeAll(async () => {
  h = await startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' });
  admin = await h.login('admin', ADMIN_PASSWORD);
  const ana = await h.createTechnician(admin, 'ana');
  teamId = (await admin.post('/api/v1/teams', { name: 'Impresión', members: [ana.id] }).expect(201)).body.team.id;
  for (const [en, es, zh] of [['Printers', 'Impresoras', '打印机'], ['Mail', 'Correo', '邮件']] as const) {
    topics[en] = (await admin.post('/api/v1/topics', { nameEn: en, nameEs: es, nameZh: zh, teamId: en === 'Printers' ? teamId : null, targetWaitSeconds: 300 }).expect(201)).body.topic.id;
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function runClient(args: string[]) {
  const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: ':99', HELPDESK_REQUESTER_NAME: 'Tomás Terminal', HELPDESK_LANG: 'es' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => out,
    async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = out.match(pattern);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe('helpdesk-client asks for the topic', () => {
  it('in Spanish: a numbered list of the topics in Spanish; the one picked is sent and routes the request', async () => {
    const client = runClient([]);
    await client.waitFor(/Describa el problema: $/);
    client.child.stdin.write('La impresora no imprime\n');
    await client.waitFor(/¿De qué se trata\? \[1\] Correo, \[2\] Impresoras, o pulse Intro si no es ninguno: $/);
    // Not a number on the list: asked again.
    client.child.stdin.write('7\n');
    await client.waitFor(/(¿De qué se trata\?.*){2}/s);
    client.child.stdin.write('2\n');
    const [, id] = await client.waitFor(/Su solicitud es la #(\d+)\./);
    const { ticket } = (await admin.get(`/api/v1/tickets/${id}`).expect(200)).body;
    expect(ticket.description).toBe('La impresora no imprime');
    expect(ticket.routing.topic).toEqual({ id: topics.Printers, names: { en: 'Printers', es: 'Impresoras', zh: '打印机' } });
    expect(ticket.routing.team).toEqual({ id: teamId, name: 'Impresión' });
    client.child.stdin.write('stop\n');
    expect(await client.exited).toBe(0);
  });

  it('--topic names a topic by its name; an unknown one is refused in words and nothing is requested', async () => {
    const before = await h.rows('tickets');
    const unknown = runClient(['--topic', 'Fax', '--description', 'No va el fax']);
    expect(await unknown.exited).toBe(64);
    expect(unknown.output()).toContain('No existe el tema «Fax». Los temas son: [1] Correo, [2] Impresoras');
    expect(await h.rows('tickets')).toBe(before);

    const named = runClient(['--topic', 'correo', '--description', 'No llega el correo']);
    const [, id] = await named.waitFor(/Su solicitud es la #(\d+)\./);
    expect((await admin.get(`/api/v1/tickets/${id}`).expect(200)).body.ticket.routing.topic.id).toBe(topics.Mail);
    named.child.stdin.write('stop\n');
    expect(await named.exited).toBe(0);
  });
});
