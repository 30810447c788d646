import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/e2e/**', 'test/scale/**', '**/dist/**', '**/release/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // Every /api/v1 answer a test receives is checked against the OpenAPI description (test/openapi-hooks.ts).
    setupFiles: ['test/openapi-hooks.ts'],
  },
});
