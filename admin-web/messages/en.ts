// The admin web's words, English first. Other languages add a file with the
// same keys; code refers to keys only.
export const en = {
  'app.name': 'Helpdesk',
  'nav.queue': 'Queue',
  'nav.mine': 'My tickets',
  'nav.history': 'History',
  'nav.technicians': 'Technicians',
  'nav.audit': 'Audit log',
  'nav.profile': 'Profile',
  'nav.logout': 'Log out',
  'nav.skip': 'Skip to content',
  'login.title': 'Log in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.loggedOut': 'You have been logged out.',
  'login.idle': 'Your session ended after a period of inactivity. Log in again.',
  'error.title': 'Something is wrong',
  'error.back': 'Back to the queue',
  'viewer.title': 'Help for {requester} on {host}',
  'viewer.notHolder': 'Only the technician who holds ticket {id} may open its viewer.',
} as const;

export type MessageKey = keyof typeof en;

/** Looks up a message and fills `{name}` placeholders. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return en[key].replace(/\{(\w+)\}/g, (_m, name: string) => String(params[name] ?? `{${name}}`));
}
