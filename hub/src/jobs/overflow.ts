/**
 * Where evaluate jobs run: the hub thread first, the evaluation threads for the overflow
 * (JG_EVALUATION_MODE=overflow, the default when there are evaluation threads).
 *
 * Design note
 * -----------
 * A job evaluated in an evaluation thread costs more CPU than the same job in the hub thread:
 * its records cross to the thread by structured clone, every batch's rule-state calls cross back
 * to the hub thread (which holds the state, jobs/local-state.ts) and their answers return, the
 * rows cross as text to the hub thread, which owns the store. Measured at saturation, the whole
 * hub: 0.122 ms of CPU per record with every job in the hub thread against 0.142 with every job
 * in a thread (docs/benchmarks.md, "Evaluation in the hub thread first"). A thread is worth that
 * only when the hub thread is the limit and a core is idle for the thread to run on: with both
 * cores busy (the engine's threads, Redis, other processes), moving jobs to a thread adds work
 * and takes capacity away.
 *
 * So the hub thread's BullMQ worker always takes jobs, and the evaluation threads' workers stay
 * paused until the hub thread is busy (its event-loop utilisation at or above `busyElu` for
 * `busySamples` samples in a row) while the machine has idle CPU for them (`minIdleCores`,
 * from the kernel's per-core idle time). They are paused again once the hub thread could take
 * their work back — its own utilisation plus theirs below `calmElu`, their utilisation counted
 * whole since the same jobs cost the hub thread no more — or once the machine has no idle CPU left
 * (below `noIdleCores`): then every process is waiting for a core, and the threads' crossings only
 * take from what the hub can store (measured at saturation on two cores: the threads engaged cost
 * 6 % more CPU per record for no more throughput). Either for `calmSamples` samples in a row.
 *
 * Pausing a thread's worker only stops it fetching: the jobs it holds finish there, nothing waits
 * for a resume, and BullMQ's guarantees (one worker per job at a time, re-delivery of a stalled
 * job) are the same for either worker, both on this hub's own queue (jobs/queue.ts).
 *
 * `overflowStep` is the whole policy, pure; `startOverflowControl` samples and applies it.
 */
import os from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface OverflowOptions {
  /** How often the load is sampled. */
  intervalMs: number;
  /** The hub thread counts as busy at this event-loop utilisation (0–1) or above. */
  busyElu: number;
  /** Samples in a row the hub thread must be busy before the threads are resumed. */
  busySamples: number;
  /** Idle CPU (in cores) the machine must have for a resumed thread to run on. */
  minIdleCores: number;
  /** The threads are paused once the hub thread's utilisation plus theirs stays below this, */
  calmElu: number;
  /** … or once the machine's idle CPU (in cores) stays below this. */
  noIdleCores: number;
  /** Samples in a row that must be calm before the threads are paused. */
  calmSamples: number;
}

// A hub thread that saturates a two-core machine reads an ELU of 0.85–0.95 (it also waits for
// the CPU) with 0.1–0.3 of a core idle around it: the thresholds ask for more than that — a
// saturated hub thread beside half a core idle for a second — before the threads are worth it.
export const OVERFLOW_DEFAULTS: Readonly<OverflowOptions> = {
  intervalMs: 250,
  busyElu: 0.9,
  busySamples: 4,
  minIdleCores: 0.5,
  calmElu: 0.7,
  noIdleCores: 0.25,
  calmSamples: 4,
};

/** One sample: utilisations over the last interval (0–1 per thread), idle CPU in cores. */
export interface LoadSample {
  hubElu: number;
  threadsElu: number;
  idleCores: number;
}

export interface OverflowState {
  /** Are the evaluation threads taking jobs? */
  active: boolean;
  /** Consecutive samples pointing the other way. */
  streak: number;
}

