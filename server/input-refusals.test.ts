// Smaller holes (issue 25, point 6), each reproduced against the real server
// on each engine: file names that hide what they are, formulas in the CSV
// export, secrets a cache could keep, passwords everyone guesses first, and
// noVNC's package files served as assets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

describe.each(engines)('refused inputs on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '10', UPLOAD_RATE_PER_MINUTE: '1000' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  const send = (t: { id: number; secret: string }, name: string) =>
    h.api.post(`/api/v1/help-requests/${t.id}/files?name=${encodeURIComponent(name)}`).set(bearer(t.secret)).set('content-type', 'application/octet-stream').send(Buffer.from('bytes'));

  it('refuses a file name of control characters only, and one with a right-to-left override or other direction marks; strips zero-width characters', async () => {
    const t = await h.helpRequest();
    // A user sends files once a technician has accepted the request.
    await (await h.freshTechnician(admin, 'ida')).post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const control = await send(t, '\u0001\u0002\u0007');
    expect(control.status).toBe(400);
    expect(control.body.error).toMatchObject({ code: 'FILE_NAME_INVALID', message: 'A file name needs at least one visible character' });
    for (const hidden of ['invoice\u202Egpj.exe', 'a\u2066b.txt', 'report\u200F.pdf', 'x\u061C.sh']) {
      const res = await send(t, hidden);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('FILE_NAME_INVALID');
      expect(res.body.error.message).toMatch(/characters that change the direction of text/);
    }
    const spanish = await send(t, 'invoice\u202Egpj.exe').set('accept-language', 'es');
    expect(spanish.body.error.message).toMatch(/^El nombre del archivo contiene caracteres que cambian la dirección del texto/);
    const zeroWidth = await send(t, '\uFEFFin\u200Bvoice\u200D.pdf\u2060');
    expect(zeroWidth.status).toBe(201);
    expect(zeroWidth.body.file.name).toBe('invoice.pdf');
    expect((await send(t, '\u200B\u200C')).body.error).toMatchObject({ code: 'FILE_NAME_INVALID', message: 'A file name needs at least one visible character' });
  });

  it('strips every invisible character from a file name (soft hyphen, variation selectors, tags, Hangul fillers, line separators…), and refuses a name of them only', async () => {
    const t = await h.helpRequest();
    await (await h.freshTechnician(admin, 'ivo')).post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const invisible = ['\u00AD', '\u034F', '\u180E', '\u2061', '\u2062', '\u2063', '\u2064', '\u2028', '\u2029', '\uFE00', '\uFE0F', '\u{E0001}', '\u{E0041}', '\u{E007F}', '\u115F', '\u1160', '\u3164', '\uFFA0'];
    for (const c of invisible) {
      const only = await send(t, `${c}${c}`);
      const code = c.codePointAt(0)!.toString(16);
      expect({ code, status: only.status, error: only.body.error?.code }).toEqual({ code, status: 400, error: 'FILE_NAME_INVALID' });
    }
    // A Hangul filler is a letter, not a space: the name is refused as having nothing visible.
    expect((await send(t, '\u3164')).body.error).toMatchObject({ code: 'FILE_NAME_INVALID', message: 'A file name needs at least one visible character' });
    const hidden = await send(t, `in${invisible.join('')}voice.pdf`);
    expect(hidden.status).toBe(201);
    expect(hidden.body.file.name).toBe('invoice.pdf');
    // Direction controls are still refused first, invisible characters around them or not.
    expect((await send(t, '\u3164\u202Egpj.exe')).body.error.message).toMatch(/characters that change the direction of text/);
    // Visible letters of every script stay.
    expect((await send(t, 'Заявка 申请 ملف.txt')).body.file.name).toBe('Заявка 申请 ملف.txt');
  });

  it('the CSV export quotes cells with ; (and , " CR LF tab) and defuses formulas, full-width ones too', async () => {
    const made = [];
    for (const description of ['x;=1+1', '\uFF1D1+1', '\uFF0BSUM(A1)', '@cmd', 'tab\there']) made.push(await h.helpRequest({ description, requesterName: '\uFF20Eve' }));
    const csv = await admin.get('/history.csv?pageSize=50').expect(200);
    const lines = (csv.text as string).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    const row = (id: number) => lines.find((l) => l.startsWith(`${id},`))!;
    expect(row(made[0]!.id)).toMatch(/,'\uFF20Eve,.*,"x;=1\+1",$/);
    expect(row(made[1]!.id)).toMatch(/,'\uFF1D1\+1,$/);
    expect(row(made[2]!.id)).toMatch(/,'\uFF0BSUM\(A1\),$/);
    expect(row(made[3]!.id)).toMatch(/,'@cmd,$/);
    expect(row(made[4]!.id)).toMatch(/,"tab\there",$/);
  });

  it('answers that carry a secret or a token are not stored by caches', async () => {
    const created = await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Debian', description: 'help' }).expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const t = { id: created.body.id as number, secret: created.body.clientSecret as string };
    const tech = await h.freshTechnician(admin, 'noa');
    await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
    expect((await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).headers['cache-control']).toBe('no-store');
    expect((await tech.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).headers['cache-control']).toBe('no-store');
    expect((await tech.post('/api/v1/me/2fa/setup').expect(200)).headers['cache-control']).toBe('no-store');
    // Pages: each carries a CSRF token; the profile a two-factor secret, the viewer its ticket.
    for (const path of ['/profile', '/queue', `/tech/${t.id}`, `/tickets/${t.id}`, '/login']) {
      const page = await tech.get(path).set('accept', 'text/html');
      expect({ path, status: page.status, cacheControl: page.headers['cache-control'] }).toEqual({ path, status: path === '/login' ? 303 : 200, cacheControl: 'no-store' });
    }
    expect((await admin.post(`/api/v1/technicians/${tech.id}/password`, {}).expect(200)).headers['cache-control']).toBe('no-store');
    expect((await request(h.server.url).get('/auth/session').expect(200)).headers['cache-control']).toBe('no-store');
  });

  it('refuses passwords everyone guesses first — common ones, one repeated character, the username — in words, wherever a password is set', async () => {
    const weak = (res: request.Response, words: RegExp) => {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('PASSWORD_WEAK');
      expect(res.body.error.message).toMatch(words);
    };
    const create = (username: string, password: string) => admin.post('/api/v1/technicians', { username, displayName: 'Weak', role: 'technician', password });
    weak(await create('weak-one', 'aaaaaaaaaaaa'), /one character repeated/);
    weak(await create('weak-two', 'password123'), /^This password is too common/);
    weak(await create('weak-three', 'QwertyUiop'), /^This password is too common/);
    weak(await create('longusername', 'LongUserName'), /may not be the username/);
    const spanish = await admin.agent.post('/api/v1/technicians').set('x-csrf-token', admin.csrf).set('accept-language', 'es').send({ username: 'weak-four', displayName: 'W', password: 'iloveyou123' });
    expect(spanish.body.error.message).toBe('Esta contraseña es demasiado común: elija otra.');
    const tech = await h.freshTechnician(admin, 'uma');
    weak(await tech.post('/api/v1/me/password', { currentPassword: tech.password, newPassword: '1234567890' }), /too common/);
    weak(await admin.post(`/api/v1/technicians/${tech.id}/password`, { password: 'zzzzzzzzzzzzzzzz' }), /one character repeated/);
    expect((await create('strong-one', 'correct horse battery')).status).toBe(201);
  });

  it('serves noVNC\'s modules to the viewer, not its package files', async () => {
    await h.api.get('/vendor/novnc/core/rfb.js').expect(200);
    await h.api.get('/vendor/novnc/vendor/pako/lib/zlib/inflate.js').expect(200);
    for (const path of ['/vendor/novnc/package.json', '/vendor/novnc/README.md', '/vendor/novnc/LICENSE.txt', '/vendor/novnc/docs/API.md', '/vendor/novnc/vendor/pako/README.md']) {
      expect({ path, status: (await h.api.get(path)).status }).toEqual({ path, status: 404 });
    }
  });
});
