// Lint rules: typescript-eslint's type-aware recommended set over every
// TypeScript file (floating and misused promises, unsafe any), plus the house
// rules: a catch never swallows silently (STYLE.md habit 4), configuration is
// read only in composition roots, and the import directions ARCHITECTURE.md
// states (checked by test/architecture.test.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'artifacts/**', 'coverage/**', '**/vendor/**', '**/dist/**'] },
  js.configs.recommended,
  // The plugin and parser for every file; the type-checked rules for TypeScript only.
  ...tseslint.configs.recommendedTypeChecked.map((c) => (c.plugins ? c : { ...c, files: c.files ?? ['**/*.ts', '**/*.cts'] })),
  {
    files: ['**/*.ts', '**/*.cts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      // A catch handler names what it expects (lib/expected.ts, or a named parameter): no bare `.catch(() => …)`.
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0]",
          message: 'Name the error this catch expects (ignoreCodes(…), handledElsewhere, or a handler with a named parameter) instead of swallowing every failure.',
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through loadConfig(env) in the composition root.' }],
    },
  },
  {
    files: ['**/*.ts', '**/*.cts'],
    rules: {
      // knex's query results are loosely typed; the code states each row's type
      // with `as`. The rule would move those casts into generic arguments that
      // say the same thing.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['server/main.ts', 'server/cli.ts', 'repeater/main.ts', 'bench/**', 'test/**', '**/*.test.ts', 'desktop-client/**/main.ts', 'desktop-client/cli.ts', 'desktop-client/bin/**', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests read JSON bodies (supertest's `any`) field by field: the unsafe-any
    // rules would only add casts there. The promise rules still apply.
    files: ['test/**', '**/*.test.ts', '**/*.test-helpers.ts', 'bench/**'],
    rules: {
      // Test cleanup may drop anything: what it tests has been asserted already.
      'no-restricted-syntax': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The start wrapper: plain JavaScript for Node, run before any loader.
    files: ['bin/**/*.mjs'],
    languageOptions: { globals: globals.node, sourceType: 'module' },
  },
  {
    files: ['**/public/**/*.js', 'desktop-client/renderer/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
);
