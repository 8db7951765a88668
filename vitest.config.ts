import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    // Detection and inference are CPU-heavy; two forks match this machine and keep memory sane.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    setupFiles: ['tests/support/collect-garbage.ts'],
    globalSetup: ['tests/support/build-server.ts'],
    hookTimeout: 120_000,
  },
});
