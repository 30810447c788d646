// helpdesk-client: the desktop client's flow in a terminal. Prints each state,
// asks for consent on stdin (or allows at once with --yes), and stops cleanly
// on "stop", Ctrl+C or SIGTERM: the server is told and x11vnc is killed.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadClientConfig } from './core/config.ts';
import { createTransport } from './core/transport.ts';
import { HelpSession, type FlowSnapshot } from './core/help-session.ts';
import { DesktopError } from './core/errors.ts';
import { monitorLabel } from './core/monitors.ts';
import { describeSnapshot, format, languageFromEnv, setLanguage } from './core/messages.ts';
import { participantCommands } from './cli-participants.ts';
import { askSurvey } from './cli-survey.ts';
import { englishCommand, sizeText } from './cli-words.ts';
import { chooseTopic } from './cli-topic.ts';


async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      description: { type: 'string' },
      yes: { type: 'boolean', default: false },
      'view-only': { type: 'boolean', default: false },
      screen: { type: 'string' },
      topic: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    setLanguage(languageFromEnv(process.env));
    process.stdout.write(`${format('cli.usage')}\n${format('cli.usage.topic')}\n`);
    return 0;
  }
  const config = loadClientConfig(process.env);
  setLanguage(config.language);
  // Said before anything is asked: this screen source cannot work here (x11vnc on Wayland).
  if (config.sourceNotice) process.stdout.write(`${config.sourceNotice}\n`);
  const session = new HelpSession(config, createTransport(config));
  const lines = createInterface({ input: process.stdin, terminal: false });
  const pending: ((line: string) => void)[] = [];
  lines.on('line', (typed) => {
    // Commands in the user's language or in English (cli-words.ts).
    const line = englishCommand(typed.trim());
    // "say …", "accept N", "refuse N" and "send PATH" work at any moment, even at a question (which stays asked).
    if (command(line)) return;
    const waiter = pending.shift();
    if (waiter) waiter(typed.trim());
    else if (line.trim().toLowerCase() === 'stop') void session.stop();
  });
  lines.on('close', () => pending.splice(0).forEach((w) => w('')));
  const ask = (question: string): Promise<string> => {
    process.stdout.write(question);
    return new Promise((resolve) => pending.push(resolve));
  };

  session.on('message', (m) => {
    process.stdout.write(`${m.from === 'user' ? format('chat.you') : m.authorName}: ${m.text}\n`);
  });

  // Files offered to the user, numbered in the order they come.
  const offers: string[] = [];
  session.on('file', (f) => {
    if (f.direction !== 'to_user' || f.state !== 'offered' || offers.includes(f.id)) return;
    offers.push(f.id);
    process.stdout.write(`${format('cli.fileOffered', { who: f.senderName, name: f.name, size: sizeText(f.size), sha256: f.sha256, n: offers.length })}\n`);
  });
  const problem = (err: unknown) => process.stdout.write(`${format('error.prefix', { message: (err as Error).message })}\n`);

  function command(text: string): boolean {
    const said = /^say\s+(.+)$/i.exec(text);
    if (said) {
      session.say(said[1]!).catch(problem);
      return true;
    }
    const decided = /^(accept|refuse)\s+(\d+)$/i.exec(text);
    if (decided) {
      const id = offers[Number(decided[2]) - 1];
      if (!id) {
        problem(new Error(format('cli.noSuchFile', { n: decided[2]! })));
        return true;
      }
      if (decided[1]!.toLowerCase() === 'accept') {
        session.acceptFile(id, config.downloadDir).then((path) => process.stdout.write(`${format('cli.fileSaved', { path })}\n`), problem);
      } else {
        session.refuseFile(id).then(() => process.stdout.write(`${format('cli.fileRefused')}\n`), problem);
      }
      return true;
    }
    const send = /^send\s+(.+)$/i.exec(text);
    if (send) {
      session.sendFile(send[1]!).then((f) => process.stdout.write(`${format('cli.fileSent', { name: f.name, size: sizeText(f.size), sha256: f.sha256 })}\n`), problem);
      return true;
    }
    return people.command(text);
  }
  const people = participantCommands(session, (line) => process.stdout.write(`${line}\n`), problem);

  let sayHinted = false;
  const done = new Promise<FlowSnapshot>((resolve) => {
    let last = '';
    session.on('state', (s) => {
      const text = describeSnapshot(s);
      if (text !== last) process.stdout.write(`${text}\n`);
      last = text;
      if (s.state === 'in_session') process.stdout.write(`${format('cli.stopHint')}\n`);
      if (s.state === 'waiting_for_technician' && !sayHinted) {
        sayHinted = true;
        process.stdout.write(`${format('cli.sayHint')}\n`);
      }
      if (s.state === 'technician_offered') void consent(s);
      people.onState(s);
      if (s.state === 'ended') resolve(s);
    });
  });

  /** All screens, or the one monitor the user names (--screen NAME, or asked when there are several). */
  async function chooseScreen(): Promise<string | null> {
    if (values.screen !== undefined) return values.screen === 'all' ? null : values.screen;
    if (values.yes) return null;
    const screens = await session.screens();
    if (screens.length < 2) return null;
    const choices = screens.map((m, i) => `[${i + 1}] ${monitorLabel(m)}`).join(', ');
    for (;;) {
      const answer = (await ask(format('cli.prompt.screen', { choices }))).toLowerCase();
      if (answer === 'a' || answer === '') return null;
      const picked = screens[Number(answer) - 1];
      if (picked) return picked.name;
    }
  }

  async function consent(s: FlowSnapshot): Promise<void> {
    if (s.recorded) process.stdout.write(`${format('consent.recorded')}\n`);
    if (values.yes) return session.allow(values['view-only'], await chooseScreen());
    for (;;) {
      const answer = (await ask(format('cli.prompt.consent', { technician: s.technicianName ?? format('words.thisTechnician') }))).toLowerCase();
      if (session.snapshot.state !== 'technician_offered' || session.snapshot.ticketId !== s.ticketId) return;
      if (answer === 'c' || answer === 'v') {
        const screen = await chooseScreen();
        if (session.snapshot.state !== 'technician_offered' || session.snapshot.ticketId !== s.ticketId) return;
        return session.allow(answer === 'v', screen);
      }
      if (answer === 'd' || answer === 'n') return session.decline(answer === 'n');
    }
  }

  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      signalled = true;
      // At the question after the session: no answer, just leave.
      if (session.snapshot.state === 'ended') lines.close();
      // Still at the question, nothing requested or started: just leave.
      if (session.snapshot.state === 'idle') process.exit(0);
      void session.stop();
    });
  }

  if (values.yes && !values.description?.trim()) {
    process.stderr.write(`${format('cli.needsDescription')}\n`);
    return 64;
  }
  // Asked until the user says something: the technician must not get a blank problem.
  let description = values.description?.trim() ?? '';
  while (!description) {
    description = (await ask(format('cli.prompt.description'))).trim();
    if (!description && process.stdin.readableEnded) return 64;
  }
  // What it is about (issue 29): --topic, or a numbered question in the user's language.
  const topicId = await chooseTopic({ transport: createTransport(config), ...config }, { given: values.topic, yes: values.yes }, ask, () => process.stdin.readableEnded, (line) => process.stderr.write(`${line}\n`));
  if (topicId === undefined) return 64;
  try {
    await session.requestHelp(description, topicId);
  } catch (err) {
    if (!(err instanceof DesktopError)) throw err;
    lines.close();
    return 1;
  }
  const ended = await done;
  // How it went (issue 29): asked once a session took place; Enter skips.
  const asks = config.survey === 'ask' || (config.survey === 'auto' && process.stdin.isTTY === true);
  if (ended.survey === 'ask' && asks && !signalled) await askSurvey(session, ask, (line) => process.stdout.write(`${line}\n`));
  lines.close();
  // x11vnc is killed by its pid before the process exits, however the session ended.
  await session.settled();
  return ended.error ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof DesktopError ? err.message : (err as Error).stack}\n`);
    process.exit(err instanceof DesktopError && err.code === 'CONFIG_INVALID' ? 78 : 1);
  },
);
