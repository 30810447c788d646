// The desktop client's configuration: a JSON file an administrator deploys
// (HELPDESK_CLIENT_CONFIG, else /etc/helpdesk-client/config.json when present)
// overlaid by the environment, validated as a whole. The user's name,
// username, hostname and OS are filled in from the machine.
import { readFileSync, existsSync } from 'node:fs';
import { homedir, hostname, userInfo, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DesktopError } from './errors.ts';
import { languageFromEnv, type Language } from './messages.ts';

export interface ClientConfig {
  serverUrl: string;
  clientKey: string | null;
  /** PEM text of an extra CA certificate (servers behind a private CA). */
  ca: string | null;
  display: string;
  x11vncPath: string;
  /** What shares the screen: x11vnc in reverse mode (X11), or a VNC server already running on this machine's loopback. */
  source: ScreenSource;
  /** Said to the user before they request help when the source cannot work here (x11vnc on Wayland). */
  sourceNotice: string | null;
  proxy: { httpProxy: string | null; httpsProxy: string | null; noProxy: string };
  requester: { requesterName: string; username: string; hostname: string; os: string };
  /** Where the terminal client saves files the user accepts (never overwriting): ~/Downloads, else the home directory. */
  downloadDir: string;
  /** HELPDESK_LANG, else the system's (LC_ALL, LC_MESSAGES, LANG): en, es or zh. */
  language: Language;
  /** HELPDESK_SURVEY: whether the terminal asks how the session went — 'auto' (when its input is a terminal), 'ask' or 'off'. The window always asks. */
  survey: 'auto' | 'ask' | 'off';
}

export type ScreenSource = { kind: 'x11vnc' } | { kind: 'vnc'; host: string; port: number; password: string | null };

const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|localhost)$/;

/** `x11vnc`, or `vnc://HOST:PORT` with a loopback host (nothing on the network is reached because of us). */
function parseSource(text: string, problems: string[]): ScreenSource {
  if (text === 'x11vnc') return { kind: 'x11vnc' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`source: "x11vnc" or vnc://127.0.0.1:PORT (got ${JSON.stringify(text)})`);
    return { kind: 'x11vnc' };
  }
  if (url.protocol !== 'vnc:') problems.push(`source: only x11vnc or vnc://… are known (got ${JSON.stringify(text)})`);
  else if (!LOOPBACK.test(url.hostname)) problems.push(`source: the VNC server must be on this machine's loopback (127.0.0.1, ::1 or localhost), not ${url.hostname}`);
  const port = url.port ? Number(url.port) : 5900;
  return { kind: 'vnc', host: url.hostname.replace(/^\[|\]$/g, ''), port, password: null };
}

const fileSchema = z
  .object({
    serverUrl: z.url(),
    clientKey: z.string().min(16),
    caFile: z.string().min(1),
    display: z.string().min(1),
    x11vncPath: z.string().min(1),
    source: z.string().min(1),
    vncPasswordFile: z.string().min(1),
    downloadDir: z.string().min(1),
  })
  .partial()
  .strict();

const DEFAULT_FILE = '/etc/helpdesk-client/config.json';

