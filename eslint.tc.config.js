import base from '/work/main/eslint.config.js';
import tseslint from 'typescript-eslint';
export default [
  ...base,
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts', '**/*.cts'] })),
  { files: ['**/*.ts', '**/*.cts'], languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: '/work/main' } } },
];
