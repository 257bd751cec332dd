/**
 * The hub thread ahead of the hub's other threads.
 *
 * Design note. The hub thread answers everything that waits on a socket: hold decisions, batch
 * acknowledgements, the wall's pushes. On a small host it shares the cores with the engine's
 * insert and merge threads, the evaluation threads, libuv's pool, Redis and whatever else runs
 * there; a decision that arrives while the thread has lost its core waits for the scheduler.
 * Measured on two cores at 1,000 records/s with 500 decisions/s (docs/benchmarks.md): with the
 * hub thread at nice -10 the decisions' p99 fell from 13.2–13.8 to 9.2–10.8 ms, the wall's
 * latency and the throughput unchanged (the other threads do the same work, a little later).
 * Raising Redis's priority instead made it worse.
 *
 * Linux keeps a nice value per thread: setpriority(PRIO_PROCESS, 0) changes the calling thread
 * only, but a thread starts with its creator's value, so threads the hub thread creates later
 * (libuv's pool grows on first use, the engine starts threads on demand) would inherit the
 * boost. A periodic scan of /proc/self/task puts each thread created since back to the hub
 * thread's former nice; threads that existed before keep theirs (the engine sets some itself).
 *
 * A negative nice needs CAP_SYS_NICE or RLIMIT_NICE (the systemd unit sets `LimitNICE=-10`).
 * Without either the hub logs `hub.priority_unavailable` (info: nothing is wrong, the decisions'
 * tail is only longer on a busy host) and runs as before.
 */
import fs from 'node:fs';
import os from 'node:os';

/** How often other threads are checked for an inherited boost. */
const SCAN_MS = 5_000;

export interface PriorityDeps {
  setPriority: (tid: number, nice: number) => void;
  getPriority: (tid: number) => number;
  /** Thread ids of this process. */
  threads: () => number[];
  /** How often to look for new threads. @defaultValue 5000 */
  scanMs?: number;
}

const linuxDeps: PriorityDeps = {
  setPriority: (tid, nice) => os.setPriority(tid, nice),
  getPriority: (tid) => os.getPriority(tid),
  threads: () => fs.readdirSync('/proc/self/task').map(Number).filter(Number.isInteger),
};

export type PriorityResult = { applied: true; nice: number; stop: () => void } | { applied: false; reason: string };

/**
 * Sets the calling (hub) thread's nice to `nice` (< 0) and keeps the process's other threads at
 * the nice the hub thread had before. `nice` 0 or a platform other than Linux: nothing to do.
 */
export function prioritizeMainThread(nice: number, deps: PriorityDeps = linuxDeps, platform = process.platform): PriorityResult {
  if (nice === 0) return { applied: false, reason: 'JG_MAIN_THREAD_NICE is 0' };
  if (platform !== 'linux') return { applied: false, reason: `per-thread priority is not set on ${platform}` };
  const main = process.pid;
  let base: number;
  try {
    base = deps.getPriority(0);
    deps.setPriority(0, nice);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    return { applied: false, reason: `${code || 'error'}: ${e instanceof Error ? e.message : String(e)} (needs CAP_SYS_NICE or LimitNICE=${nice})` };
  }
  // Threads that exist now keep whatever they have (the engine sets some itself). A thread seen
  // for the first time later was created since; if it carries the boost, it inherited it.
  let known = new Set<number>(safeThreads(deps));
  const scan = (): void => {
    const alive = safeThreads(deps);
    for (const tid of alive) {
      if (tid === main || known.has(tid)) continue;
      try {
        if (deps.getPriority(tid) === nice) deps.setPriority(tid, base);
      } catch {
        // The thread ended between the listing and the call.
      }
    }
    // Only live threads are remembered: an id the kernel reuses is a new thread.
    known = new Set(alive);
  };
  const timer = setInterval(scan, deps.scanMs ?? SCAN_MS);
  timer.unref();
  return { applied: true, nice, stop: () => clearInterval(timer) };
}

function safeThreads(deps: PriorityDeps): number[] {
  try {
    return deps.threads();
  } catch {
    return [];
  }
}
