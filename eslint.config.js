// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Globals that break determinism: only src/core/system.ts may read them. */
const nondeterministic = [
  {
    object: 'Date',
    property: 'now',
    message: 'Use the injected runtime clock (src/core/system.ts only).',
  },
  {
    object: 'performance',
    property: 'now',
    message: 'Use the injected runtime clock (src/core/system.ts only).',
  },
  {
    object: 'Math',
    property: 'random',
    message: 'Use the injected runtime Random (src/core/system.ts only).',
  },
  {
    object: 'crypto',
    property: 'randomUUID',
    message: 'Use runtime.random.bytes() (src/core/system.ts only).',
  },
  {
    object: 'crypto',
    property: 'getRandomValues',
    message: 'Use runtime.random.bytes() (src/core/system.ts only).',
  },
  { object: 'globalThis', property: 'setTimeout', message: 'Use the injected runtime timers.' },
  { object: 'globalThis', property: 'setInterval', message: 'Use the injected runtime timers.' },
  { object: 'globalThis', property: 'setImmediate', message: 'Use the injected runtime timers.' },
  {
    object: 'process',
    property: 'nextTick',
    message: 'Deferred work runs off the simulated clock: use the injected runtime timers.',
  },
  {
    object: 'globalThis',
    property: 'queueMicrotask',
    message: 'Deferred work runs off the simulated clock: use the injected runtime timers.',
  },
];
const timerGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'].map(
  (name) => ({
    name,
    message: 'Use the injected runtime timers (src/core/system.ts only).',
  }),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/dist/**', 'site/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        Buffer: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        globalThis: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a union of string literals, not enum.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/system.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', ...nondeterministic],
      'no-restricted-globals': ['error', ...timerGlobals],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:timers', message: 'Use the injected runtime timers.' },
            { name: 'node:timers/promises', message: 'Use the injected runtime timers.' },
            { name: 'timers', message: 'Use the injected runtime timers.' },
            { name: 'timers/promises', message: 'Use the injected runtime timers.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/system.ts', 'src/core/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', ...nondeterministic],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:timers', message: 'Use the injected runtime timers.' },
            { name: 'node:timers/promises', message: 'Use the injected runtime timers.' },
          ],
          patterns: [
            {
              group: [
                '**/adapters/**',
                '**/sim/**',
                '**/lab/**',
                '**/cli/**',
                '../adapters/*',
                '../sim/*',
                '../lab/*',
                '../cli/*',
              ],
              message: 'core/ must not import adapters/, sim/, lab/ or cli/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/system.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../adapters/*', '../sim/*', '../lab/*', '../cli/*'],
              message: 'core/ must not import adapters/, sim/, lab/ or cli/.',
            },
          ],
        },
      ],
    },
  },
);
