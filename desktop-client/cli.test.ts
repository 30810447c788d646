// The terminal client as a real process, driven through its stdin and read
// from its stdout, against the real server with x11vnc on Xvfb.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { compareRollupsWithRecount } from '../server/stats/recount.ts';
import { surveyStats } from '../server/surveys/survey-stats.ts';

let h: Harness;
let x: XDisplay;
let ana: Tech;

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  await h?.close();
  await x?.stop();
});

interface Running {
  child: ChildProcess;
  output: () => string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function runClient(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Tess Terminal', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
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

async function viewer(ticketId: number): Promise<WebSocket> {
  const { body } = await ana.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
  const ws = new WebSocket(body.url, { origin: h.server.url });
  await new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
  });
  return ws;
}

describe('helpdesk-client (terminal mode)', () => {
  it('asks for consent on stdin, runs the session, and stops on "stop"', async () => {
    const client = runClient([]);
    await client.waitFor(/Describe the problem: $/);
    client.child.stdin!.write('Mail does not sync\n');
    const [, id] = await client.waitFor(/Your request is #(\d+)\./);
    const ticket = await ana.get(`/api/v1/tickets/${id}`).expect(200);
    expect(ticket.body.ticket).toMatchObject({ requesterName: 'Tess Terminal', description: 'Mail does not sync' });
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await client.waitFor(/Ana \(technician\) wants to help you\.\nAllow control \[c\], allow view only \[v\], decline \[d\], or decline and don't ask again for Ana \[n\]\? $/);
    client.child.stdin!.write('c\n');
    await client.waitFor(/Ana is connecting to your screen/);
    const ws = await viewer(Number(id));
    await client.waitFor(/Ana is helping you\./);
    client.child.stdin!.write('stop\n');
    expect(await client.exited).toBe(0);
    expect(client.output()).toMatch(/The session has ended: you stopped it\./);
    // Each step is said once (issue 16: "Starting screen sharing…" used to be printed twice).
    expect(client.output().match(/Starting screen sharing/g)).toHaveLength(1);
    ws.terminate();
  }, 60_000);

  it('asks by name for each participant and reads allow/refuse/stop NAME, "who" and "stop all" (issue 26)', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const [luis, marta] = [await h.createTechnician(admin, 'luis'), await h.createTechnician(admin, 'marta')];
    const client = runClient(['--description', 'Several people']);
    const [, id] = await client.waitFor(/Your request is #(\d+)\./);
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await client.waitFor(/\[n\]\? $/);
    client.child.stdin!.write('c\n');
    await client.waitFor(/Ana is connecting to your screen/);
    const after = async (from: number, pattern: RegExp) => expect.poll(() => client.output().slice(from), { timeout: 15_000, message: `output so far:\n${client.output()}` }).toMatch(pattern);
    const invite = async (who: typeof luis, mode: 'view' | 'control') => {
      const { body } = await ana.post(`/api/v1/tickets/${id}/invitations`, { technicianId: who.id, mode }).expect(201);
      await who.post(`/api/v1/invitations/${body.id}/accept`).expect(200);
    };
    let from = client.output().length;
    await invite(luis, 'view');
    await after(from, /Ana invites Luis to watch your screen\.\nType "allow Luis" or "refuse Luis"\.\n/);
    from = client.output().length;
    client.child.stdin!.write('allow Luis\n');
    await after(from, /Luis joined \(watching\)\./);
    from = client.output().length;
    client.child.stdin!.write('who\n');
    await after(from, /Ana: in control\nLuis: watching\n/);
    from = client.output().length;
    await invite(marta, 'control');
    await after(from, /Ana invites Marta to take control of your screen\./);
    client.child.stdin!.write('refuse marta\n');
    await after(from, /You refused Marta; nothing else changed\./);
    client.child.stdin!.write('allow Nobody\n');
    await after(from, /Nobody named Nobody is waiting or connected\./);
    from = client.output().length;
    client.child.stdin!.write('stop Luis\n');
    await after(from, /Luis was stopped and no longer sees your screen\./);
    const states = async () => (await ana.get(`/api/v1/tickets/${id}/participants`).expect(200)).body.participants.map((p: { technicianId: number; state: string }) => [p.technicianId, p.state]);
    expect(await states()).toEqual(expect.arrayContaining([[luis.id, 'stopped'], [marta.id, 'refused']]));
    from = client.output().length;
    await invite(luis, 'view');
    await after(from, /Ana invites Luis to watch your screen\./);
    client.child.stdin!.write('allow luis\n');
    await after(from, /Luis joined \(watching\)\./);
    client.child.stdin!.write('stop all\n');
    await after(from, /You stopped everyone else on your screen\./);
    await expect.poll(states, { timeout: 10_000 }).toEqual(expect.arrayContaining([[luis.id, 'stopped']]));
    // The session itself goes on until "stop".
    expect((await ana.get(`/api/v1/tickets/${id}`).expect(200)).body.ticket.status).toBe('approved');
    client.child.stdin!.write('stop\n');
    expect(await client.exited).toBe(0);
  }, 90_000);

  it('speaks Spanish with HELPDESK_LANG=es, and "n" declines a technician for good', async () => {
    const client = runClient([], { HELPDESK_LANG: 'es' });
    await client.waitFor(/Describa el problema: $/);
    client.child.stdin!.write('El correo no sincroniza\n');
    const [, id] = await client.waitFor(/Su solicitud es la #(\d+)\./);
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await client.waitFor(/Ana \(técnico\) quiere ayudarle\.\n¿Permitir el control \[c\], permitir solo ver \[v\], rechazar \[d\], o rechazar y no volver a preguntar por Ana \[n\]\? $/);
    client.child.stdin!.write('n\n');
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${id}`)).body.ticket.status).toBe('requested');
    const again = await ana.post(`/api/v1/tickets/${id}/accept`).expect(409);
    expect(again.body.error.code).toBe('DECLINED_BY_USER');
    client.child.kill('SIGTERM');
    expect(await client.exited).toBe(0);
    expect(client.output()).toMatch(/La sesión ha terminado: usted canceló su solicitud\./);
  }, 60_000);

  it('asks how the session went after it ended, in Spanish: 1 to 5 (anything else asked again) and a comment; the answer is on the ticket, counted in the statistics (issue 29)', async () => {
    const client = runClient(['--description', 'Encuesta'], { HELPDESK_LANG: 'es', HELPDESK_SURVEY: 'ask' });
    const [, id] = await client.waitFor(/Su solicitud es la #(\d+)\./);
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await client.waitFor(/\[n\]\? $/);
    client.child.stdin!.write('c\n');
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${id}`)).body.ticket.status, { timeout: 15_000 }).toBe('approved');
    const ws = await viewer(Number(id));
    await client.waitFor(/Ana le está ayudando\./);
    await ana.post(`/api/v1/tickets/${id}/end`).expect(200);
    await client.waitFor(/La sesión ha terminado: .*\n¿Qué tal fue\? Valore de 1 \(mala\) a 5 \(muy buena\), o pulse Intro para omitir: $/);
    client.child.stdin!.write('7\n');
    await client.waitFor(/Elija una valoración de 1 a 5, u omita la pregunta\.\n¿Qué tal fue\?[^\n]*: $/);
    client.child.stdin!.write('4\n');
    await client.waitFor(/¿Algo que añadir\? \(opcional; pulse Intro para terminar\): $/);
    client.child.stdin!.write('Muy amable\n');
    await client.waitFor(/Gracias por su respuesta\./);
    expect(await client.exited).toBe(0);
    expect(await h.server.db('tickets').where({ id: Number(id) }).first('survey_rating', 'survey_comment')).toEqual({ survey_rating: 4, survey_comment: 'Muy amable' });
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
    const stats = await surveyStats(h.server.db, h.clock.now(), 7);
    expect(stats.byTechnician.find((r) => r.technicianId === ana.id)?.distribution[3]).toBeGreaterThanOrEqual(1);
    ws.terminate();
  }, 60_000);

  it('allows view only without asking with --yes --view-only, and ends on SIGTERM', async () => {
    const client = runClient(['--yes', '--view-only', '--description', 'unattended']);
    const [, id] = await client.waitFor(/Your request is #(\d+)\./);
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await client.waitFor(/Ana is connecting to your screen/);
    const detail = await ana.get(`/api/v1/tickets/${id}`).expect(200);
    expect(detail.body.ticket.viewOnly).toBe(true);
    const ws = await viewer(Number(id));
    await client.waitFor(/Ana is viewing your screen \(view only\)\./);
    client.child.kill('SIGTERM');
    expect(await client.exited).toBe(0);
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${id}`)).body.ticket.endReason).toBe('ENDED_BY_USER');
    ws.terminate();
  }, 60_000);

  it('says on a Wayland session, before asking anything, that x11vnc cannot share it and what to configure', async () => {
    const client = runClient([], { XDG_SESSION_TYPE: 'wayland', WAYLAND_DISPLAY: 'wayland-1' });
    await client.waitFor(/Describe the problem: /);
    expect(client.output().indexOf('Wayland desktop, which x11vnc cannot share')).toBeLessThan(client.output().indexOf('Describe the problem'));
    expect(client.output()).toMatch(/HELPDESK_SOURCE=vnc:\/\/127\.0\.0\.1:5900/);
    // Ctrl+C (or SIGTERM) at the question leaves at once: nothing was requested or started.
    client.child.kill('SIGINT');
    expect(await client.exited).toBe(0);
  }, 30_000);

  it('explains a missing configuration and exits 78', async () => {
    const client = runClient(['--yes'], { HELPDESK_SERVER_URL: 'not a url' });
    expect(await client.exited).toBe(78);
    expect(client.output()).toMatch(/not configured correctly:\n {2}- serverUrl: not an http\(s\) URL/);
  }, 30_000);
});
