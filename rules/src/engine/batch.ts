/**
 * Batched state calls for RuleEngine.evaluateBatch().
 *
 * Design note
 * -----------
 * Evaluating a batch record by record costs one store round trip per stateful rule and record
 * (the hub: one Redis script call each). But no rule decides which state call to make from the
 * answer of another — a rule's calls depend only on its record (sequence rules issue record()
 * and latest() together; fingerprint rules claim all of a record's prints in one call). So the
 * engine can run every rule of every record first, against stand-in states that only write the
 * calls down, and then send them all at once:
 *
 *   1. context(ctx) wraps each state of ctx that has a `batcher` in a recorder: every call
 *      appends a StateOp to that batcher's queue and returns a Later of its answer (engine/later.ts:
 *      promise-like, settled in place — no promise per call). States without a batcher (the
 *      memory states) are left as they are and answer on the spot.
 *   2. flush() hands each queue to its batcher's run() — one call per batcher, operations in the
 *      order they were made — and settles each answer in order once it comes, or all with the
 *      error; the rules' continuations run then, in the same pass.
 *
 * Because the batcher applies the operations in order, each answer is what the same call would
 * have answered made on its own at that point: record i's window count includes records < i of
 * the batch, exactly as with evaluate() per record.
 */
import type {
  EvaluationContext,
  FingerprintMatch,
  FingerprintState,
  IntervalConflict,
  IntervalState,
  SequenceMatch,
  SequenceState,
  StateBatcher,
  StateOp,
  WindowState,
} from './types.js';
import { Later } from './later.js';

interface Queue {
  ops: StateOp[];
  waiters: Later<unknown>[];
}

export interface BatchRecorder {
  /** ctx with each batchable state replaced by its recorder (the same object for the same ctx). */
  context(ctx: EvaluationContext): EvaluationContext;
  /** Sends every queued call to its batcher. */
  flush(): void;
}

export function createBatchRecorder(): BatchRecorder {
  const queues = new Map<StateBatcher, Queue>();
  const contexts = new Map<EvaluationContext, EvaluationContext>();
  const wrapped = new Map<object, object>();

  const enqueue = <T>(batcher: StateBatcher, op: StateOp): Later<T> => {
    let q = queues.get(batcher);
    if (!q) queues.set(batcher, (q = { ops: [], waiters: [] }));
    q.ops.push(op);
    const answer = new Later<T>();
    q.waiters.push(answer as Later<unknown>);
    return answer;
  };

  // One recorder per state object, so records sharing a state share its wrapper.
  function wrap<S extends object>(state: S | undefined, make: (s: S, b: StateBatcher) => S): S | undefined {
    const b = (state as { batcher?: StateBatcher } | undefined)?.batcher;
    if (!state || !b) return state;
    let w = wrapped.get(state) as S | undefined;
    if (!w) wrapped.set(state, (w = make(state, b)));
    return w;
  }

  const windowOf = (_: WindowState, b: StateBatcher): WindowState => ({
    observe: (key, member, at, windowMs) => enqueue<number>(b, { op: 'observe', key, member, at, windowMs }),
  });
  const intervalsOf = (_: IntervalState, b: StateBatcher): IntervalState => ({
    overlap: (key, id, member, start, end, retainMs) => enqueue<IntervalConflict>(b, { op: 'overlap', key, id, member, start, end, retainMs }),
  });
  const fingerprintsOf = (_: FingerprintState, b: StateBatcher): FingerprintState => ({
    claimMany: (key, fingerprints, owner, id, at, windowMs, retainMs) =>
      enqueue<FingerprintMatch[]>(b, { op: 'claim', key, fingerprints, owner, id, at, windowMs, retainMs }),
    claim: (key, fingerprint, owner, id, at, windowMs, retainMs) =>
      enqueue<FingerprintMatch[]>(b, { op: 'claim', key, fingerprints: [fingerprint], owner, id, at, windowMs, retainMs }).then((a) => a[0]!),
  });
  const sequencesOf = (_: SequenceState, b: StateBatcher): SequenceState => ({
    record: (key, event, id, at, retainMs) => enqueue<void>(b, { op: 'record', key, event, id, at, retainMs }),
    latest: (key, event, id, at, windowMs, retainMs) => enqueue<SequenceMatch | null>(b, { op: 'latest', key, event, id, at, windowMs, retainMs }),
  });

  return {
    context(ctx) {
      let c = contexts.get(ctx);
      if (c) return c;
      const state = wrap(ctx.state, windowOf)!;
      const intervals = wrap(ctx.intervals, intervalsOf);
      const fingerprints = wrap(ctx.fingerprints, fingerprintsOf);
      const sequences = wrap(ctx.sequences, sequencesOf);
      c =
        state === ctx.state && intervals === ctx.intervals && fingerprints === ctx.fingerprints && sequences === ctx.sequences
          ? ctx
          : {
              ...ctx,
              state,
              ...(intervals ? { intervals } : {}),
              ...(fingerprints ? { fingerprints } : {}),
              ...(sequences ? { sequences } : {}),
            };
      contexts.set(ctx, c);
      return c;
    },
    flush() {
      for (const [batcher, q] of queues) {
        const settle = (answers: unknown[]) => {
          if (answers.length !== q.ops.length) {
            const e = new Error(`state batch answered ${answers.length} of ${q.ops.length} operations`);
            for (const w of q.waiters) w.reject(e);
            return;
          }
          for (let i = 0; i < q.waiters.length; i++) q.waiters[i]!.resolve(answers[i]);
        };
        const fail = (e: unknown) => {
          for (const w of q.waiters) w.reject(e);
        };
        let run: Promise<unknown[]>;
        try {
          run = batcher.run(q.ops);
        } catch (e) {
          fail(e);
          continue;
        }
        run.then(settle, fail);
      }
      queues.clear();
    },
  };
}
