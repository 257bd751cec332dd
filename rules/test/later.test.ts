/**
 * Later (engine/later.ts): the promise-like answers of batched state calls. What the engine relies
 * on: reactions run in place and in the order they were attached, rejections and thrown handlers
 * travel as a promise's would, thenables are adopted, `await` and Promise.all accept a Later, and
 * allOf joins values and Laters in order (or defers to Promise.all when a real promise is there).
 */
import { describe, expect, it } from 'vitest';
import { Later, allOf } from '../src/engine/later.js';
import { applyStateOps, createEngine, createMemoryRuleState, type EvaluationContext, type StateBatcher, type StateOp } from '../src/index.js';
import { context, txn } from './helpers.js';

describe('Later', () => {
  it('runs reactions in place when it settles, in the order they were attached, and at once once settled', () => {
    const l = new Later<number>();
    const seen: string[] = [];
    l.then((v) => seen.push(`a${v}`));
    l.then((v) => seen.push(`b${v}`));
    l.then((v) => seen.push(`c${v}`));
    expect(seen).toEqual([]);
    l.resolve(7);
    expect(seen).toEqual(['a7', 'b7', 'c7']);
    l.then((v) => seen.push(`d${v}`));
    expect(seen).toEqual(['a7', 'b7', 'c7', 'd7']);
    // Settles once: a second resolve or a reject changes nothing.
    l.resolve(8);
    l.reject(new Error('late'));
    l.then((v) => seen.push(`e${v}`));
    expect(seen.at(-1)).toBe('e7');
  });

  it('chains: a handler\'s value, a Later it returns, a promise it returns', async () => {
    const l = new Later<number>();
    const inner = new Later<string>();
    const viaValue = l.then((v) => v * 2);
    const viaLater = l.then(() => inner);
    const viaPromise = l.then((v) => Promise.resolve(`p${v}`));
    l.resolve(21);
    const got: unknown[] = [];
    viaValue.then((v) => got.push(v));
    viaLater.then((v) => got.push(v));
    expect(got).toEqual([42]);
    inner.resolve('later');
    expect(got).toEqual([42, 'later']);
    expect(await viaPromise).toBe('p21');
  });

  it('carries rejections: to onRejected, past a then without one, and from a handler that throws', async () => {
    const l = new Later<number>();
    const boom = new Error('boom');
    const skipped = l.then((v) => v + 1);
    const caught = skipped.then(undefined, (e: unknown) => `caught ${(e as Error).message}`);
    l.reject(boom);
    expect(await caught).toBe('caught boom');
    await expect(Promise.resolve(skipped)).rejects.toBe(boom);

    const ok = new Later<number>();
    const thrown = ok.then(() => {
      throw new Error('in handler');
    });
    ok.resolve(1);
    await expect(Promise.resolve(thrown)).rejects.toThrow('in handler');
  });

  it('works with await, Promise.resolve and Promise.all like any thenable', async () => {
    const a = new Later<number>();
    const b = new Later<number>();
    const all = Promise.all([a, b, 3]);
    a.resolve(1);
    setTimeout(() => b.resolve(2), 1);
    expect(await all).toEqual([1, 2, 3]);
    const c = new Later<string>();
    queueMicrotask(() => c.resolve('x'));
    expect(await c).toBe('x');
  });

  it('refuses to resolve to itself', async () => {
    const l = new Later<unknown>();
    l.resolve(l);
    await expect(Promise.resolve(l)).rejects.toThrow(TypeError);
  });
});

