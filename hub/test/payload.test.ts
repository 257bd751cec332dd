/**
 * transactions.payload holds only what the columns do not (store/payload.ts): every record must
 * come back exactly as it was received, through the real store — random records over every
 * optional field being absent, empty or filled, plus the two older payload forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionSchema, type Transaction } from '@jianguan/rules';
import { streamTransactions } from '../src/backtest/stream.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { encodePayload, PAYLOAD_REST } from '../src/store/payload.js';
import { TRANSACTION_COLUMNS, transactionRow, transactionValues } from '../src/store/repo.js';
import { encodeRows, openStore, type Store } from '../src/store/store.js';
import { prng, tmpDir } from './helpers.js';

let store: Store;
beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('payload') }));
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

const T0 = Date.UTC(2026, 10, 20, 2, 0, 0);

function randomRecord(i: number, rnd: () => number): Transaction {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
  // absent, empty or a value (with characters JSON and ClickHouse escape)
  const opt = (value: () => unknown): unknown => pick([undefined, '', value()]);
  const text = () => pick(['L01', '桂M·窗口"3"', 'a\\b', '\t号\n', 'x'.repeat(16)]);
  const at = T0 + i * 1000;
  const r: Record<string, unknown> = {
    id: `c-payload:${i}`,
    collectorId: 'c-payload',
    seq: pick([i, 0, Number.MAX_SAFE_INTEGER - i]),
    source: pick(['veh_flow', 'drv_flow', '18c', 'exam', 'simulator']),
    channel: pick(['counter', 'institution', 'self_service', 'internet']),
    institutionId: pick(['CGS-HC', 'JCJ-JYZ', 'KS-HC']),
    kind: pick(['vehicle', 'licence', 'check', 'inspection', 'exam', 'violation', 'medical', 'queue', 'online']),
    occurredAt: at,
    capturedAt: at + Math.floor(rnd() * 5000),
  };
  for (const k of ['counter', 'staffId', 'deviceId', 'venue', 'ip', 'mac', 'lsh', 'subLsh']) r[k] = opt(text);
  r.ywlx = opt(() => pick(['A', 'B', 'K']));
  r.ywyy = opt(() => pick(['A', 'H', 'J']));
  r.staffIdHash = pick([undefined, hex(64)]);
  r.phoneHash = pick([undefined, hex(64)]);
  for (const k of ['appliedAt', 'startedAt', 'endedAt', 'completedAt']) r[k] = pick([undefined, at - Math.floor(rnd() * 3_600_000)]);
  r.outcome = pick([undefined, 'done', 'refused', 'pending', 'pass', 'fail']);
  const person = () => pick([undefined, { idHash: hex(64), masked: pick(['', '45**************49', '4512**********123X']), ...(rnd() < 0.5 ? { birthYear: 1950 + Math.floor(rnd() * 50) } : {}) }]);
  r.subject = person();
  r.agent = person();
  r.vehicle = pick([
    undefined,
    {
      hpzl: pick(['01', '02', '07']),
      ...(rnd() < 0.7 ? { hphm: pick(['', '桂MK96C4', '桂A·12345']) } : {}),
      ...(rnd() < 0.5 ? { vin: 'LFVFNMNR5P5472100' } : {}),
      ...(rnd() < 0.5 ? { ownerIdHash: pick(['', hex(64)]) } : {}),
      ...(rnd() < 0.3 ? { approvalRevoked: rnd() < 0.5 } : {}),
    },
  ]);
  r.licence = pick([undefined, { numberHash: hex(40), ...(rnd() < 0.7 ? { zjcx: pick(['', 'C1', 'A2']) } : {}) }]);
  r.measurements = pick([undefined, {}, { brakeFrontPct: 72.3, sideSlipMPerKm: -2.2, tiny: 0.1 + 0.2, calibrationValidTo: 1796288336000, big: 1.7976931348623157e308 }]);
  r.evidence = pick([undefined, [], [hex(64), hex(64)], ['照片"1"']]);
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  return TransactionSchema.parse(r);
}

const META = { batchId: 'payload-test', county: '451202', ruleSet: 'test', warningCount: 0 };

/**
 * Stores the records as the evaluate path does (JSONCompactEachRow of TRANSACTION_COLUMNS), or —
 * with `payloadOf` — as row objects with that payload (the older forms), and reads them back.
 */
