import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // chDB binds one data directory per process: the end-to-end file gets its own fork. Two
    // files at a time (each hub and outbox in its own directory, each hub with its own Redis
    // key prefix).
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
