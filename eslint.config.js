// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['generated/**', 'node_modules/**', 'data/**', 'coverage/**', 'reports/**', 'dist/**'] },
  // The journeys import clients generated at run time; npm run clients:check compiles them (tsc --strict).
  { ignores: ['clients/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/build-if-stale.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Handlers share one async signature (Handler<Id> returns a Promise) whether or not they await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/handlers/**/*.ts'],
    rules: { '@typescript-eslint/explicit-function-return-type': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Only src/config.ts reads process.env.',
        },
      ],
    },
  },
  { files: ['src/config.ts', 'src/server.ts'], rules: { 'no-restricted-syntax': 'off' } },
  {
    files: ['src/handlers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/http/**', 'express'], message: 'Handlers import contract/, never http/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's expect(...).to.be.true style reads as an unused expression
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
