// Starts a private MariaDB for the test run (its own data directory, socket
// and loopback port) unless TEST_MYSQL_URL names one already. The MySQL suites
// need it: under CI they fail rather than skip when it cannot start.
import type { TestProject } from 'vitest/node';
import { startMariaDb, type MariaDb } from './mariadb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string | null;
  }
}

let mariadb: MariaDb | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.TEST_MYSQL_URL ?? null;
  if (!url) {
    try {
      mariadb = await startMariaDb();
      url = mariadb.url;
    } catch (err) {
      if (process.env.CI) throw err;
      console.warn(`MariaDB suites will be skipped: ${(err as Error).message}`);
    }
  }
  project.provide('mysqlUrl', url);
  return async () => {
    await mariadb?.destroy();
  };
}
