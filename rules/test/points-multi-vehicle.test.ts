import { describe, expect, it } from 'vitest';
import { createEngine, type Transaction } from '../src/index.js';
import { DAY, context, cst, hashOf, person, spyState, txn } from './helpers.js';

const engine = createEngine();
const R = 'points.licence_multi_vehicle';
const T0 = cst('2026-03-02T10:00');
const holder = person('holder', '4512**********0012');
const licence = { numberHash: hashOf('licence-1'), zjcx: 'C1' };

const vehicle = (n: number, owner = `owner-${n}`) => ({
  hpzl: '02',
  hphm: `桂M1000${n}`,
  vin: `LSVAU2180N218345${n}`,
  ownerIdHash: hashOf(owner),
});

const violation = (v: Transaction['vehicle'], at = T0, extra: Partial<Transaction> = {}) =>
  txn({ kind: 'violation', subject: holder, licence, vehicle: v, occurredAt: at, ywlx: undefined, ...extra });

async function fired(txns: Transaction[], ctx = context()) {
  const out: boolean[] = [];
  for (const t of txns) out.push((await engine.evaluate(t, ctx)).some((h) => h.rule.id === R));
  return out;
}

describe('points.licence_multi_vehicle (distinct_count)', () => {
  it('fires on the 3rd distinct non-owned vehicle, not the 2nd; the same vehicle twice counts once', async () => {
    const txns = [
      violation(vehicle(1), T0),
      violation(vehicle(2), T0 + DAY),
      violation(vehicle(1), T0 + 2 * DAY), // same vehicle again, new violation
      violation(vehicle(3), T0 + 3 * DAY),
    ];
    expect(await fired(txns)).toEqual([false, false, false, true]);
  });

  it('explains with the count, the window and the threshold', async () => {
    const ctx = context();
    await fired([violation(vehicle(1)), violation(vehicle(2), T0 + DAY)], ctx);
    const [hit] = (await engine.evaluate(violation(vehicle(3), T0 + 2 * DAY), ctx)).filter((h) => h.rule.id === R);
    expect(hit?.explanation).toBe('驾驶证近365天为3辆非本人车辆处理违法记分，阈值3辆');
    expect(hit?.values).toEqual({ count: 3, threshold: 3, windowDays: 365 });
    expect(hit?.rule).toMatchObject({ severity: 'high', action: 'warn', family: 'points' });
  });

  it('forgets a vehicle last seen exactly 365 days earlier', async () => {
    const base = [violation(vehicle(1), T0), violation(vehicle(2), T0 + 100 * DAY)];
    expect((await fired([...base, violation(vehicle(3), T0 + 365 * DAY)])).at(-1)).toBe(false);
    expect((await fired([...base, violation(vehicle(3), T0 + 365 * DAY - 1)])).at(-1)).toBe(true);
  });

  it("ignores the holder's own vehicles and vehicles with no known owner, without touching state", async () => {
    const { state, calls } = spyState();
    const ctx = context({ state });
    const own = { ...vehicle(1), ownerIdHash: holder.idHash };
    const unknownOwner = { hpzl: '02', hphm: '桂M20002', vin: 'LSVAU2180N2183999' };
    expect(await fired([violation(own), violation(unknownOwner), violation(vehicle(2), T0, { licence: undefined })], ctx)).toEqual([false, false, false]);
    expect(calls).toEqual([]);
    await fired([violation(vehicle(2))], ctx);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ key: `licence-vehicles:${licence.numberHash}`, member: vehicle(2).vin, windowMs: 365 * DAY });
  });

  it('identifies a vehicle without VIN by plate type and plate', async () => {
    const { state, calls } = spyState();
    const { vin: _vin, ...noVin } = vehicle(4);
    await fired([violation(noVin)], context({ state }));
    expect(calls[0]?.member).toBe('02:桂M10004');
  });

  it('re-evaluating the same violation never adds a vehicle', async () => {
    const ctx = context();
    const first = violation(vehicle(1));
    const second = violation(vehicle(2), T0 + DAY);
    expect(await fired([first, second, first, second, second], ctx)).toEqual([false, false, false, false, false]);
  });
});