/** The policy: the state after one more sample. */
export function overflowStep(state: OverflowState, s: LoadSample, o: OverflowOptions = OVERFLOW_DEFAULTS): OverflowState {
  if (!state.active) {
    const busy = s.hubElu >= o.busyElu && s.idleCores >= o.minIdleCores;
    if (!busy) return { active: false, streak: 0 };
    return state.streak + 1 >= o.busySamples ? { active: true, streak: 0 } : { active: false, streak: state.streak + 1 };
  }
  const calm = s.hubElu + s.threadsElu < o.calmElu || s.idleCores < o.noIdleCores;
  if (!calm) return { active: true, streak: 0 };
  return state.streak + 1 >= o.calmSamples ? { active: false, streak: 0 } : { active: true, streak: state.streak + 1 };
}

/** What the control needs of the evaluation threads (jobs/eval-threads.ts). */
export interface OverflowThreads {
  setActive(active: boolean): void;
  /** The threads' summed event-loop utilisation since the previous call (0–1 each). */
  utilisation(): number;
}

export interface OverflowStatus {
  active: boolean;
  /** Times the threads were resumed since the start. */
  resumed: number;
  /** The last sample. */
  last: LoadSample | undefined;
}

/** Where this hub evaluates (/healthz `evaluation`). */
export interface EvaluationStatus {
  /** `none`: JG_WORKER=0; `hub`: no evaluation threads; `threads`: the threads always; `overflow`: the hub thread first. */
  mode: 'none' | 'hub' | 'threads' | 'overflow';
  threads: number;
  /** Are the threads taking jobs now? */
  threadsTaking: boolean;
  /** Batches evaluated and stored by the hub thread / by the threads since the start. */
  jobsHub: number;
  jobsThreads: number;
  /** Times the threads were resumed for a busy hub thread since the start. */
  overflowResumed: number;
}

export interface OverflowControl {
  status(): OverflowStatus;
  stop(): void;
}

/** Idle CPU of the machine, in cores, since the previous call (0 on the first). */
function idleCoresSampler(): () => number {
  const idleMs = () => os.cpus().reduce((sum, c) => sum + c.times.idle, 0);
  let prevIdle = idleMs();
  let prevAt = performance.now();
  return () => {
    const idle = idleMs();
    const at = performance.now();
    const cores = at > prevAt ? (idle - prevIdle) / (at - prevAt) : 0;
    prevIdle = idle;
    prevAt = at;
    return Math.max(0, cores);
  };
}

export function startOverflowControl(deps: {
  threads: OverflowThreads;
  /** Called when the threads are resumed or paused, with the sample that decided it. */
  onChange?: (active: boolean, sample: LoadSample) => void;
  options?: Partial<OverflowOptions>;
  /** Tests: where samples come from (default: this thread's ELU, the threads', the kernel's idle time). */
  sample?: () => LoadSample;
}): OverflowControl {
  const o: OverflowOptions = { ...OVERFLOW_DEFAULTS, ...deps.options };
  let sample = deps.sample;
  if (!sample) {
    let prev: EventLoopUtilization = performance.eventLoopUtilization();
    const idle = idleCoresSampler();
    sample = () => {
      const now = performance.eventLoopUtilization();
      const hubElu = performance.eventLoopUtilization(now, prev).utilization;
      prev = now;
      return { hubElu, threadsElu: deps.threads.utilisation(), idleCores: idle() };
    };
  }
  const take = sample;
  let state: OverflowState = { active: false, streak: 0 };
  let resumed = 0;
  let last: LoadSample | undefined;
  deps.threads.setActive(false);
  const timer = setInterval(() => {
    last = take();
    const next = overflowStep(state, last, o);
    if (next.active !== state.active) {
      if (next.active) resumed++;
      deps.threads.setActive(next.active);
      deps.onChange?.(next.active, last);
    }
    state = next;
  }, o.intervalMs);
  timer.unref();
  return {
    status: () => ({ active: state.active, resumed, last }),
    stop: () => clearInterval(timer),
  };
}
