// The desktop client's window in Chromium with window.helpdesk wired exactly as
// the preload wires it, but to the real core in the test's process (Electron's
// binary cannot run here): each method calls the HelpDesk as main.ts does, and
// each state, message and file the core emits reaches the page's listeners.
import type { Browser, Page } from 'playwright-core';
import type { HelpDesk } from './core/help-desk.ts';
import { messages, windowState } from './core/messages.ts';
import type { HelpdeskApi } from './contract.ts';

/** What the shell's dialogs answer, as a user would: save in this folder, send this file. */
export interface WindowDialogs {
  saveDir: string;
  sendPath: string;
  /** Lets a test add axe-core to the page (the window's CSP allows no inline script). */
  bypassCSP?: boolean;
}

export async function wireWindow(browser: Browser, rendererUrl: string, session: HelpDesk, dialogs: WindowDialogs): Promise<Page> {
  const { saveDir, sendPath } = dialogs;
  const core: Record<keyof Omit<HelpdeskApi, 'onState'>, (...args: never[]) => unknown> = {
    requestHelp: (d: string, topicId?: number | null) => session.requestHelp(d, topicId ?? null),
    topics: () => session.topics(),
    allow: (viewOnly: boolean, screen: string | null) => session.allow(viewOnly, screen ?? null),
    screens: () => session.screens(),
    decline: (dontAskAgain: boolean) => session.decline(dontAskAgain),
    stop: () => session.stop(),
    startOver: () => session.startOver(),
    getState: () => windowState(session.snapshot),
    getProfile: () => ({ requesterName: 'Wendy Window', username: 'wendy', hostname: 'wendy-pc', notice: null }),
    messages: () => messages,
    say: async (text: string) => {
      await session.say(text);
    },
    conversation: () => session.messages,
    onChat: () => undefined,
    // The shell's dialogs, answered as a user would: save in this folder, send this file.
    files: () => session.files,
    acceptFile: (id: string) => session.acceptFile(id, saveDir),
    refuseFile: (id: string) => session.refuseFile(id),
    sendFile: () => session.sendFile(sendPath),
    onFile: () => undefined,
    allowParticipant: async (id: number) => {
      await session.consent().allow(id);
    },
    refuseParticipant: async (id: number) => {
      await session.consent().refuse(id);
    },
    stopParticipant: async (id: number) => {
      await session.consent().stop(id);
    },
    stopEveryone: async () => {
      await session.consent().stopEveryone();
    },
    answerSurvey: (rating: number, comment: string | null) => session.answerSurvey(rating, comment),
    skipSurvey: () => session.skipSurvey(),
  };
  const page = await (await browser.newContext({ viewport: { width: 520, height: 640 }, bypassCSP: dialogs.bypassCSP === true })).newPage();
  await page.exposeBinding('__helpdeskCall', (_source, method: keyof typeof core, args: never[]) => core[method](...args));
  await page.addInitScript(() => {
    type Call = (method: string, args: unknown[]) => Promise<unknown>;
    const call = (window as unknown as { __helpdeskCall: Call }).__helpdeskCall;
    const listeners: ((s: unknown) => void)[] = [];
    const chatListeners: ((m: unknown) => void)[] = [];
    const fileListeners: ((f: unknown) => void)[] = [];
    (window as unknown as { __helpdeskFile: (f: unknown) => void }).__helpdeskFile = (f) => fileListeners.forEach((l) => l(f));
    (window as unknown as { __helpdeskState: (s: unknown) => void }).__helpdeskState = (s) => listeners.forEach((l) => l(s));
    (window as unknown as { __helpdeskChat: (m: unknown) => void }).__helpdeskChat = (m) => chatListeners.forEach((l) => l(m));
    (window as unknown as { helpdesk: unknown }).helpdesk = {
      requestHelp: (d: string, topicId?: number | null) => call('requestHelp', [d, topicId ?? null]),
      topics: () => call('topics', []),
      allow: (v: boolean, screen?: string | null) => call('allow', [v, screen ?? null]),
      screens: () => call('screens', []),
      decline: (dontAsk?: boolean) => call('decline', [dontAsk === true]),
      stop: () => call('stop', []),
      startOver: () => call('startOver', []),
      getState: () => call('getState', []),
      getProfile: () => call('getProfile', []),
      messages: () => call('messages', []),
      onState(listener: (s: unknown) => void) {
        listeners.push(listener);
        return () => listeners.splice(listeners.indexOf(listener), 1);
      },
      say: (text: string) => call('say', [text]),
      conversation: () => call('conversation', []),
      onChat(listener: (m: unknown) => void) {
        chatListeners.push(listener);
        return () => chatListeners.splice(chatListeners.indexOf(listener), 1);
      },
      files: () => call('files', []),
      acceptFile: (id: string) => call('acceptFile', [id]),
      refuseFile: (id: string) => call('refuseFile', [id]),
      sendFile: () => call('sendFile', []),
      onFile(listener: (f: unknown) => void) {
        fileListeners.push(listener);
        return () => fileListeners.splice(fileListeners.indexOf(listener), 1);
      },
      allowParticipant: (id: number) => call('allowParticipant', [id]),
      refuseParticipant: (id: number) => call('refuseParticipant', [id]),
      stopParticipant: (id: number) => call('stopParticipant', [id]),
      stopEveryone: () => call('stopEveryone', []),
      answerSurvey: (rating: number, comment: string | null) => call('answerSurvey', [rating, comment]),
      skipSurvey: () => call('skipSurvey', []),
    };
  });
  session.on('file', (f) => {
    void page.evaluate((file) => (window as unknown as { __helpdeskFile: (f: unknown) => void }).__helpdeskFile(file), f).catch(() => undefined);
  });
  session.on('message', (m) => {
    void page.evaluate((msg) => (window as unknown as { __helpdeskChat: (m: unknown) => void }).__helpdeskChat(msg), m).catch(() => undefined);
  });
  session.on('state', (snapshot) => {
    void page.evaluate((s) => (window as unknown as { __helpdeskState: (s: unknown) => void }).__helpdeskState(s), windowState(snapshot)).catch(() => undefined);
  });
  await page.goto(rendererUrl);
  return page;
}

