// Behind deploy/nginx.conf every connection reaches the server from nginx's
// address; the repeater must still see each user. 200 concurrent sessions,
// each user and each technician's browser at an address of its own
// (127.1.0.x, 127.2.0.x), all pair with REPEATER_MAX_LEGS_PER_ADDRESS at 4;
// one address past its limit is refused alone; the audit shows each user's
// own address, and a forged X-Forwarded-For changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ADMIN_PASSWORD, loginAt, type Tech } from './http-clients.ts';
import { CLIENT_KEY, legAt, startSingleServerFront, userAt, type LegAt, type SingleServerFront, type UserAt } from './single-server-front.ts';

const SESSIONS = 200;
const LEGS_PER_ADDRESS = 4;

let f: SingleServerFront;
let ana: Tech;
let admin: Tech;
const users: UserAt[] = [];

beforeAll(async () => {
  f = await startSingleServerFront({
    REPEATER_MAX_LEGS_PER_ADDRESS: String(LEGS_PER_ADDRESS),
    MAX_ACTIVE_TICKETS_PER_TECH: '1000',
    TICKET_CREATE_RATE_PER_MINUTE: '10000',
  });
  admin = await loginAt(f.front, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  ana = await loginAt(f.front, 'ana', 'ana-password-123');
}, 60_000);

afterAll(async () => {
  for (const u of users) await u.close();
  await f?.stop();
});

interface Tokens {
  id: number;
  user: UserAt;
  desktopUrl: string;
  viewerUrl: string;
}

/** A user at `address` asks for help, Ana accepts, the user allows: both legs' token URLs. */
async function readyTicket(address: string): Promise<Tokens> {
  const user = userAt(address);
  users.push(user);
  const created = await user.json('POST', `${f.front}/api/v1/help-requests`, { requesterName: `User ${address}`, username: 'u', hostname: 'pc', os: 'Linux', description: 'help' }, { 'x-client-key': CLIENT_KEY });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as number;
  const bearer = { authorization: `Bearer ${created.body.clientSecret}` };
  await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
  expect((await user.json('POST', `${f.front}/api/v1/help-requests/${id}/approve`, { viewOnly: false }, bearer)).status).toBe(200);
  const desktop = await user.json('POST', `${f.front}/api/v1/help-requests/${id}/desktop-token`, {}, bearer);
  expect(desktop.status).toBe(201);
  const viewerUrl = (await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url as string;
  return { id, user, desktopUrl: desktop.body.url as string, viewerUrl };
}

async function inBatches<T, R>(items: T[], size: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => run(item, i + j)))));
  return out;
}

const userAddress = (i: number) => `127.1.${i >> 8}.${(i & 255) + 2}`;
const browserAddress = (i: number) => `127.2.${i >> 8}.${(i & 255) + 2}`;

/** Audit rows of one action, newest first, all pages. */
async function audited(action: string): Promise<{ ticketId: number; remoteAddress: string }[]> {
  const rows: { ticketId: number; remoteAddress: string }[] = [];
  let beforeId: number | null = null;
  do {
    const page = (await admin.get(`/api/v1/audit?action=${action}&limit=500${beforeId ? `&beforeId=${beforeId}` : ''}`).expect(200)).body as { events: { ticketId: number; remoteAddress: string }[]; nextBeforeId: number | null };
    rows.push(...page.events);
    beforeId = page.nextBeforeId;
  } while (beforeId);
  return rows;
}

