/**
 * The hub thread's priority (hub/src/priority.ts): the boost goes to the calling thread only;
 * threads that existed keep their nice (the engine sets some itself), threads created later that
 * inherited the boost are put back. Then for real, in a child process on this machine.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prioritizeMainThread, type PriorityDeps } from '../src/priority.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A process's threads and their nice values, with the calling thread as tid 0 / process.pid. */
function fakeThreads(initial: Record<number, number>): PriorityDeps & { nice: Map<number, number> } {
  const nice = new Map<number, number>(Object.entries(initial).map(([k, v]) => [Number(k), v]));
  nice.set(process.pid, nice.get(process.pid) ?? 0);
  return {
    nice,
    scanMs: 1000,
    threads: () => [...nice.keys()],
    getPriority: (tid) => nice.get(tid === 0 ? process.pid : tid) ?? 0,
    setPriority: (tid, v) => void nice.set(tid === 0 ? process.pid : tid, v),
  };
}

describe('prioritizeMainThread', () => {
  it('boosts the calling thread, leaves existing threads as they are and puts back a new thread that inherited the boost', () => {
    vi.useFakeTimers();
    const t = fakeThreads({ 101: 0, 102: -20, 103: 5 });
    const r = prioritizeMainThread(-10, t, 'linux');
    expect(r).toMatchObject({ applied: true, nice: -10 });
    expect(t.nice.get(process.pid)).toBe(-10);
    expect([t.nice.get(101), t.nice.get(102), t.nice.get(103)]).toEqual([0, -20, 5]);
    // Created by the hub thread after the boost: inherits -10. Created elsewhere at 3: left.
    t.nice.set(201, -10);
    t.nice.set(202, 3);
    vi.advanceTimersByTime(1000);
    expect([t.nice.get(201), t.nice.get(202), t.nice.get(102)]).toEqual([0, 3, -20]);
    if (r.applied) r.stop();
    t.nice.set(203, -10);
    vi.advanceTimersByTime(5000);
    expect(t.nice.get(203)).toBe(-10);
  });

  it('reports why when the boost is not allowed, and does nothing for 0 or another platform', () => {
    const denied: PriorityDeps = {
      threads: () => [process.pid],
      getPriority: () => 0,
      setPriority: () => {
        throw Object.assign(new Error('A system error occurred: uv_os_setpriority returned EACCES (permission denied)'), { code: 'ERR_SYSTEM_ERROR' });
      },
    };
    const r = prioritizeMainThread(-10, denied, 'linux');
    expect(r.applied).toBe(false);
    expect(!r.applied && r.reason).toMatch(/CAP_SYS_NICE or LimitNICE=-10/);
    expect(prioritizeMainThread(0, denied, 'linux')).toEqual({ applied: false, reason: 'JG_MAIN_THREAD_NICE is 0' });
    expect(prioritizeMainThread(-10, denied, 'darwin').applied).toBe(false);
  });

  it('on this machine: only the hub thread carries the boost, also after it started a worker thread', () => {
    const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/priority.js');
    const script = `
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const niceOf = (tid) => Number(fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
      const before = new Worker('setInterval(() => {}, 1000)', { eval: true });
      setTimeout(async () => {
        const { prioritizeMainThread } = await import(${JSON.stringify(dist)});
        const r = prioritizeMainThread(-5, undefined);
        if (!r.applied) { console.log(JSON.stringify({ applied: false, reason: r.reason })); process.exit(0); }
        const after = new Worker('setInterval(() => {}, 1000)', { eval: true });
        setTimeout(() => {
          const threads = fs.readdirSync('/proc/self/task').map(Number);
          const boosted = threads.filter((t) => niceOf(t) === -5);
          console.log(JSON.stringify({ applied: true, main: niceOf(process.pid), boosted, pid: process.pid }));
          process.exit(0);
        }, 5600);
      }, 300);`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 }).trim().split('\n').at(-1)!);
    if (!out.applied) {
      // Not root and no LimitNICE here: the hub would log the reason and run as before.
      expect(out.reason).toMatch(/CAP_SYS_NICE/);
      return;
    }
    expect(out.main).toBe(-5);
    expect(out.boosted).toEqual([out.pid]);
  }, 30_000);
});
