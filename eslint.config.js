// Lint for a strict-TypeScript codebase: the recommended rules of ESLint and typescript-eslint,
// without type information (fast enough to run with every `npm test`; tsc's strict mode already
// does the type-aware checking).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/', 'node_modules/', '.local/', 'nginx/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: {
    globals: {
      process: 'readonly',
      console: 'readonly',
      Buffer: 'readonly',
      URL: 'readonly',
      setTimeout: 'readonly',
      clearTimeout: 'readonly',
      setInterval: 'readonly',
      clearInterval: 'readonly',
      performance: 'readonly',
      structuredClone: 'readonly',
      AbortController: 'readonly',
      TextEncoder: 'readonly',
      TextDecoder: 'readonly',
      URLSearchParams: 'readonly',
      fetch: 'readonly',
      queueMicrotask: 'readonly',
      setImmediate: 'readonly',
    },
  },
  rules: {
    // Unused names are tsc's job (noUnusedLocals/Parameters), with its `_` convention.
    '@typescript-eslint/no-unused-vars': 'off',
  },
});
