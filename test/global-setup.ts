// Starts a private MariaDB for the test run (its own data directory, socket
// and loopback port) unless TEST_MYSQL_URL names one already. The MySQL suites
// need it: under CI they fail rather than skip when it cannot start. Also
// makes the TLS certificate nginx serves in the tests of deploy/.
import type { TestProject } from 'vitest/node';
import { rmSync } from 'node:fs';
import { startMariaDb, type MariaDb } from './mariadb.ts';
import { makeTestCertificate } from './deploy-front.ts';

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
  // nginx in front (test/deploy-front.ts) serves TLS with a certificate made now: the test
  // processes, started after this, trust it from their start.
  const tls = makeTestCertificate();
  Object.assign(process.env, { NODE_EXTRA_CA_CERTS: tls.cert, HELPDESK_TEST_TLS_CERT: tls.cert, HELPDESK_TEST_TLS_KEY: tls.key });
  return async () => {
    await mariadb?.destroy();
    rmSync(tls.dir, { recursive: true, force: true });
  };
}