describe('the client\'s own address behind deploy/nginx.conf', () => {
  const sessions: { tokens: Tokens; desktop: LegAt; viewer: LegAt }[] = [];

  it(`${SESSIONS} concurrent sessions from distinct addresses all pair (the per-address limit is ${LEGS_PER_ADDRESS})`, async () => {
    const tickets = await inBatches(Array.from({ length: SESSIONS }, (_, i) => i), 20, (i) => readyTicket(userAddress(i)));
    const opened = await inBatches(tickets, 50, async (tokens, i) => {
      const desktop = await legAt(tokens.desktopUrl, userAddress(i));
      const viewer = await legAt(tokens.viewerUrl, browserAddress(i), { origin: f.front });
      return { tokens, desktop, viewer };
    });
    sessions.push(...opened);
    // All live at once, each pair relaying to its own peer.
    await Promise.all(
      sessions.map(async (s) => {
        const payload = Buffer.concat([Buffer.from(`ticket ${s.tokens.id}:`), randomBytes(512)]);
        s.desktop.ws.send(payload);
        await expect.poll(() => Buffer.concat(s.viewer.received).length, { timeout: 15_000 }).toBe(payload.length);
        expect(Buffer.concat(s.viewer.received).equals(payload)).toBe(true);
      }),
    );
    expect(sessions.filter((s) => s.desktop.ws.readyState === s.desktop.ws.OPEN && s.viewer.ws.readyState === s.viewer.ws.OPEN)).toHaveLength(SESSIONS);
  }, 170_000);

  it('one address past its limit is refused alone, while everyone else behind nginx goes on', async () => {
    const crowded = '127.3.0.2';
    const tickets = await Promise.all(Array.from({ length: LEGS_PER_ADDRESS + 1 }, () => readyTicket(crowded)));
    const held: LegAt[] = [];
    for (const t of tickets.slice(0, LEGS_PER_ADDRESS)) held.push(await legAt(t.desktopUrl, crowded));
    const refused = await legAt(tickets[LEGS_PER_ADDRESS]!.desktopUrl, crowded).then(
      () => null,
      (err: { status: number; code: string }) => err,
    );
    expect(refused).toMatchObject({ status: 429, code: 'TOO_MANY_LEGS_FROM_ADDRESS' });
    // Another user, the same moment, through the same nginx: pairs.
    const other = await readyTicket('127.3.0.3');
    const desktop = await legAt(other.desktopUrl, '127.3.0.3');
    const viewer = await legAt(other.viewerUrl, '127.3.0.4', { origin: f.front });
    desktop.ws.send(Buffer.from('still here'));
    await expect.poll(() => Buffer.concat(viewer.received).toString()).toBe('still here');
    // The refused leg spent nothing: its token pairs once the address has room again.
    held[0]!.ws.close(1000);
    await held[0]!.closed;
    await expect.poll(() => legAt(tickets[LEGS_PER_ADDRESS]!.desktopUrl, crowded).then(() => 'open', (err: Error) => err.message), { timeout: 5_000 }).toBe('open');
    for (const leg of [...held, desktop, viewer]) leg.ws.terminate();
  }, 60_000);

  it('the audit shows each user\'s own address, and a forged X-Forwarded-For from a user is not believed', async () => {
    const forger = await readyTicket('127.4.0.2');
    const leg = await legAt(forger.desktopUrl, '127.4.0.2', { headers: { 'x-forwarded-for': '203.0.113.66' } });
    await expect.poll(async () => (await audited('session.desktop_waiting')).find((r) => r.ticketId === forger.id)?.remoteAddress).toBe('127.4.0.2');
    leg.ws.terminate();
    const waiting = new Map((await audited('session.desktop_waiting')).map((r) => [r.ticketId, r.remoteAddress]));
    sessions.forEach((s, i) => expect(waiting.get(s.tokens.id), `ticket ${s.tokens.id}`).toBe(userAddress(i)));
    // The help request itself was audited with the user's address too (the server's req.ip, the same rule).
    const created = new Map((await audited('ticket.created')).map((r) => [r.ticketId, r.remoteAddress]));
    expect(created.get(sessions[7]!.tokens.id)).toBe(userAddress(7));
    for (const s of sessions) {
      s.desktop.ws.terminate();
      s.viewer.ws.terminate();
    }
  }, 60_000);
});
