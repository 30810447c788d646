// One pino logger for a process; components take `logger.child({ component })`.
// Secrets never reach the log: tokens, passwords, cookies and authorization
// headers are redacted wherever they appear in the usual places.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACTED_PATHS: readonly string[] = [
  'token',
  '*.token',
  'password',
  '*.password',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'cookie',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-client-key"]',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'url',
  '*.url',
];

export interface LoggerOptions {
  level: string;
  name?: string;
}

export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? 'helpdesk',
      level: options.level,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    destination,
  );
}