async function storeAndRead(records: Transaction[], payloadOf?: (t: Transaction) => string): Promise<Map<string, Transaction>> {
  if (payloadOf) await store.insertText('transactions', encodeRows(records.map((t) => ({ ...transactionRow(t, META), payload: payloadOf(t) }))));
  else await store.insertText('transactions', records.map((t) => `${JSON.stringify(transactionValues(t, META))}\n`).join(''), TRANSACTION_COLUMNS);
  const from = Math.min(...records.map((t) => t.occurredAt));
  const to = Math.max(...records.map((t) => t.occurredAt)) + 1;
  const back = new Map<string, Transaction>();
  for await (const page of streamTransactions(store, from, to, 500)) for (const t of page) if (records.some((r) => r.id === t.id)) back.set(t.id, t);
  return back;
}

describe('transaction payload', () => {
  it('gives back every record exactly, whatever it carries (600 random records through chDB)', async () => {
    const rnd = prng(20261203);
    const records = Array.from({ length: 600 }, (_, i) => randomRecord(i + 1, rnd));
    const back = await storeAndRead(records);
    expect(back.size).toBe(records.length);
    for (const t of records) expect(back.get(t.id)).toEqual(t);
    // The generator reached the cases the encoding must tell apart.
    expect(records.some((t) => t.counter === '')).toBe(true);
    expect(records.some((t) => t.vehicle?.hphm === '')).toBe(true);
    expect(records.some((t) => t.subject?.birthYear !== undefined)).toBe(true);
    expect(records.some((t) => t.measurements && Object.keys(t.measurements).length === 0)).toBe(true);
    expect(records.some((t) => t.evidence?.length === 0)).toBe(true);
  });

  it('keeps out of the payload what the columns hold', () => {
    const rnd = prng(7);
    const records = Array.from({ length: 200 }, (_, i) => randomRecord(100_000 + i, rnd));
    const whole = records.reduce((n, t) => n + JSON.stringify(t).length, 0);
    const rest = records.reduce((n, t) => n + encodePayload(t).length, 0);
    expect(rest / whole).toBeLessThan(0.35);
    const full = TransactionSchema.parse({
      id: 'c-payload:x',
      collectorId: 'c-payload',
      seq: 1,
      source: 'veh_flow',
      channel: 'counter',
      institutionId: 'CGS-HC',
      kind: 'vehicle',
      counter: 'W01',
      occurredAt: T0,
      capturedAt: T0,
      subject: { idHash: 'ab'.repeat(32), masked: '45**************49' },
      vehicle: { hpzl: '02', hphm: '桂MK96C4' },
      evidence: ['cd'.repeat(32)],
    });
    // Nothing of this record lacks a column.
    expect(encodePayload(full)).toBe(`${PAYLOAD_REST}{}`);
  });

  it('still reads rows stored with the whole record, and rows stored with none', async () => {
    const rnd = prng(99);
    const whole = Array.from({ length: 20 }, (_, i) => randomRecord(200_000 + i, rnd));
    const back = await storeAndRead(whole, (t) => JSON.stringify(t));
    for (const t of whole) expect(back.get(t.id)).toEqual(t);
    const none = Array.from({ length: 20 }, (_, i) => randomRecord(300_000 + i, rnd));
    const bare = await storeAndRead(none, () => '');
    for (const t of none) {
      const got = bare.get(t.id)!;
      // Fields with a column come back; those without one cannot.
      expect(got.occurredAt).toBe(t.occurredAt);
      expect(got.subject?.idHash).toBe(t.subject?.idHash);
      expect(got.evidence ?? []).toEqual(t.evidence ?? []);
      expect(got.staffIdHash).toBeUndefined();
    }
  });
});