export function loadClientConfig(env: Record<string, string | undefined>): Readonly<ClientConfig> {
  const problems: string[] = [];
  const filePath = env.HELPDESK_CLIENT_CONFIG ?? (existsSync(DEFAULT_FILE) ? DEFAULT_FILE : null);
  let file: z.infer<typeof fileSchema> = {};
  if (filePath) {
    try {
      const parsed = fileSchema.safeParse(JSON.parse(readFileSync(filePath, 'utf8')));
      if (parsed.success) file = parsed.data;
      else problems.push(...parsed.error.issues.map((i) => `${filePath}: ${i.path.join('.') || '(file)'}: ${i.message}`));
    } catch (err) {
      problems.push(`${filePath}: cannot be read as JSON (${(err as Error).message})`);
    }
  }
  const serverUrl = env.HELPDESK_SERVER_URL ?? file.serverUrl;
  if (!serverUrl) problems.push('serverUrl: set HELPDESK_SERVER_URL or "serverUrl" in the config file');
  else if (!z.url().safeParse(serverUrl).success || !/^https?:/.test(serverUrl)) problems.push(`serverUrl: not an http(s) URL (got ${JSON.stringify(serverUrl)})`);
  const clientKey = env.HELPDESK_CLIENT_KEY ?? file.clientKey ?? null;
  if (clientKey !== null && clientKey.length < 16) problems.push('clientKey: must be at least 16 characters');
  const caFile = env.HELPDESK_CA_FILE ?? file.caFile ?? null;
  let ca: string | null = null;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
      if (!ca.includes('BEGIN CERTIFICATE')) problems.push(`caFile: ${caFile} holds no PEM certificate`);
    } catch (err) {
      problems.push(`caFile: cannot read ${caFile} (${(err as Error).message})`);
    }
  }
  let source = parseSource(env.HELPDESK_SOURCE ?? file.source ?? 'x11vnc', problems);
  const passwordFile = env.HELPDESK_VNC_PASSWORD_FILE ?? file.vncPasswordFile ?? null;
  if (passwordFile) {
    if (source.kind !== 'vnc') problems.push('vncPasswordFile: only used with source vnc://…');
    else {
      try {
        const password = readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
        if (!password) problems.push(`vncPasswordFile: ${passwordFile} is empty`);
        source = { ...source, password };
      } catch (err) {
        problems.push(`vncPasswordFile: cannot read ${passwordFile} (${(err as Error).message})`);
      }
    }
  }
  const survey = surveyMode(env.HELPDESK_SURVEY, problems);
  if (problems.length) {
    throw new DesktopError('CONFIG_INVALID', `The helpdesk client is not configured correctly:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const user = userInfo();
  const fullName = env.HELPDESK_REQUESTER_NAME ?? gecosName(user.username) ?? user.username;
  return Object.freeze({
    serverUrl: new URL(serverUrl!).origin,
    clientKey,
    ca,
    display: env.DISPLAY ?? file.display ?? ':0',
    x11vncPath: env.HELPDESK_X11VNC ?? file.x11vncPath ?? 'x11vnc',
    source: Object.freeze(source),
    sourceNotice: source.kind === 'x11vnc' && onWayland(env) ? WAYLAND_NOTICE : null,
    proxy: Object.freeze({
      httpProxy: env.HTTP_PROXY ?? env.http_proxy ?? null,
      httpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? null,
      noProxy: env.NO_PROXY ?? env.no_proxy ?? '',
    }),
    language: languageFromEnv(env),
    survey,
    downloadDir: env.HELPDESK_DOWNLOAD_DIR ?? file.downloadDir ?? (existsSync(join(homedir(), 'Downloads')) ? join(homedir(), 'Downloads') : homedir()),
    requester: Object.freeze({ requesterName: fullName, username: user.username, hostname: hostname(), os: `${osType()} ${release()}` }),
  });
}

function surveyMode(text: string | undefined, problems: string[]): ClientConfig['survey'] {
  if (text === undefined || text === 'auto' || text === 'ask' || text === 'off') return text ?? 'auto';
  problems.push(`HELPDESK_SURVEY: must be auto, ask or off (got ${JSON.stringify(text)})`);
  return 'auto';
}

export const WAYLAND_NOTICE =
  'This computer runs a Wayland desktop, which x11vnc cannot share. Ask your administrator to set the screen source to the ' +
  'desktop\'s own VNC server (HELPDESK_SOURCE=vnc://127.0.0.1:5900: GNOME Remote Desktop, KDE krfb, or wayvnc).';

/** A Wayland session (x11vnc shares X11 only, even through XWayland it sees no desktop). */
function onWayland(env: Record<string, string | undefined>): boolean {
  return env.XDG_SESSION_TYPE === 'wayland' || (env.WAYLAND_DISPLAY !== undefined && env.XDG_SESSION_TYPE !== 'x11');
}

/** The full name from /etc/passwd's GECOS field, when there is one. */
function gecosName(username: string): string | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${username}:`));
    const gecos = line?.split(':')[4]?.split(',')[0]?.trim();
    return gecos ? gecos : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
