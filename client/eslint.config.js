import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-output'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['tests/**/*.mjs'],
    languageOptions: {
      globals: { FormData: 'readonly', Blob: 'readonly', localStorage: 'readonly', window: 'readonly', document: 'readonly', location: 'readonly', history: 'readonly', process: 'readonly', console: 'readonly', setTimeout: 'readonly', fetch: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
);
