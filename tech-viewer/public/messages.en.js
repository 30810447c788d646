// The viewer's words, English first, keyed by state and by the repeater's
// close-code identifiers (see /tech-assets/close-codes.json).
export const messages = {
  state: {
    awaitingApproval: 'Waiting for the user to allow this session…',
    connecting: 'Connecting…',
    waiting: 'Waiting for the user\'s desktop to connect…',
    connected: 'Connected to {requester}\'s desktop.',
    ended: 'Session ended: {reason}',
    reconnecting: 'Connection interrupted: {reason} Reconnecting in {seconds} s…',
  },
  viewOnly: 'View only: the user allowed viewing, not control. Your keyboard and mouse are not sent.',
  reasons: {
    DESKTOP_LEFT: 'the user\'s app closed the connection.',
    VIEWER_LEFT: 'the viewer left.',
    DESKTOP_LOST: 'the connection to the user\'s desktop was lost.',
    VIEWER_LOST: 'your connection to the server was lost.',
    WAITING_TIMEOUT: 'waited too long: the user\'s desktop did not connect.',
    DUPLICATE_LEG: 'another viewer is already connected to this session.',
    ENDED_BY_USER: 'the user stopped the session.',
    ENDED_BY_TECHNICIAN: 'the session was ended by the technician.',
    ENDED_BY_SERVER: 'the server ended the session.',
    SHUTDOWN: 'the server is restarting.',
    PEER_PROTOCOL_ERROR: 'the user\'s desktop sent invalid data.',
    SERVER_RESTARTED: 'the server restarted.',
    REPEATER_LOST: 'the relay carrying the session was lost.',
    TOKEN_REFUSED: 'the server refused the connection (the viewer token was not accepted).',
    NETWORK: 'the network connection dropped.',
    DISCONNECTED: 'you disconnected. The user\'s session stays open: Reconnect to continue.',
    NOT_CONNECTABLE: 'the ticket is {status}; there is no session to join.',
    PROTOCOL: 'the remote desktop protocol failed ({detail}).',
  },
  errors: {
    mint: 'Could not get a viewer token: {message}',
    end: 'Could not end the session: {message}',
  },
};

/** Fills {name} placeholders. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}
