// Issue 26 in the browser: two technicians in two Chromium contexts against
// the real server. Ana invites Luis from her viewer, Luis sees the invitation
// live on his queue and accepts, both participants panels follow live, the
// user allows (the desktop API, as the desktop client calls it), Luis opens
// his own viewer and leaves; Ana hands a session over with a note (Ana's
// viewer says so, the note is on the ticket page); the administrators' Live
// sessions page lists a session and Watch makes the administrator a participant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { artifactsDir, launchChromium, technicianPage } from '../test/browser.ts';

let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech;
let luis: Tech;
let watcherId = 0;
const sockets: WebSocket[] = [];
const shots = join(artifactsDir, 'work-together');
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', SUPERVISOR_WATCH: 'ask' }), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana', 'technician', 'Ana');
  luis = await h.createTechnician(admin, 'luis', 'technician', 'Luis');
  watcherId = (await h.createTechnician(admin, 'admin-watch', 'admin', 'Wanda Watch')).id;
}, 60_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await browser?.close();
  await h?.close();
});

/** A request Ana accepted and the user allowed: a session can start. */
async function approvedTicket(requesterName: string): Promise<{ id: number; secret: string }> {
  const t = await h.helpRequest({ requesterName, hostname: `${requesterName.split(' ')[0]!.toLowerCase()}-pc` });
  await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
  return t;
}

/** The user allows (or not) a participant, as the desktop client does. */
const userAnswers = (t: { id: number; secret: string }, technicianId: number, answer: 'approve' | 'decline') =>
  h.api.post(`/api/v1/help-requests/${t.id}/participants/${technicianId}/${answer}`).set(bearer(t.secret)).expect(200);

const page = (path: string, username: string): Promise<Page> => technicianPage(browser, h.server.url, path, username);
const row = (p: Page, technicianId: number) => p.locator(`.participant-list li[data-technician-id="${technicianId}"]`);
const panelStatus = (p: Page) => p.locator('.participants-status');

