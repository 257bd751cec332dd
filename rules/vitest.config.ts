import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // test/simulator-compat.test.ts loads the collector's simulator *source* (no package dependency on
  // the collector). Its `@jianguan/rules` import must be this package's source — the same module
  // instances the tests use — not a possibly stale dist/.
  resolve: { alias: { '@jianguan/rules': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Two files at a time: the default (cores − 1) is one on a two-core machine, and these pure,
    // CPU-bound files share two cores well (38 s → 28 s for the package here).
    maxWorkers: 2,
  },
});
