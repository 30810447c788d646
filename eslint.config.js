// Lint rules: typescript-eslint's recommended set, plus the house rule that a
// catch never swallows silently (STYLE.md habit 4).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'artifacts/**', 'coverage/**', '**/vendor/**', '**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through loadConfig(env) in the composition root.' }],
    },
  },
  {
    files: ['server/main.ts', 'server/cli.ts', 'repeater/main.ts', 'bench/**', 'test/**', '**/*.test.ts', 'desktop-client/**/main.ts', 'desktop-client/cli.ts', 'desktop-client/bin/**', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**', '**/*.test.ts', '**/*.test-helpers.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/public/**/*.js', 'desktop-client/renderer/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
);
