// Command-line management of technicians, on the same database as the server:
//   npm run technicians -- list
//   npm run technicians -- create <username> --name "Ana Ruiz" [--email a@x] [--role admin|technician] [--password P]
//   npm run technicians -- disable <username> | enable <username>
//   npm run technicians -- reset-password <username> [--password P]
//   npm run technicians -- reset-2fa <username>   (a lost device, or a TOTP secret the key ring no longer opens)
// Passwords not given are generated and printed once.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { systemClock } from './clock.ts';
import { createTechnicianService } from './technicians/service.ts';
import { createPasswordHasher, generatePassword } from './technicians/password.ts';
import { technicianStore } from './technicians/store.ts';
import { AppError, parseOrThrow } from './errors.ts';
import { createTechnicianSchema, passwordSchema } from './technicians/schema.ts';

const usage = `usage: npm run technicians -- <command> [options]
  list
  create <username> --name "Display Name" [--email E] [--role admin|technician] [--password P]
  disable <username>
  enable <username>
  reset-password <username> [--password P]
  reset-2fa <username>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

async function main(): Promise<number> {
  const [command, username] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 64;
  }
  const config = loadConfig(process.env);
  const db = await openDatabase(config.database);
  const technicians = createTechnicianService({
    db,
    clock: systemClock,
    hasher: createPasswordHasher(config.argon2MemoryKiB),
    login: config.login,
    twoFactor: config.requireTwoFactor,
  });
  const by = { actor: { type: 'system' as const, name: 'cli' }, remoteAddress: '' };
  const idOf = async (name: string | undefined): Promise<number> => {
    if (!name) throw new AppError('VALIDATION_FAILED', 'Name the technician: a username is required');
    const row = await technicianStore.byUsername(db, name.toLowerCase());
    if (!row) throw new AppError('TECHNICIAN_NOT_FOUND', `No technician "${name}"`);
    return Number(row.id);
  };
  try {
    switch (command) {
      case 'list':
        for (const t of await technicians.list()) {
          process.stdout.write(`${t.username.padEnd(20)} ${t.role.padEnd(11)} ${t.active ? 'active  ' : 'disabled'} ${t.displayName}\n`);
        }
        return 0;
      case 'create': {
        const password = values.password ?? generatePassword();
        const input = parseOrThrow(
          createTechnicianSchema,
          { username: username ?? '', displayName: values.name ?? username ?? '', email: values.email ?? '', role: values.role ?? 'technician', password },
          'technician',
        );
        const t = await technicians.create(input, by);
        process.stdout.write(`Created ${t.role} "${t.username}".${values.password ? '' : ` Password (shown once): ${password}`}\n`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const t = await technicians.update(await idOf(username), { active: command === 'enable' }, by);
        process.stdout.write(`${t.username} is now ${t.active ? 'active' : 'disabled'}.\n`);
        return 0;
      }
      case 'reset-password': {
        const result = await technicians.resetPassword(await idOf(username), values.password === undefined ? undefined : parseOrThrow(passwordSchema, values.password, 'password'), by);
        process.stdout.write(`Password of ${result.technician.username} reset.${values.password ? '' : ` New password (shown once): ${result.password}`}\n`);
        return 0;
      }
      case 'reset-2fa': {
        const t = await technicians.resetTwoFactor(await idOf(username), by);
        process.stdout.write(`Two-factor login of ${t.username} cleared; it is set up again from the profile page.\n`);
        return 0;
      }
      default:
        process.stderr.write(`Unknown command "${command}".\n${usage}\n`);
        return 64;
    }
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof AppError || err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof ConfigError ? 78 : 1);
    }
    pino().error({ err }, 'technicians command failed');
    process.exit(1);
  },
);
