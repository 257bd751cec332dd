import { describe, expect, it } from 'vitest';
import { createEngine, createMemoryWindowState, type Transaction } from '../src/index.js';
import { DAY, context, cst, person, spyState, txn } from './helpers.js';

const RULE = 'agent.frequent';
const T0 = cst('2026-11-02T09:00');
const agent = person('agent-1', '4512**********123X');

/** n vehicle transactions by the same agent, one a day from T0. */
const series = (n: number, extra: Partial<Transaction> = {}) =>
  Array.from({ length: n }, (_, i) => txn({ agent, occurredAt: T0 + i * DAY, ...extra }));

async function run(engine: ReturnType<typeof createEngine>, txns: Transaction[], ctx = context()) {
  const out: boolean[] = [];
  for (const t of txns) out.push((await engine.evaluate(t, ctx)).some((h) => h.rule.id === RULE));
  return { fired: out, ctx };
}

describe('agent.frequent (window_count)', () => {
  const engine = createEngine();

  it('fires on the 6th business in 30 days, not on the 5th', async () => {
    const { fired } = await run(engine, series(7));
    expect(fired).toEqual([false, false, false, false, false, true, true]);
  });

  it('explains with the masked agent, the count, the window and the threshold', async () => {
    const ctx = context();
    const txns = series(6);
    let hits = await engine.evaluate(txns[0]!, ctx);
    for (const t of txns.slice(1)) hits = await engine.evaluate(t, ctx);
    const hit = hits.find((h) => h.rule.id === RULE);
    expect(hit?.explanation).toBe('代办人4512**********123X近30天第6次代办，阈值5次');
    expect(hit?.values).toEqual({ count: 6, threshold: 5, windowDays: 30 });
  });

  it('forgets a business exactly 30 days old (window is (at-30d, at])', async () => {
    const five = series(5); // T0 … T0+4d
    const atEdge = txn({ agent, occurredAt: T0 + 30 * DAY });
    const justInside = txn({ agent, occurredAt: T0 + 30 * DAY - 1 });
    expect((await run(engine, [...five, atEdge])).fired.at(-1)).toBe(false);
    expect((await run(engine, [...five, justInside])).fired.at(-1)).toBe(true);
  });

  it('never double-counts a re-delivered transaction', async () => {
    const txns = series(5);
    const ctx = context();
    for (const t of txns) {
      await engine.evaluate(t, ctx);
      await engine.evaluate(t, ctx); // re-sent batch
    }
    await engine.evaluate(txns[2]!, ctx);
    const { fired } = await run(engine, [txns[4]!], ctx);
    expect(fired).toEqual([false]);
    // …and a genuinely new 6th one still fires.
    expect((await run(engine, [txn({ agent, occurredAt: T0 + 5 * DAY })], ctx)).fired).toEqual([true]);
  });

  it('re-evaluating an earlier transaction later gives the same answer as the first time', async () => {
    const txns = series(7);
    const { ctx } = await run(engine, txns);
    expect((await run(engine, [txns[2]!], ctx)).fired).toEqual([false]);
    expect((await run(engine, [txns[6]!], ctx)).fired).toEqual([true]);
  });

  it('counts agents separately and only vehicle/licence business', async () => {
    const other = person('agent-2');
    const mixed = [...series(5), txn({ agent: other, occurredAt: T0 + 5 * DAY })];
    expect((await run(engine, mixed)).fired.every((f) => !f)).toBe(true);

    const { state, calls } = spyState();
    const ctx = context({ state });
    for (const kind of ['check', 'violation', 'exam'] as const) await engine.evaluate(txn({ agent, kind, staffId: 'JCJ-CGS-I01' }), ctx);
    await engine.evaluate(txn({ kind: 'licence' }), ctx); // no agent
    expect(calls.filter((c) => c.key.startsWith('agent:'))).toEqual([]);

    await engine.evaluate(txn({ agent, kind: 'licence' }), ctx);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ key: `agent:${agent.idHash}`, windowMs: 30 * DAY });
  });

  it('honours a threshold override (4th fires with threshold 3)', async () => {
    const tuned = createEngine(undefined, { params: { [RULE]: { threshold: 3 } } });
    expect((await run(tuned, series(4))).fired).toEqual([false, false, false, true]);
    const [hit] = (await tuned.evaluate(series(1)[0]!, context({ state: createMemoryWindowState() }))).filter((h) => h.rule.id === RULE);
    expect(hit).toBeUndefined();
  });
});
