// The terminal client in Spanish and Chinese through a real session (server,
// x11vnc on Xvfb, a viewer leg): every line it prints is in the user's
// language — no piece of the English catalogue, no "57 bytes" — and its
// commands are taken in that language as well as in English (issue 31).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { englishPieces, leaksIn } from '../test/english-leaks.ts';
import en from './core/messages.en.json' with { type: 'json' };
import es from './core/messages.es.json' with { type: 'json' };
import zh from './core/messages.zh.json' with { type: 'json' };

let h: Harness;
let x: XDisplay;
let ana: Tech;
const children: ChildProcess[] = [];
const downloads = mkdtempSync(join(tmpdir(), 'cli-lang-'));

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await h?.close();
  await x?.stop();
  rmSync(downloads, { recursive: true, force: true });
});

// Configuration names, the product's commands in English (the help says they work too) and codes are the same in every language.
const pieces = englishPieces(en, [es, zh], ['SHA-256']);

function run(lang: string, args: string[]) {
  const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Tess', HELPDESK_LANG: lang, HELPDESK_DOWNLOAD_DIR: downloads },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
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

const words = {
  es: { describe: /Describa el problema: $/, consent: /\[n\]\? $/, offered: /\(57 B, SHA-256 [0-9a-f]{64}\)\. Escriba "aceptar 1"/, saved: /Guardado en /, say: 'decir', accept: 'aceptar 1', stop: 'parar', ended: /Sesión terminada|terminad/ },
  zh: { describe: /请描述问题：$/, consent: /\[n\]？$/, offered: /（57 B，SHA-256 [0-9a-f]{64}）。输入 "接受 1"/, saved: /已保存到 /, say: '说', accept: '接受 1', stop: '停止', ended: /会话已结束/ },
} as const;

describe('the terminal client speaks the user’s language (issue 31)', () => {
  for (const lang of ['es', 'zh'] as const) {
    it(`${lang}: help, prompts, a file, chat and stop, with no English`, async () => {
      const w = words[lang];
      const help = run(lang, ['--help']);
      expect(await help.exited).toBe(0);
      // The help names the English commands on purpose: they are accepted too.
      expect(leaksIn(help.output(), pieces.filter((p) => !p.key.startsWith('cmd.')))).toEqual([]);

      const client = run(lang, []);
      await client.waitFor(w.describe);
      client.child.stdin!.write(lang === 'es' ? 'El correo no sincroniza\n' : '邮件无法同步\n');
      const id = Number((await client.waitFor(/#(\d+)/))[1]);
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await client.waitFor(w.consent);
      client.child.stdin!.write('c\n');
      // The viewer's token once the user's desktop waits (the consent goes through the server first).
      let body: { url: string } | null = null;
      await expect.poll(async () => ((body = (await ana.post(`/api/v1/tickets/${id}/viewer-token`)).body as { url: string }), body.url), { timeout: 15_000 }).toBeTruthy();
      const ws = new WebSocket(body!.url, { origin: h.server.url });
      await new Promise((resolve, reject) => {
        ws.once('message', resolve);
        ws.once('error', reject);
      });

      // A file of 57 bytes reads "57 B" and is taken with the command in the user's words.
      await ana.agent.post(`/api/v1/tickets/${id}/files?name=nota.txt`).set('x-csrf-token', ana.csrf).set('content-type', 'application/octet-stream').send(Buffer.alloc(57, 65)).expect((r) => expect(r.body).toHaveProperty('file'));
      await client.waitFor(w.offered);
      client.child.stdin!.write(`${w.accept}\n`);
      await client.waitFor(w.saved);
      expect(readFileSync(join(downloads, 'nota.txt')).length).toBe(57);
      rmSync(join(downloads, 'nota.txt'));

      // Chat: the technician's line is printed; the user's own "say" in their words reaches the technician.
      await ana.post(`/api/v1/tickets/${id}/messages`, { text: 'Hola / 你好' }).expect(201);
      await client.waitFor(/Ana: Hola \/ 你好/);
      client.child.stdin!.write(`${w.say} gracias-${lang}\n`);
      await expect
        .poll(async () => ((await ana.get(`/api/v1/tickets/${id}/messages`).expect(200)).body.messages as { text: string }[]).map((m) => m.text), { timeout: 10_000 })
        .toContain(`gracias-${lang}`);

      // "stop" in the user's words ends the session.
      client.child.stdin!.write(`${w.stop}\n`);
      expect(await client.exited).toBe(0);
      ws.close();
      expect(client.output()).toMatch(w.ended);
      expect(client.output()).not.toMatch(/\d+ bytes/);
      expect(leaksIn(client.output(), pieces)).toEqual([]);
    }, 90_000);
  }

  it('still takes the English commands in another language', async () => {
    const client = run('es', ['--description', 'Prueba']);
    const id = Number((await client.waitFor(/#(\d+)/))[1]);
    client.child.stdin!.write('say hello-in-english\n');
    await expect
      .poll(async () => ((await ana.get(`/api/v1/tickets/${id}/messages`).expect(200)).body.messages as { text: string }[]).map((m) => m.text), { timeout: 10_000 })
      .toContain('hello-in-english');
    client.child.kill('SIGTERM');
    await client.exited;
  }, 60_000);
});
