// ESLint for the whole repository (`npm run lint`; `npm run format` fixes what can be fixed).
// TypeScript is linted with type information from tsconfig.json, which includes src/, test/, bench/,
// scripts/ and prisma.config.ts. Formatting is Prettier's job (.prettierrc), so eslint-config-prettier
// switches off every stylistic rule that would fight it.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import unusedImports from 'eslint-plugin-unused-imports';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', 'dist/', '.data/', 'coverage/', 'src/generated/', 'bench/results/', 'tools/']),

  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },

  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'unused-imports': unusedImports },
    rules: {
      // The rules this codebase is held to, on top of the recommended set.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Inline `type` (import { type X, y }), as the codebase already writes it. The rule itself skips files
      // with decorators: with emitDecoratorMetadata a "type" import may be needed at run time.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // unused-imports reports what no-unused-vars does, and its fixer also removes unused imports.
      '@typescript-eslint/no-unused-vars': 'off',
      'unused-imports/no-unused-imports': 'error',
      'unused-imports/no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Turned off from recommended-type-checked: Apollo plugin hooks, Nest interfaces (CanActivate,
      // OnModuleInit) and fakes of async ports are async by contract with nothing to await.
      '@typescript-eslint/require-await': 'off',
    },
  },

  {
    // Tests read GraphQL/HTTP response bodies and Kubernetes objects as `any` and build fixtures with
    // `as never`; the unsafe-* rules would only add casts there. Production code keeps them: the few
    // places where Nest hands us `any` (GqlExecutionContext.getInfo, discovered providers) get a type.
    files: ['**/*.spec.ts', 'test/**/*.ts', '**/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  prettier,
  // After eslint-config-prettier, which switches curly off; with "all" it cannot conflict with Prettier.
  { rules: { curly: ['error', 'all'] } },
);
