/**
 * The last-resort process handlers (src/process-handlers.ts, installed by server.ts): an
 * unhandled rejection is logged as process.unhandled_rejection and the process keeps running; an
 * uncaught exception is logged as process.uncaught_exception and the process exits non-zero.
 *
 * Each case runs in a child Node process, so the events and the exit code are real and the test
 * runner's own handlers are not involved. The child cannot use vitest's TypeScript transform; it
 * loads the module's source (and errors.ts, which it imports) compiled with TypeScript's transpileModule.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { removeDir, tmpDir } from './helpers.js';

function runChild(script: string): { status: number | null; lines: Record<string, unknown>[]; stdout: string } {
  const dir = tmpDir('proc');
  // The module and the one it imports (errors.ts), as .mjs files beside the script.
  for (const name of ['process-handlers', 'errors']) {
    const src = fs.readFileSync(new URL(`../src/${name}.ts`, import.meta.url), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    fs.writeFileSync(path.join(dir, `${name}.mjs`), js.replaceAll("'./errors.js'", "'./errors.mjs'"));
  }
  fs.writeFileSync(path.join(dir, 'main.mjs'), script);
  const r = spawnSync(process.execPath, [path.join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 20_000 });
  removeDir(dir);
  const lines = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, lines, stdout: r.stdout };
}

describe('process-level handlers', () => {
  it('logs an unhandled rejection and keeps running', () => {
    const r = runChild(`
      import { installProcessHandlers } from './process-handlers.mjs';
      installProcessHandlers(() => undefined);
      Promise.reject(new Error('nobody awaited this'));
      Promise.reject({ toString: 1 });
      setTimeout(() => { console.log(JSON.stringify({ event: 'still.running' })); process.exit(0); }, 200);
    `);
    expect(r.status).toBe(0);
    expect(r.lines).toContainEqual(expect.objectContaining({ level: 'error', event: 'process.unhandled_rejection', err: expect.objectContaining({ type: 'Error', message: 'nobody awaited this' }) }));
    expect(r.lines).toContainEqual(expect.objectContaining({ level: 'error', event: 'process.unhandled_rejection', err: { message: '[unprintable value]' } }));
    expect(r.lines).toContainEqual({ event: 'still.running' });
  });

  it('logs an uncaught exception through the hub logger and exits non-zero', () => {
    const r = runChild(`
      import { installProcessHandlers } from './process-handlers.mjs';
      // A logger shaped like the hub's (pino): one JSON line per call.
      const log = { error: (o) => console.log(JSON.stringify({ level: 'error', ...o })), fatal: (o) => console.log(JSON.stringify({ level: 'fatal', ...o })) };
      installProcessHandlers(() => log);
      setTimeout(() => { throw new TypeError('state is broken'); }, 10);
      setTimeout(() => { console.log(JSON.stringify({ event: 'still.running' })); process.exit(0); }, 500);
    `);
    expect(r.status).toBe(1);
    expect(r.lines).toContainEqual(expect.objectContaining({ level: 'fatal', event: 'process.uncaught_exception', origin: 'uncaughtException', err: expect.objectContaining({ type: 'TypeError', message: 'state is broken' }) }));
    expect(r.lines).not.toContainEqual({ event: 'still.running' });
  });
});
