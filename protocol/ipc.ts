// The Electron shell's IPC channels between the main process and the preload
// (desktop-client/main/main.ts and preload/preload.cts); the API they carry is
// desktop-client/contract.ts's HelpdeskApi.

export const ipcChannels = {
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