describe('working together on one session, in the browser', () => {
  it('Ana invites Luis from the viewer; Luis sees it live and accepts; both panels follow; the user allows; Luis watches on his own viewer and leaves', async () => {
    const t = await approvedTicket('Bea Both');
    const anaViewer = await page(`/tech/${t.id}`, 'ana');
    const luisQueue = await page('/queue', 'luis');
    await luisQueue.waitForSelector('body[data-live="on"]');
    await anaViewer.waitForSelector('[data-participants][data-stream="on"]');

    // The holder's panel: Ana holds; Invite offers Luis (not Ana herself).
    await expect.poll(() => row(anaViewer, ana.id).textContent()).toContain('Ana (you)');
    await anaViewer.locator('.participant-invite summary').click();
    await anaViewer.locator('#invite-colleague option', { hasText: 'Luis' }).waitFor({ state: 'attached' });
    expect(await anaViewer.locator('#invite-colleague option').allTextContents()).not.toContain('Ana');
    await anaViewer.locator('#invite-colleague').selectOption({ label: 'Luis' });
    await anaViewer.getByLabel('Watch (view only)').check();
    await anaViewer.getByRole('button', { name: 'Send invitation' }).click();
    await expect.poll(() => panelStatus(anaViewer).textContent()).toMatch(/Invitation sent to Luis\.|Ana invited Luis \(view only\)\./);
    await expect.poll(() => row(anaViewer, luis.id).getAttribute('data-state')).toBe('invited');

    // Luis's queue shows it at once: who, which ticket, which mode.
    const invitation = luisQueue.locator(`#invitations li[data-ticket-id="${t.id}"]`);
    await expect.poll(() => invitation.locator('.invitation-text').textContent()).toBe(`Ana invites you to ticket #${t.id}: watch.`);
    expect(await luisQueue.locator('#invitations').isVisible()).toBe(true);
    await luisQueue.screenshot({ path: join(shots, '1-invitation.png') });
    await luisQueue.getByRole('button', { name: `Accept the invitation to ticket #${t.id}` }).click();
    await expect.poll(() => invitation.locator('.invitation-text').textContent()).toBe(`Waiting for the user to allow you on ticket #${t.id}…`);
    // A reload keeps it (the page brings the open ones, the stream the rest).
    await luisQueue.reload();
    await luisQueue.waitForSelector('body[data-live="on"]');
    expect(await invitation.locator('.invitation-text').textContent()).toBe(`Waiting for the user to allow you on ticket #${t.id}…`);

    // Ana's panel follows live.
    await expect.poll(() => row(anaViewer, luis.id).getAttribute('data-state')).toBe('waiting_user');
    expect(await row(anaViewer, luis.id).textContent()).toContain('view only');

    // The user allows Luis: his invitation offers his viewer; both panels say he is connected.
    await userAnswers(t, luis.id, 'approve');
    await expect.poll(() => invitation.getAttribute('data-state')).toBe('connected');
    expect(await invitation.locator('.invitation-text').textContent()).toBe(`The user allowed you on ticket #${t.id}.`);
    await expect.poll(() => row(anaViewer, luis.id).getAttribute('data-state')).toBe('connected');
    await anaViewer.screenshot({ path: join(shots, '2-ana-panel.png') });
    await invitation.getByRole('link', { name: `Open the viewer of ticket #${t.id}` }).click();
    await luisQueue.waitForURL(`**/tech/${t.id}`);
    const luisViewer = luisQueue;
    await luisViewer.waitForSelector('[data-participants][data-stream="on"]');
    // His own channel: the viewer connects (and waits for the user's desktop), the panel names him, a watcher may ask for control, End is not his.
    await expect.poll(() => luisViewer.locator('#state').getAttribute('data-state')).toMatch(/^(connecting|waiting)$/);
    await expect.poll(() => row(luisViewer, luis.id).textContent()).toContain('Luis (you)');
    expect(await row(luisViewer, ana.id).textContent()).toContain('holds the session');
    expect(await luisViewer.locator('.participant-ask-control').isVisible()).toBe(true);
    expect(await luisViewer.locator('#btn-end').isVisible()).toBe(false);
    expect(await luisViewer.locator('.participant-invite').isVisible()).toBe(false);

    // Luis asks for control: Ana's panel says so.
    await luisViewer.locator('.participant-ask-control').click();
    await expect.poll(() => panelStatus(anaViewer).textContent()).toBe('Luis asks the user for control.');
    // The row is drawn again from the list read after the event (the status line is set first).
    await expect.poll(() => row(anaViewer, luis.id).textContent()).toContain('asks for control');
    expect(await luisViewer.locator('body').getAttribute('data-view-only')).toBe('true');
    // The user gives him control: his viewer connects again, no longer view only; Ana's panel says so.
    await userAnswers(t, luis.id, 'approve');
    await expect.poll(() => panelStatus(anaViewer).textContent()).toBe('The user gave Luis control.');
    await expect.poll(() => row(anaViewer, luis.id).getAttribute('data-mode')).toBe('control');
    await expect.poll(() => luisViewer.locator('body').getAttribute('data-view-only')).toBe('false');
    expect(await luisViewer.locator('#view-only-note').isVisible()).toBe(false);
    expect(await luisViewer.locator('.participant-ask-control').isVisible()).toBe(false);

    // Luis leaves: his viewer says so; Ana's panel hears it.
    await luisViewer.locator('.participant-leave').click();
    await luisViewer.locator('#confirm-ok').click();
    await expect.poll(() => luisViewer.locator('#state').textContent()).toBe('You left the session.');
    expect(await luisViewer.locator('#state').getAttribute('data-state')).toBe('over');
    await expect.poll(() => panelStatus(anaViewer).textContent()).toBe('Luis left.');
    await expect.poll(() => row(anaViewer, luis.id).getAttribute('data-state')).toBe('left');
    await luisViewer.context().close();
    await anaViewer.context().close();
  }, 90_000);

  it('Ana hands a session over to Luis with a note: the user allows Luis, Ana\'s viewer says she handed over, the note is on the ticket page', async () => {
    const t = await approvedTicket('Hugo Handover');
    const anaViewer = await page(`/tech/${t.id}`, 'ana');
    const luisMine = await page('/mine', 'luis');
    await Promise.all([anaViewer.waitForSelector('[data-participants][data-stream="on"]'), luisMine.waitForSelector('body[data-live="on"]')]);
    await expect.poll(() => row(anaViewer, ana.id).count()).toBe(1);
    await anaViewer.locator('.participant-handover summary').click();
    await anaViewer.locator('#handover-to option', { hasText: 'Luis' }).waitFor({ state: 'attached' });
    await anaViewer.locator('#handover-to').selectOption({ label: 'Luis' });
    const note = 'Printer driver reinstalled; <b>check</b> the spooler next.';
    await anaViewer.getByLabel('Note for the next person').fill(note);
    await anaViewer.getByRole('button', { name: 'Hand over the session' }).click();
    await expect.poll(() => panelStatus(anaViewer).textContent()).toMatch(/Handing over to Luis|Ana is handing the session over to Luis\./);

    // Luis sees the hand-over on My tickets, live.
    const offer = luisMine.locator(`#invitations li[data-ticket-id="${t.id}"]`);
    await expect.poll(() => offer.locator('.invitation-text').textContent()).toBe(`Ana hands ticket #${t.id} over to you. Waiting for the user to allow you.`);

    // The user allows Luis: Ana's viewer says she handed over; the ticket is Luis's.
    await userAnswers(t, luis.id, 'approve');
    await expect.poll(() => anaViewer.locator('#state').textContent(), { timeout: 10_000 }).toBe('You handed the session over to Luis.');
    expect(await anaViewer.locator('#state').getAttribute('data-state')).toBe('over');
    expect(await anaViewer.locator('#btn-queue').isVisible()).toBe(true);
    await anaViewer.screenshot({ path: join(shots, '3-handed-over.png') });
    expect((await luis.get(`/api/v1/tickets/${t.id}`).expect(200)).body.ticket.technician.displayName).toBe('Luis');

    // The ticket page shows the note (as text), and Luis as holder.
    const ticketPage = await luisMine.context().newPage();
    await ticketPage.goto(`${h.server.url}/tickets/${t.id}`);
    await expect.poll(() => ticketPage.locator('.handover-note-shown').textContent()).toBe(`Hand-over note: ${note}`);
    await expect.poll(() => row(ticketPage, luis.id).getAttribute('data-holder')).toBe('true');
    expect(await ticketPage.locator('.participants b').count()).toBe(0);
    await ticketPage.screenshot({ path: join(shots, '4-ticket-note.png'), fullPage: true });
    await anaViewer.context().close();
    await luisMine.context().close();
  }, 90_000);

  it('the administrators\' Live sessions page lists a running session, live, and Watch makes the administrator a participant the user allows', async () => {
    const t = await approvedTicket('Sara Session');
    const sessions = await page('/sessions', 'admin-watch');
    await sessions.waitForSelector('body[data-live="on"]');
    expect(await sessions.getByRole('link', { name: 'Live sessions' }).getAttribute('aria-current')).toBe('page');
    const line = sessions.locator(`#sessions-table tr[data-ticket-id="${t.id}"]`);
    expect(await line.count()).toBe(0);

    // Both legs arrive: the ticket is in session, and the page lists it without a reload.
    await inSession(t);
    await expect.poll(() => line.count(), { timeout: 10_000 }).toBe(1);
    const cells = await line.locator('td').allTextContents();
    expect(cells[1]).toBe('Ana');
    expect(cells[2]).toContain('Sara Session');
    expect(cells[3]).toBe('sara-pc');
    expect(cells[4]).toMatch(/^\d{2}\/\d{2}\/\d{4}, \d{2}:\d{2}:\d{2} \S+$/);

    await line.getByRole('button', { name: `Watch ticket #${t.id} of Sara Session` }).click();
    await sessions.waitForURL('**/sessions');
    expect(await sessions.locator('.flash').textContent()).toBe(`Asked to watch ticket #${t.id}.`);
    const { body } = await admin.get(`/api/v1/tickets/${t.id}/participants`).expect(200);
    const watcher = body.participants.find((p: { technicianId: number }) => p.technicianId === watcherId);
    expect(watcher).toMatchObject({ kind: 'supervise', mode: 'view', state: 'waiting_user' });
    expect(await line.locator('.waiting').textContent()).toBe('Waiting for the user to allow you…');

    // The user allows: the row offers the administrator's viewer, live.
    await userAnswers(t, watcherId, 'approve');
    await expect.poll(() => line.locator('a.open-viewer').count()).toBe(1);
    expect(await line.locator('.participants-cell').textContent()).toContain('connected');
    await sessions.screenshot({ path: join(shots, '5-live-sessions.png'), fullPage: true });
    await sessions.context().close();
  }, 90_000);

  it('the user stops Luis: his viewer and Ana\'s panel say so; invited again with control, Luis holds the session when Ana\'s viewer drops', async () => {
    const t = await approvedTicket('Stella Stop');
    const anaLeg = await inSession(t);
    const invite = async (mode: 'view' | 'control') => {
      const { body } = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: luis.id, mode }).expect(201);
      await luis.post(`/api/v1/invitations/${body.id}/accept`).expect(200);
      await userAnswers(t, luis.id, 'approve');
    };
    await invite('view');
    const anaPanel = await page(`/tickets/${t.id}`, 'ana');
    const luisViewer = await page(`/tech/${t.id}`, 'luis');
    await Promise.all([anaPanel.waitForSelector('[data-participants][data-stream="on"]'), luisViewer.waitForSelector('[data-participants][data-stream="on"]')]);
    await expect.poll(() => luisViewer.locator('#state').getAttribute('data-state')).toMatch(/^(connecting|waiting)$/);

    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/stop`).set(bearer(t.secret)).expect(200);
    await expect.poll(() => luisViewer.locator('#state').textContent()).toBe('The user stopped your participation.');
    expect(await luisViewer.locator('#state').getAttribute('data-state')).toBe('over');
    await expect.poll(() => panelStatus(anaPanel).textContent()).toBe('The user stopped Luis.');
    expect(await row(anaPanel, luis.id).last().getAttribute('data-state')).toBe('stopped');

    // Again, with control; Ana's viewer drops: Luis, the one connected with control, now holds the session.
    await invite('control');
    await luisViewer.reload();
    await luisViewer.waitForSelector('[data-participants][data-stream="on"]');
    await expect.poll(() => luisViewer.locator('#state').getAttribute('data-state')).toMatch(/^(connecting|waiting)$/);
    await expect.poll(() => row(luisViewer, ana.id).getAttribute('data-holder')).toBe('true');
    anaLeg.terminate();
    // Said before whatever the viewer's own state says meanwhile (a state change after it must not hide it).
    await expect.poll(() => luisViewer.locator('#state').textContent(), { timeout: 10_000 }).toMatch(/^Ana left; you now hold this session\./);
    await expect.poll(() => row(luisViewer, luis.id).first().getAttribute('data-holder')).toBe('true');
    expect(await luisViewer.locator('#btn-end').isVisible()).toBe(true);
    await luisViewer.screenshot({ path: join(shots, '6-promoted.png') });
    await anaPanel.context().close();
    await luisViewer.context().close();
  }, 90_000);

  it('a hand-over to a colleague already in control happens at once: Ana\'s viewer says so, Luis holds', async () => {
    const t = await approvedTicket('Ivo Instant');
    const { body } = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: luis.id, mode: 'control' }).expect(201);
    await luis.post(`/api/v1/invitations/${body.id}/accept`).expect(200);
    await userAnswers(t, luis.id, 'approve');
    const anaViewer = await page(`/tech/${t.id}`, 'ana');
    await anaViewer.waitForSelector('[data-participants][data-stream="on"]');
    await anaViewer.locator('.participant-handover summary').click();
    // Luis takes part with control: he is offered for the hand-over, not for another invitation.
    await anaViewer.locator('#handover-to option', { hasText: 'Luis' }).waitFor({ state: 'attached' });
    expect(await anaViewer.locator('#invite-colleague option').allTextContents()).not.toContain('Luis');
    await anaViewer.locator('#handover-to').selectOption({ label: 'Luis' });
    await anaViewer.getByLabel('Note for the next person').fill('All yours');
    await anaViewer.getByRole('button', { name: 'Hand over the session' }).click();
    await expect.poll(() => anaViewer.locator('#state').textContent(), { timeout: 10_000 }).toBe('You handed the session over to Luis.');
    expect((await luis.get(`/api/v1/tickets/${t.id}`).expect(200)).body.ticket.technician.displayName).toBe('Luis');
    await anaViewer.context().close();
  }, 60_000);
});

/** The desktop leg and Ana's viewer leg meet at the repeater: the ticket is in session. Returns Ana's viewer leg. */
async function inSession(t: { id: number; secret: string }): Promise<WebSocket> {
  const open = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { origin: h.server.url });
      sockets.push(ws);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const desktop = await open((await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body.url);
  desktop.send(Buffer.from('RFB 003.008\n'));
  const viewer = await open((await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.url);
  await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}`)).body.ticket?.status, { timeout: 10_000 }).toBe('in_session');
  return viewer;
}
