// The preload exposes named methods as window.helpdesk, never raw IPC.
// A sandboxed preload can require only Electron's own modules, so the channel
// names are repeated here; contract.test.ts checks they match protocol/ipc.ts.
import type { ChatMessage, HelpdeskApi, TicketFile, WindowState } from '../contract.ts';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron');

const channels = {
  requestHelp: 'helpdesk:request-help',
  topics: 'helpdesk:topics',
  allow: 'helpdesk:allow',
  decline: 'helpdesk:decline',
  stop: 'helpdesk:stop',
  screens: 'helpdesk:screens',
  startOver: 'helpdesk:start-over',
  getState: 'helpdesk:get-state',
  getProfile: 'helpdesk:get-profile',
  messages: 'helpdesk:messages',
  state: 'helpdesk:state',
  say: 'helpdesk:say',
  conversation: 'helpdesk:conversation',
  chat: 'helpdesk:chat',
  files: 'helpdesk:files',
  acceptFile: 'helpdesk:accept-file',
  refuseFile: 'helpdesk:refuse-file',
  sendFile: 'helpdesk:send-file',
  file: 'helpdesk:file',
  allowParticipant: 'helpdesk:allow-participant',
  refuseParticipant: 'helpdesk:refuse-participant',
  stopParticipant: 'helpdesk:stop-participant',
  stopEveryone: 'helpdesk:stop-everyone',
  answerSurvey: 'helpdesk:answer-survey',
  skipSurvey: 'helpdesk:skip-survey',
} as const;

const api: HelpdeskApi = {
  requestHelp: (description, topicId) => ipcRenderer.invoke(channels.requestHelp, description, topicId ?? null),
  topics: () => ipcRenderer.invoke(channels.topics),
  allow: (viewOnly, screen) => ipcRenderer.invoke(channels.allow, viewOnly, screen ?? null),
  screens: () => ipcRenderer.invoke(channels.screens),
  decline: (dontAskAgain) => ipcRenderer.invoke(channels.decline, dontAskAgain === true),
  stop: () => ipcRenderer.invoke(channels.stop),
  startOver: () => ipcRenderer.invoke(channels.startOver),
  getState: () => ipcRenderer.invoke(channels.getState),
  getProfile: () => ipcRenderer.invoke(channels.getProfile),
  messages: () => ipcRenderer.invoke(channels.messages),
  onState(listener) {
    const wrapped = (_event: unknown, state: WindowState) => listener(state);
    ipcRenderer.on(channels.state, wrapped);
    return () => ipcRenderer.removeListener(channels.state, wrapped);
  },
  say: (text) => ipcRenderer.invoke(channels.say, text),
  conversation: () => ipcRenderer.invoke(channels.conversation),
  onChat(listener) {
    const wrapped = (_event: unknown, message: ChatMessage) => listener(message);
    ipcRenderer.on(channels.chat, wrapped);
    return () => ipcRenderer.removeListener(channels.chat, wrapped);
  },
  files: () => ipcRenderer.invoke(channels.files),
  acceptFile: (id) => ipcRenderer.invoke(channels.acceptFile, id),
  refuseFile: (id) => ipcRenderer.invoke(channels.refuseFile, id),
  sendFile: () => ipcRenderer.invoke(channels.sendFile),
  allowParticipant: (technicianId) => ipcRenderer.invoke(channels.allowParticipant, technicianId),
  refuseParticipant: (technicianId) => ipcRenderer.invoke(channels.refuseParticipant, technicianId),
  stopParticipant: (technicianId) => ipcRenderer.invoke(channels.stopParticipant, technicianId),
  stopEveryone: () => ipcRenderer.invoke(channels.stopEveryone),
  answerSurvey: (rating, comment) => ipcRenderer.invoke(channels.answerSurvey, rating, comment),
  skipSurvey: () => ipcRenderer.invoke(channels.skipSurvey),
  onFile(listener) {
    const wrapped = (_event: unknown, file: TicketFile) => listener(file);
    ipcRenderer.on(channels.file, wrapped);
    return () => ipcRenderer.removeListener(channels.file, wrapped);
  },
};

contextBridge.exposeInMainWorld('helpdesk', api);
