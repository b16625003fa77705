// ESLint flat config for the TypeScript layer (lib, test, bench, scripts): the
// recommended JS and typescript-eslint rules; formatting is prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // docs/api: TypeDoc's generated reference (npm run docs), not source
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'native/**', 'cuda/**', 'data/**', 'docs/api/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_`-prefixed parameters and bindings are deliberately unused (interface shapes, destructuring)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // an assertion is how a checked index of a typed array reads in hot loops
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // the test feeds exact 2^62-scale integers to the config parser on purpose
    files: ['test/native/hardening.test.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
