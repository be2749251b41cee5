import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.stack/**', '.build/**', 'test/bun/**'],
    // Integration tests share one real stack; files run one at a time on 2 cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000,
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-logs.ts'],
  },
})
