import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Two projects:
 * - unit: pure chart helpers and the rune state classes, compiled by the Svelte plugin with the
 *   browser build of Svelte so runes behave as on the wall;
 * - e2e: a real hub + collector + Chromium (test/*.e2e.test.ts), plain Node resolution.
 */
export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
        resolve: {
          conditions: ['browser'],
          alias: { $lib: path.join(here, 'src/lib') },
        },
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.e2e.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // Two stacks at a time: each file's hub, collector and Chromium spend most of their
          // time waiting (simulated counters, reconnects, pages settling), not computing.
          fileParallelism: true,
          server: { deps: { external: [/\/hub\/dist\//, /\/collector\/dist\//, /\/rules\/dist\//] } },
        },
      },
    ],
  },
});
