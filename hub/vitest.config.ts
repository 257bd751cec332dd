import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // chDB binds one data directory per process: one test file per forked process. Three files
    // at a time on two cores: most of a file's time is a hub starting (chDB loading, migrations),
    // modules loading, or waiting on timers — with two at a time the suite used 1.56 of the two
    // cores and took 361 s, with three 280 s (the same machine, one run each). Every hub has its
    // own directory, port and Redis key prefix, so files do not see each other.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 3,
  },
});
