/**
 * String.prototype in V8's fast mode (src/fast-prototypes.ts): checked with V8's own
 * `%HasFastProperties` in child processes started with --allow-natives-syntax, against the built
 * hub (tests run after the build).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const HUB_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Runs an ES module text with natives syntax in the hub's directory; returns its last stdout line as JSON. */
function run(source: string): Record<string, boolean> {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', source], { cwd: HUB_DIR, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr, r.stderr).not.toMatch(/Error/);
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, boolean>;
}

const FAST = `const fast = (p) => eval('%HasFastProperties(p)');
const report = () => ({ String: fast(String.prototype), Number: fast(Number.prototype), Boolean: fast(Boolean.prototype) });`;

describe('built-in prototypes stay fast', () => {
  it('a class extending String turns String.prototype into a dictionary, and the module makes it fast again', () => {
    const r = run(`${FAST}
class Verbatim extends String {}
class Counted extends Number {}
const before = report();
await import(${JSON.stringify(DIST + 'fast-prototypes.js')});
const after = report();
console.log(JSON.stringify({ beforeString: before.String, beforeNumber: before.Number, ...after }));`);
    // The premise: without the module these two stay dictionaries for the life of the process.
    expect(r.beforeString).toBe(false);
    expect(r.beforeNumber).toBe(false);
    expect(r).toMatchObject({ String: true, Number: true, Boolean: true });
  });

  it('once made fast they stay fast when a later module extends String (ioredis after the module)', () => {
    const r = run(`${FAST}
await import(${JSON.stringify(DIST + 'fast-prototypes.js')});
class Verbatim extends String {}
await import('ioredis');
console.log(JSON.stringify(report()));`);
    expect(r).toEqual({ String: true, Number: true, Boolean: true });
  });

  it("the hub's whole module graph (app.js, ioredis, BullMQ, socket.io) leaves them fast", () => {
    const r = run(`${FAST}
await import(${JSON.stringify(DIST + 'app.js')});
console.log(JSON.stringify(report()));`);
    expect(r).toEqual({ String: true, Number: true, Boolean: true });
  });

  it('in a worker thread too (built-ins belong to one isolate)', () => {
    const r = run(`${FAST}
import { Worker } from 'node:worker_threads';
const code = \`(async () => {
  const fast = (p) => eval('%HasFastProperties(p)');
  class Verbatim extends String {}
  const before = fast(String.prototype);
  await import(\${JSON.stringify(${JSON.stringify(DIST + 'fast-prototypes.js')})});
  (await import('node:worker_threads')).parentPort.postMessage({ before, after: fast(String.prototype) });
})();\`;
const w = new Worker(code, { eval: true });
const m = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
await w.terminate();
console.log(JSON.stringify(m));`);
    expect(r).toEqual({ before: false, after: true });
  });

  it('every entry of the hub imports the module before anything else', () => {
    for (const entry of ['server.js', 'app.js', 'cli.js', 'jobs/eval-thread.js']) {
      const text = fs.readFileSync(DIST + entry, 'utf8');
      const first = /^import\s[^;]*;/m.exec(text)?.[0];
      expect(first, entry).toMatch(/^import '\.{1,2}\/fast-prototypes\.js';$/);
    }
  });
});
