// Pairing tokens at the real repeater, through the server's API on each
// engine (embedded; SQLite also with the repeater as its own process): a whole
// session from waiting to resolved, refusals of tokens in words, and a viewer
// token once the ticket has left its technician. Split from api.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type RepeaterMode, type Tech } from '../test/server-harness.ts';
import { CloseCode } from '../protocol/close-codes.ts';

function wsOpen(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(text || '{}') })));
    });
    ws.once('error', reject);
  });
}

async function refusedWith(url: string, origin?: string): Promise<{ status: number; code: string }> {
  try {
    const ws = await wsOpen(url, origin);
    ws.terminate();
    throw new Error('upgrade was accepted');
  } catch (err) {
    const e = err as { status?: number; body?: { error?: { code: string } } };
    if (!e.status) throw err;
    return { status: e.status, code: e.body?.error?.code ?? '' };
  }
}

const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const firstMessage = (ws: WebSocket) => new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));

// Every engine with the embedded repeater; SQLite also with the repeater as its own process.
const setups: [string, RepeaterMode][] = [...engines.map((e): [string, RepeaterMode] => [e, 'embedded']), ['sqlite', 'process']];

describe.each(setups)('pairing at the repeater on %s, repeater %s', (engineName, repeaterMode) => {
  const engine = engineName as (typeof engines)[number];
  let h: Harness;
  let admin: Tech;
  const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
  const origin = () => h.server.url;

  beforeAll(async () => {
    h = await startHarness(engine, {}, { repeater: repeaterMode });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  describe('pairing tokens at the repeater', () => {
    async function approvedTicket(tech: Tech, viewOnly = false) {
      const t = await h.helpRequest();
      await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly }).expect(200);
      return t;
    }
    const desktopToken = async (t: { id: number; secret: string }) =>
      (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body as { url: string; expiresAt: number };
    const viewerToken = async (tech: Tech, id: number) => (await tech.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body as { url: string };

    it('runs a whole session: waiting, paired → in_session, bytes relayed, user ends, session recorded, resolved', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const t = await approvedTicket(ana);
      const live = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(ana) });
      await live.next((e) => e === 'snapshot');
      const d = await desktopToken(t);
      expect(d.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/wsServer\?token=[A-Za-z0-9_-]{43}$/);
      const desktop = await wsOpen(d.url);
      desktop.send(Buffer.from('RFB 003.008\n'));
      await live.next((e, data) => e === 'desktop' && data.ticketId === t.id && data.state === 'waiting');
      const mine = await ana.get('/api/v1/tickets/mine').expect(200);
      expect(mine.body.tickets.find((x: { id: number }) => x.id === t.id).desktop).toBe('waiting');
      const v = await viewerToken(ana, t.id);
      const viewerRef: { ws?: WebSocket } = {};
      const greeting = new Promise<Buffer>((resolve) => {
        const ws = new WebSocket(v.url, { origin: origin() });
        ws.once('message', (data: Buffer) => resolve(data));
        viewerRef.ws = ws;
      });
      expect((await greeting).toString()).toBe('RFB 003.008\n');
      const viewer = viewerRef.ws!;
      await live.next((e, data) => e === 'ticket' && data.ticket.id === t.id && data.ticket.status === 'in_session');
      viewer.send(Buffer.from('RFB 003.008\n'));
      await firstMessage(desktop);
      const closes = Promise.all([closeOf(desktop), closeOf(viewer)]);
      await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
      expect(await closes).toEqual([CloseCode.ENDED_BY_USER, CloseCode.ENDED_BY_USER]);
      await live.next((e, data) => e === 'session' && data.ticketId === t.id && data.reason === 'ENDED_BY_USER');
      live.close();
      await ana.post(`/api/v1/tickets/${t.id}/resolve`, { resolution: '' }).expect(400);
      await ana.post(`/api/v1/tickets/${t.id}/resolve`, { resolution: 'Reinstalled the printer driver' }).expect(200);
      const detail = await ana.get(`/api/v1/tickets/${t.id}`).expect(200);
      expect(detail.body.ticket).toMatchObject({ status: 'resolved', resolution: 'Reinstalled the printer driver', endReason: 'ENDED_BY_USER' });
      expect(detail.body.sessions).toHaveLength(1);
      expect(detail.body.sessions[0]).toMatchObject({ endReason: 'ENDED_BY_USER', bytesDesktopToViewer: 12, bytesViewerToDesktop: 12 });
      const actions = detail.body.timeline.map((e: { action: string }) => e.action);
      expect(actions).toEqual(expect.arrayContaining([
        'ticket.created', 'ticket.accept', 'ticket.approve', 'session.desktop_waiting', 'ticket.start_session', 'ticket.end', 'session.ended', 'ticket.resolve',
      ]));
      const accept = detail.body.timeline.find((e: { action: string }) => e.action === 'ticket.accept');
      expect(accept).toMatchObject({ actorType: 'technician', actorName: ana.username, remoteAddress: expect.stringMatching(/127\.0\.0\.1/) });
    });

    it('refuses a token used twice, for the other side, expired, from a disallowed Origin, and never pairs across tickets', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const ben = await h.freshTechnician(admin, 'ben');
      const t = await approvedTicket(ben);
      const d = await desktopToken(t);
      const desktop = await wsOpen(d.url);
      expect(await refusedWith(d.url)).toEqual({ status: 401, code: 'TOKEN_USED' });
      const wrongSide = await desktopToken(t);
      expect(await refusedWith(wrongSide.url.replace('/wsServer', '/wsClient'), origin())).toEqual({ status: 403, code: 'WRONG_SIDE' });
      const v = await viewerToken(ben, t.id);
      expect(await refusedWith(v.url, 'https://evil.example')).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
      expect(await refusedWith(v.url.replace('/wsClient', '/wsServer'))).toEqual({ status: 403, code: 'WRONG_SIDE' });
      const late = await desktopToken(t);
      h.clock.advance(121_000);
      try {
        expect(await refusedWith(late.url)).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
      } finally {
        h.clock.advance(-121_000);
      }
      // Another ticket's viewer never receives this desktop's bytes.
      const other = await approvedTicket(ana);
      const otherViewer = await wsOpen((await viewerToken(ana, other.id)).url, origin());
      let crossed = false;
      otherViewer.on('message', () => (crossed = true));
      desktop.send(Buffer.from('secret screen'));
      await new Promise((r) => setTimeout(r, 200));
      expect(crossed).toBe(false);
      expect(await h.server.legState(String(t.id), 'desktop')).toBe('waiting');
      expect(await h.server.legState(String(other.id), 'viewer')).toBe('waiting');
      desktop.terminate();
      otherViewer.terminate();
      await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
      await h.api.post(`/api/v1/help-requests/${other.id}/end`).set(bearer(other.secret)).expect(200);
    });

    it('refuses a viewer token once the ticket has left its technician', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const t = await approvedTicket(ana);
      const v = await viewerToken(ana, t.id);
      await ana.post(`/api/v1/tickets/${t.id}/release`).expect(200);
      expect(await refusedWith(v.url, origin())).toEqual({ status: 409, code: 'TICKET_NOT_CONNECTABLE' });
      await h.api.post(`/api/v1/help-requests/${t.id}/cancel`).set(bearer(t.secret)).expect(200);
    });
  });
});
