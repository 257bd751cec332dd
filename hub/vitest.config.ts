import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // chDB binds one data directory per process: one test file per forked process. Two files
    // at a time: most of a file's time is a hub starting (chDB loading, migrations) or waiting
    // on timers, so two of them share two cores well; every hub has its own directory, port and
    // Redis key prefix, so files do not see each other.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
