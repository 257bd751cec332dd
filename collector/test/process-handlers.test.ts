/**
 * The collector's last-resort process handlers (src/process-handlers.ts, installed by main.ts):
 * an unhandled rejection is logged as process.unhandled_rejection and the collector keeps running
 * (even when the rejection reason cannot be turned into a string); an uncaught exception is logged
 * as process.uncaught_exception and the process exits non-zero for its supervisor to restart.
 *
 * Each case runs in a child Node process, so the events and the exit code are real and the test
 * runner's own handlers are not involved; the child loads the module's source (and errors.ts, which
 * it imports) compiled with TypeScript's transpileModule.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { removeDir } from './helpers.js';

function runChild(script: string): { status: number | null; lines: Record<string, unknown>[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-collector-proc-'));
  try {
    // The module and the one it imports (errors.ts), as .mjs files beside the script.
    for (const name of ['process-handlers', 'errors']) {
      const src = fs.readFileSync(new URL(`../src/${name}.ts`, import.meta.url), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      fs.writeFileSync(path.join(dir, `${name}.mjs`), js.replaceAll("'./errors.js'", "'./errors.mjs'"));
    }
    fs.writeFileSync(path.join(dir, 'main.mjs'), script);
    const r = spawnSync(process.execPath, [path.join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 20_000 });
    const lines = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { status: r.status, lines };
  } finally {
    removeDir(dir);
  }
}

// A logger shaped like main.ts's: one JSON line per call on stdout.
const LOG = `const log = (level, fields) => process.stdout.write(JSON.stringify({ level, ...fields }) + '\\n');`;

describe('collector process-level handlers', () => {
  it('logs unhandled rejections, including one whose reason cannot be printed, and keeps running', () => {
    const r = runChild(`
      import { installProcessHandlers } from './process-handlers.mjs';
      ${LOG}
      installProcessHandlers(log);
      Promise.reject(new Error('nobody awaited this'));
      Promise.reject({ toString: 1 });
      setTimeout(() => { console.log(JSON.stringify({ event: 'still.running' })); process.exit(0); }, 200);
    `);
    expect(r.status).toBe(0);
    const rejections = r.lines.filter((l) => l.event === 'process.unhandled_rejection');
    expect(rejections).toEqual([
      expect.objectContaining({ level: 'error', err: expect.objectContaining({ type: 'Error', message: 'nobody awaited this' }) }),
      expect.objectContaining({ level: 'error', err: { message: '[unprintable value]' } }),
    ]);
    expect(r.lines).toContainEqual({ event: 'still.running' });
  });

  it('logs an uncaught exception and exits non-zero, even when the logger itself throws', () => {
    const r = runChild(`
      import { installProcessHandlers } from './process-handlers.mjs';
      installProcessHandlers(() => { throw new Error('log sink gone'); });
      setTimeout(() => { throw new TypeError('state is broken'); }, 10);
      setTimeout(() => { console.log(JSON.stringify({ event: 'still.running' })); process.exit(0); }, 500);
    `);
    expect(r.status).toBe(1);
    // The logger failed, so the line went to stderr instead.
    expect(r.lines).toContainEqual(expect.objectContaining({ level: 'fatal', event: 'process.uncaught_exception', origin: 'uncaughtException', err: expect.objectContaining({ type: 'TypeError', message: 'state is broken' }) }));
    expect(r.lines).not.toContainEqual({ event: 'still.running' });
  });
});
