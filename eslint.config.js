import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Tests inspect arbitrary JSON responses.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Time, randomness and timers are injected below the CLI so tests and simulations replay exactly.
    files: ['src/engine/**/*.ts', 'src/storage/**/*.ts', 'sim/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected Rand.' },
        { object: 'process', property: 'nextTick', message: 'Use the injected Clock (afterIo), or a promise.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use the injected Clock.' },
        { name: 'setInterval', message: 'Use the injected Clock.' },
        { name: 'setImmediate', message: 'Use the injected Clock (afterIo).' },
        { name: 'queueMicrotask', message: 'Use the injected Clock (afterIo), or a promise.' },
      ],
    },
  },
  {
    // The web console renders stored data: text nodes only, never markup (docs/console.md).
    files: ['src/console/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Build nodes with h(); record contents are text.' },
        { property: 'outerHTML', message: 'Build nodes with h(); record contents are text.' },
        { property: 'insertAdjacentHTML', message: 'Build nodes with h(); record contents are text.' },
        { property: 'createContextualFragment', message: 'Build nodes with h(); record contents are text.' },
        { object: 'document', property: 'write', message: 'Build nodes with h().' },
        { object: 'document', property: 'writeln', message: 'Build nodes with h().' },
      ],
    },
  },
);
