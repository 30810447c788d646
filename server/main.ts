// Composition root: load config → start the server (database, app, repeater on
// one port) → print where to go → shut down in order on SIGINT/SIGTERM.
import { createLogger } from '../lib/logger.ts';
import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}

const logger = createLogger({ level: config.logLevel });
const server = await startServer(config, logger).catch((err: unknown) => {
  // The secrets key ring, and that it opens what the database holds, are checked at start: said like a bad setting.
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
});

if (server.firstAdmin) {
  const lines = [`First start: created the administrator account "${server.firstAdmin.username}".`];
  if (server.firstAdmin.generatedPassword) {
    lines.push(`Its password (shown this once; change it after logging in): ${server.firstAdmin.generatedPassword}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
}
process.stdout.write(`\nHelpdesk is running: open ${server.url}/ (database: ${config.database.client})\n\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