describe('allOf', () => {
  it('joins values and Laters in item order, whatever order they settle in', () => {
    const a = new Later<string>();
    const b = new Later<string>();
    let out: string[] | undefined;
    allOf<string>(['v0', a, 'v2', b]).then((v) => (out = v));
    b.resolve('b');
    expect(out).toBeUndefined();
    a.resolve('a');
    expect(out).toEqual(['v0', 'a', 'v2', 'b']);
  });

  it('settles at once for values only, already settled Laters, and an empty list', () => {
    const done = new Later<number>();
    done.resolve(5);
    const got: unknown[] = [];
    allOf([1, 2]).then((v) => got.push(v));
    allOf<number>([done, 6]).then((v) => got.push(v));
    allOf<number>([6, done]).then((v) => got.push(v));
    allOf([]).then((v) => got.push(v));
    expect(got).toEqual([[1, 2], [5, 6], [6, 5], []]);
  });

  it('rejects with the first rejection and ignores what settles after it', async () => {
    const a = new Later<number>();
    const b = new Later<number>();
    const joined = allOf<number>([a, b]);
    b.reject(new Error('first'));
    a.reject(new Error('second'));
    await expect(Promise.resolve(joined)).rejects.toThrow('first');
  });

  it('overwrites the given array in place when asked, and leaves it alone otherwise', () => {
    const a = new Later<number>();
    const items: (number | Later<number>)[] = [1, a];
    let copy: number[] | undefined;
    allOf<number>(items).then((v) => (copy = v));
    let same: number[] | undefined;
    allOf<number>(items, true).then((v) => (same = v));
    a.resolve(2);
    expect(copy).toEqual([1, 2]);
    expect(copy).not.toBe(items);
    expect(same).toBe(items);
    expect(items).toEqual([1, 2]);
  });

  it('defers to Promise.all when a real promise is among the items', async () => {
    const a = new Later<number>();
    const joined = allOf<number>([a, Promise.resolve(2)]);
    expect(joined).toBeInstanceOf(Promise);
    a.resolve(1);
    expect(await joined).toEqual([1, 2]);
  });
});

describe('evaluateBatch over batched states', () => {
  // The pack's stateful rules over memory states behind a batcher that answers later, or fails.
  const batched = (answer: (ops: readonly StateOp[]) => Promise<unknown[]>): Pick<EvaluationContext, 'state' | 'intervals' | 'fingerprints' | 'sequences'> => {
    const batcher: StateBatcher = { run: answer };
    const never = () => {
      throw new Error('single calls are not made in a batch');
    };
    return {
      state: { observe: never, batcher },
      intervals: { overlap: never, batcher },
      fingerprints: { claim: never, batcher },
      sequences: { record: never, latest: never, batcher },
    };
  };

  const records = Array.from({ length: 40 }, (_, i) => txn({ id: `JCJ-JYZ:${i}`, seq: i + 1, staffId: 'JCJ-JYZ-C01', outcome: i % 3 ? 'done' : 'refused', occurredAt: Date.parse('2026-03-02T02:00:00Z') + i * 60_000 }));

  it('answers as the memory states do when the batch answer comes later', async () => {
    const engine = createEngine();
    const direct = await engine.evaluateBatch(records, { ...context(), ...createMemoryRuleState() });
    const mem = createMemoryRuleState();
    const slow = batched((ops) => new Promise((resolve) => setTimeout(() => resolve(applyStateOps(mem, ops)), 5)));
    const later = await engine.evaluateBatch(records, { ...context(), ...slow });
    expect(later.map((hs) => hs.map((h) => [h.rule.id, h.explanation]))).toEqual(direct.map((hs) => hs.map((h) => [h.rule.id, h.explanation])));
    expect(direct.flat().length).toBeGreaterThan(0);
  });

  it('rejects the batch with the state\'s error, once, and leaves no rejection unhandled', async () => {
    const engine = createEngine();
    let calls = 0;
    const counted = batched(async (ops) => {
      calls += ops.length;
      return applyStateOps(createMemoryRuleState(), ops);
    });
    await engine.evaluateBatch(records, { ...context(), ...counted });
    expect(calls).toBeGreaterThan(0);
    const failing = batched(() => Promise.reject(new Error('STATE_DOWN')));
    await expect(engine.evaluateBatch(records, { ...context(), ...failing })).rejects.toThrow('STATE_DOWN');
    const short = batched(async (ops) => ops.slice(1).map(() => 1));
    await expect(engine.evaluateBatch(records, { ...context(), ...short })).rejects.toThrow(/answered \d+ of \d+ operations/);
  });
});
