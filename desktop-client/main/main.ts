// Electron main process: one window, the core's HelpSession, and IPC handlers
// that check who is calling. Everything the app does lives in ../core (plain
// Node, tested without Electron); this file only wires it to the window.
import { app, BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { loadClientConfig } from '../core/config.ts';
import { createTransport } from '../core/transport.ts';
import { HelpDesk } from '../core/help-desk.ts';
import { DesktopError } from '../core/errors.ts';
import { ipcChannels } from '../../protocol/ipc.ts';
import { type RequesterProfile } from '../contract.ts';
import { languageOfLocale, messages, setLanguage, windowState } from '../core/messages.ts';

const here = dirname(fileURLToPath(import.meta.url));
const rendererUrl = pathToFileURL(join(here, '..', 'renderer', 'index.html')).href;
const config = loadClientConfig(process.env);
setLanguage(config.language);
// One attempt per request (see HelpDesk): "Request help again" starts a fresh one.
const session = new HelpDesk(config, createTransport(config));
let win: BrowserWindow | null = null;

/** Only our own window's top frame, showing our own page, may call the core. */
function checkSender(event: IpcMainInvokeEvent): void {
  if (!win || event.sender !== win.webContents || event.senderFrame?.url !== rendererUrl) {
    throw new DesktopError('SERVER_REFUSED', 'IPC call from an unexpected sender');
  }
}

function handle<A extends unknown[], R>(channel: string, fn: (...args: A) => Promise<R> | R): void {
  ipcMain.handle(channel, (event, ...args: unknown[]) => {
    checkSender(event);
    return fn(...(args as A));
  });
}

handle(ipcChannels.requestHelp, (description: unknown, topicId: unknown) => session.requestHelp((typeof description === 'string' ? description : '').slice(0, 4000), Number.isSafeInteger(topicId) && (topicId as number) > 0 ? (topicId as number) : null));
handle(ipcChannels.topics, () => session.topics());
handle(ipcChannels.allow, (viewOnly: unknown, screen: unknown) => session.allow(viewOnly === true, typeof screen === 'string' ? screen.slice(0, 80) : null));
handle(ipcChannels.screens, () => session.screens());
handle(ipcChannels.decline, (dontAskAgain: unknown) => session.decline(dontAskAgain === true));
handle(ipcChannels.stop, () => session.stop());
handle(ipcChannels.startOver, () => session.startOver());
handle(ipcChannels.getState, () => windowState(session.snapshot));
handle(ipcChannels.getProfile, (): RequesterProfile => ({
  requesterName: config.requester.requesterName,
  username: config.requester.username,
  hostname: config.requester.hostname,
  notice: config.sourceNotice,
}));
handle(ipcChannels.messages, () => messages); // read when called: setLanguage() may have switched it
handle(ipcChannels.say, async (text: unknown) => {
  await session.say((typeof text === 'string' ? text : '').slice(0, 4000));
});
handle(ipcChannels.conversation, () => session.messages);
handle(ipcChannels.files, () => session.files);
// Where an accepted file goes, and which file to send: the user chooses in the system's dialogs.
handle(ipcChannels.acceptFile, async (id: unknown) => {
  const chosen = await dialog.showOpenDialog({ title: 'Save the file in…', defaultPath: config.downloadDir, properties: ['openDirectory', 'createDirectory'] });
  if (chosen.canceled || !chosen.filePaths[0]) return null;
  return session.acceptFile(String(id), chosen.filePaths[0]);
});
handle(ipcChannels.refuseFile, (id: unknown) => session.refuseFile(String(id)));
handle(ipcChannels.sendFile, async () => {
  const chosen = await dialog.showOpenDialog({ title: 'Send a file to the helpdesk', properties: ['openFile'] });
  if (chosen.canceled || !chosen.filePaths[0]) return null;
  return session.sendFile(chosen.filePaths[0]);
});
// A technician id from the window: a positive integer, else nobody.
const technicianIdOf = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0);
handle(ipcChannels.allowParticipant, async (id: unknown) => {
  await session.consent().allow(technicianIdOf(id));
});
handle(ipcChannels.refuseParticipant, async (id: unknown) => {
  await session.consent().refuse(technicianIdOf(id));
});
handle(ipcChannels.stopParticipant, async (id: unknown) => {
  await session.consent().stop(technicianIdOf(id));
});
handle(ipcChannels.stopEveryone, async () => {
  await session.consent().stopEveryone();
});
// How it went (issue 29): a rating from 1 to 5 (anything else is refused by the core), a comment as text.
handle(ipcChannels.answerSurvey, (rating: unknown, comment: unknown) => session.answerSurvey(typeof rating === 'number' ? rating : 0, typeof comment === 'string' ? comment.slice(0, 1000) : null));
handle(ipcChannels.skipSurvey, () => session.skipSurvey());
session.on('state', (snapshot) => win?.webContents.send(ipcChannels.state, windowState(snapshot)));
session.on('message', (message) => win?.webContents.send(ipcChannels.chat, message));
session.on('file', (file) => win?.webContents.send(ipcChannels.file, file));

void app.whenReady().then(() => {
  // Without HELPDESK_LANG, the window speaks the system's language as Electron reports it.
  const fromSystem = languageOfLocale(app.getLocale());
  if (!process.env.HELPDESK_LANG && !process.env.LC_ALL && !process.env.LANG && fromSystem) setLanguage(fromSystem);
  win = new BrowserWindow({
    width: 520,
    height: 640,
    title: 'Get help',
    webPreferences: {
      preload: join(here, '..', 'preload', 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // The window only ever shows our page: no navigation, no new windows.
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void win.loadURL(rendererUrl);
  win.on('closed', () => {
    win = null;
  });
});

let quitting = false;
app.on('before-quit', (event) => {
  if (quitting) return;
  // Stop first: the server is told and x11vnc is killed before the process exits.
  event.preventDefault();
  quitting = true;
  void session
    .stop()
    .then(() => session.settled())
    .finally(() => app.quit());
});
app.on('window-all-closed', () => app.quit());
