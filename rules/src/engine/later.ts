/**
 * Answers of batched state calls that settle in place (engine/batch.ts).
 *
 * Design note
 * -----------
 * RuleEngine.evaluateBatch runs every rule of every record against recorders that only write the
 * state calls down; each call's answer arrives later, when the batch's one run() answers. With a
 * promise per call, a `then` per stateful rule and a Promise.all per record, a batch of 200
 * records made several thousand promises, reactions and microtasks — measured as a tenth of all
 * the bytes the hub thread allocated at saturation, for answers that all arrive at one moment.
 *
 * A `Later` is a promise-like value without the microtask queue: `then` returns another Later,
 * and when a Later settles it runs its reactions at once, in the order they were attached. So
 * when the batch's answers come, every rule's continuation and every record's join runs in one
 * synchronous pass, and evaluateBatch resolves its single promise. Rejections travel like a
 * promise's: a reaction that throws rejects the Later it returned; `allOf` rejects with the first
 * rejection. Continuations here are pure (a rule's `judge`), so running them in place instead of
 * in a later microtask changes no answer.
 *
 * A Later is a thenable, so `await`, `Promise.resolve` and `Promise.all` accept it (each then
 * costs a promise again); `allOf` joins Laters and values without one, and falls back to
 * Promise.all when a real promise is among them (per-record evaluation over the Redis states).
 */

import { isThenable } from './compile-parts.js';

type Settled = 1 | 2;

export class Later<T> implements PromiseLike<T> {
  /** 0 pending, 1 fulfilled, 2 rejected. */
  private state: 0 | Settled = 0;
  private value: unknown;
  /** Most Laters get one reaction: it is kept as it is, an array only from the second. */
  private reaction: ((state: Settled, value: unknown) => void) | undefined;
  private more: ((state: Settled, value: unknown) => void)[] | undefined;

  resolve(value: T | PromiseLike<T>): void {
    if (this.state !== 0) return;
    if (value instanceof Later) {
      if (value === this) {
        this.settle(2, new TypeError('a Later cannot resolve to itself'));
        return;
      }
      value.onSettled((s, v) => this.settle(s, v));
      return;
    }
    if (isThenable(value)) {
      value.then(
        (v) => this.settle(1, v),
        (e: unknown) => this.settle(2, e),
      );
      return;
    }
    this.settle(1, value);
  }

  reject(reason: unknown): void {
    this.settle(2, reason);
  }

  /** Calls `f` once this settles: now if it has, else when it does, after earlier reactions. */
  onSettled(f: (state: Settled, value: unknown) => void): void {
    if (this.state !== 0) f(this.state, this.value);
    else if (!this.reaction) this.reaction = f;
    else (this.more ??= []).push(f);
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Later<R1 | R2> {
    const next = new Later<R1 | R2>();
    this.onSettled((s, v) => {
      const handler = s === 1 ? onFulfilled : onRejected;
      if (!handler) {
        if (s === 1) next.resolve(v as R1);
        else next.reject(v);
        return;
      }
      let r: R1 | R2 | PromiseLike<R1 | R2>;
      try {
        r = handler(v as T);
      } catch (e) {
        next.reject(e);
        return;
      }
      next.resolve(r);
    });
    return next;
  }

  private settle(s: Settled, v: unknown): void {
    if (this.state !== 0) return;
    this.state = s;
    this.value = v;
    const first = this.reaction;
    const more = this.more;
    this.reaction = undefined;
    this.more = undefined;
    if (first) first(s, v);
    if (more) for (const f of more) f(s, v);
  }
}

/**
 * Promise.all for values and Laters, without a promise: a Later of the values in order, or the
 * first rejection. With a thenable that is not a Later among them, Promise.all itself.
 * `inPlace`: the caller's own array, overwritten with the values (one array fewer per join).
 */
export function allOf<T>(items: readonly (T | PromiseLike<T>)[], inPlace = false): PromiseLike<T[]> {
  for (const it of items) if (isThenable(it) && !(it instanceof Later)) return Promise.all(items);
  const out = new Later<T[]>();
  const values = inPlace ? (items as T[]) : new Array<T>(items.length);
  let left = items.length;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    if (it instanceof Later) {
      it.onSettled((s, v) => {
        if (s === 2) return out.reject(v);
        values[k] = v as T;
        if (--left === 0) out.resolve(values);
      });
    } else {
      values[k] = it as T;
      left--;
    }
  }
  if (left === 0) out.resolve(values);
  return out;
}
