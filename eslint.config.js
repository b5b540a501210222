// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Import boundaries between the layers of src/, checked by ESLint's own
 * no-restricted-imports (type-only imports included). ESLint keeps one option
 * list per rule and file (the last matching config object's), so each area
 * below lists every restriction that applies to it, the general ones first.
 */
const DATABASE = {
  group: ['kysely', 'kysely/*', 'pg', 'pg/*'],
  message: 'kysely and pg are used only under src/db/: add a repo function there (types: src/db/schema.ts).',
};
const WEB_FRAMEWORK = {
  group: [
    'express',
    'express/*',
    'cors',
    'helmet',
    'on-headers',
    'proxy-addr',
    'body-parser',
    'serve-static',
  ],
  message: 'The web framework and its middleware are used only in src/http/.',
};
const HANDLERS = {
  group: ['**/handlers', '**/handlers/**'],
  message: 'Transports (src/http/, src/realtime/) never import src/handlers/: app.ts wires the handlers in.',
};
const HTTP = {
  group: ['**/http', '**/http/**'],
  message: 'Handlers import contract/, never http/.',
};
const APP = {
  group: ['**/deps.js', '**/db', '**/db/**', '**/auth', '**/auth/**'],
  message:
    'src/contract/ imports nothing from deps, db or auth: the app binds to it (see AppBinding in contract/types.ts).',
};
const STORAGE_DRIVERS = {
  group: ['./*-storage.js'],
  message: 'The drivers import storage.ts; the factory that picks one lives in create-storage.ts.',
};

/** @param {string[]} files @param {object[]} patterns */
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

const importBoundaries = [
  restrict(['src/**/*.ts'], [DATABASE, WEB_FRAMEWORK]),
  restrict(['src/db/**/*.ts'], [WEB_FRAMEWORK]),
  restrict(['src/http/**/*.ts'], [DATABASE, HANDLERS]),
  restrict(['src/realtime/**/*.ts'], [DATABASE, WEB_FRAMEWORK, HANDLERS]),
  restrict(['src/contract/**/*.ts'], [DATABASE, WEB_FRAMEWORK, APP]),
  restrict(['src/handlers/**/*.ts'], [DATABASE, WEB_FRAMEWORK, HTTP]),
  restrict(['src/files/storage.ts'], [DATABASE, WEB_FRAMEWORK, STORAGE_DRIVERS]),
];

export default tseslint.config(
  { ignores: ['generated/**', 'node_modules/**', 'data/**', 'coverage/**', 'reports/**', 'dist/**'] },
  // The journeys import clients generated at run time; npm run clients:check compiles them (tsc --strict).
  { ignores: ['clients/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'scripts/build-if-stale.mjs', 'scripts/bundle.mjs'],
        },
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
  ...importBoundaries,
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's expect(...).to.be.true style reads as an unused expression
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
