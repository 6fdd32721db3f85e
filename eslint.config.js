// ESLint flat config: the recommended JavaScript and TypeScript rules (syntax only, no type
// information, so a run takes seconds), Node globals, and eslint-config-prettier last, so that
// layout is prettier's business alone (`npm run format:check`).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import { defineConfig, globalIgnores } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', '.cache/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: globals.node
    },
    rules: {
      // `const { token: _token, ...rest } = x` drops a property on purpose; `_name` marks an unused one.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }]
    }
  },
  {
    // Tests and test tooling read JSON documents whose shape the assertions check.
    files: ['__tests__/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  prettier
)
