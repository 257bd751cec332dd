/**
 * Every adapter against its fixture file (collector/fixtures): record and transaction counts,
 * rejected records with their line numbers and reasons, field-by-field checks of a few records
 * computed independently from the raw fixture, and the promise that no raw identity number
 * survives the adapter. Records go through the same split → parse → map path the file sources use.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskIdNumber, TransactionSchema } from '@jianguan/rules';
import { adapterByName, AdapterOptionsSchema, normalisePlate, parseTime, type AdapterName, type AdapterOptionsInput, type PendingTransaction } from '../src/adapters/index.js';
import { createPseudonymizer } from '../src/pseudonym.js';
import { isValidIdNumber } from '../src/sources/identifiers.js';
import { mapInputs, parseRecords } from '../src/sources/ingest.js';
import { maskIdentityNumbers, parseCsvRecord, splitRecords, type Encoding } from '../src/sources/records.js';
import { PSEUDONYM_KEY } from './helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
const p = createPseudonymizer(PSEUDONYM_KEY);
const MAPPING = { '451200000400': 'JCJ-CGS', '451203000400': 'YZ-CGFS', '4512000001': 'JCJ-JYZ', '451226301': 'HJ-JX', 'BM-DJZ': 'BM-DJZ' };

interface Run {
  text: string;
  records: number;
  items: { line: number; pending: PendingTransaction }[];
  rejects: { line: number; reason: string; raw: string }[];
  state: unknown;
}

function run(file: string, name: AdapterName, o: { encoding?: Encoding; options?: AdapterOptionsInput; state?: unknown; fromLine?: number; toLine?: number } = {}): Run {
  const adapter = adapterByName(name);
  const buf = fs.readFileSync(path.join(FIXTURES, file));
  const csv = adapter.format === 'csv';
  const split = splitRecords(buf, { offset: 0, line: 0 }, { csv, final: true });
  let records = split.records;
  const parsedAll = parseRecords(records, null, { csv, encoding: o.encoding ?? 'utf8', delimiter: ',', requiredColumns: adapter.requiredColumns });
  let inputs = parsedAll.inputs;
  if (o.fromLine !== undefined) inputs = inputs.filter((i) => i.line >= o.fromLine!);
  if (o.toLine !== undefined) inputs = inputs.filter((i) => i.line <= o.toLine!);
  const ctx = { collectorId: 'c-test', institutionId: 'JCJ-CGS', pseudonymizer: p, options: AdapterOptionsSchema.parse({ institutionByCode: MAPPING, ...o.options }) };
  const out = mapInputs(adapter, ctx, o.state ?? adapter.initialState?.() ?? null, inputs);
  return { text: buf.toString('utf8'), records: records.length, ...out };
}

const cst = (s: string): number => Date.parse(`${s.replace(' ', 'T')}+08:00`);
/** Identity numbers in a text: 18 characters, a valid check digit (jylsh and LSH values are not). */
const rawIds = (text: string): string[] => [...text.matchAll(/(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])/g)].map((m) => m[0]).filter(isValidIdNumber);
const csvRows = (file: string): Record<string, string>[] => {
  const lines = fs.readFileSync(path.join(FIXTURES, file), 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = parseCsvRecord(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(parseCsvRecord(l).map((v, i) => [header[i] ?? `_${i}`, v])));
};
const jsonLines = (file: string): unknown[] =>
  fs
    .readFileSync(path.join(FIXTURES, file), 'utf8')
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return undefined;
      }
    });

function expectValidAndPseudonymous(r: Run): void {
  for (const { pending } of r.items) {
    expect(TransactionSchema.safeParse({ id: 'c-test:1', collectorId: 'c-test', seq: 1, capturedAt: Date.now(), ...pending }).success).toBe(true);
  }
  const out = JSON.stringify(r.items) + JSON.stringify(r.state ?? null);
  const ids = rawIds(r.text);
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) expect(out).not.toContain(id);
}

describe('veh_flow (VEH_FLOW CSV export)', () => {
  const r = run('veh_flow.csv', 'veh_flow');
  const rows = csvRows('veh_flow.csv');
  const byLsh = new Map(r.items.map((i) => [i.pending.lsh, i]));

  it('maps 40 of 45 rows and rejects the 5 malformed ones with their file line', () => {
    expect(r.records).toBe(46);
    expect(r.items).toHaveLength(40);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [7, expect.stringMatching(/^CLSBDH: VIN '\w{17}' fails its check digit \(position 9\)$/)],
      [16, "YWLX: 'Z' is not a 机动车业务类型 code"],
      [24, 'BJRQ: is earlier than SQRQ'],
      [33, "SQRQ: '2026-11-31 09:00:00' is not a valid date/time"],
      [46, 'bad CSV: expected 17 fields (as the header), got 5'],
    ]);
    expectValidAndPseudonymous(r);
  });

  it('maps a row field by field (plate with a separator dot, agent, refusal, pending, branch office)', () => {
    const dotted = rows.find((x) => x.HPHM?.includes('·') && x.DLRSFZMHM)!;
    const t = byLsh.get(dotted.LSH)!.pending;
    expect(t).toEqual({
      source: 'veh_flow',
      channel: 'counter',
      institutionId: dotted.GLBM === '451203000400' ? 'YZ-CGFS' : 'JCJ-CGS',
      staffId: dotted.JBR,
      lsh: dotted.LSH,
      kind: 'vehicle',
      ywlx: dotted.YWLX,
      ...(dotted.YWYY ? { ywyy: dotted.YWYY } : {}),
      subject: { idHash: p.idHash(dotted.SFZMHM!), masked: maskIdNumber(dotted.SFZMHM!), birthYear: Number(dotted.SFZMHM!.slice(6, 10)) },
      agent: { idHash: p.idHash(dotted.DLRSFZMHM!), masked: maskIdNumber(dotted.DLRSFZMHM!), birthYear: Number(dotted.DLRSFZMHM!.slice(6, 10)) },
      vehicle: { hpzl: dotted.HPZL, hphm: dotted.HPHM!.replace('·', ''), vin: dotted.CLSBDH },
      occurredAt: cst(dotted.BJRQ!),
      appliedAt: cst(dotted.SQRQ!),
      completedAt: cst(dotted.BJRQ!),
      outcome: 'done',
    });
    expect(t.subject!.masked).toMatch(/^4\d\*{14}\d[\dX]$/);

    const refused = rows.find((x) => x.LSZT === 'Q' && byLsh.has(x.LSH))!;
    expect(byLsh.get(refused.LSH)!.pending.outcome).toBe('refused');
    const pending = rows.find((x) => x.LSZT === '1' && byLsh.has(x.LSH))!;
    expect(byLsh.get(pending.LSH)!.pending).toMatchObject({ outcome: 'pending', occurredAt: cst(pending.SQRQ!) });
    expect(byLsh.get(pending.LSH)!.pending.completedAt).toBeUndefined();
    const branch = rows.find((x) => x.GLBM === '451203000400' && byLsh.has(x.LSH))!;
    expect(byLsh.get(branch.LSH)!.pending.institutionId).toBe('YZ-CGFS');
    // First registration before plating: no plate, VIN still checked.
    const first = rows.find((x) => x.YWLX === 'A' && byLsh.has(x.LSH))!;
    expect(byLsh.get(first.LSH)!.pending.vehicle).toEqual({ hpzl: first.HPZL, vin: first.CLSBDH });
    // A quoted owner name with a comma does not shift the columns.
    const company = rows.find((x) => x.SYR?.includes(','))!;
    expect(byLsh.get(company.LSH)!.pending.subject!.idHash).toBe(p.idHash(company.SFZMHM!));
  });

  it('falls back to the configured institution for an unmapped GLBM', () => {
    const u = run('veh_flow.csv', 'veh_flow', { options: { institutionByCode: {}, institutionId: 'ND-CGFS' } });
    expect(new Set(u.items.map((i) => i.pending.institutionId))).toEqual(new Set(['ND-CGFS']));
  });
});

describe('drv_flow (DRV_FLOW CSV export)', () => {
  const r = run('drv_flow.csv', 'drv_flow');
  const rows = csvRows('drv_flow.csv');

  it('maps 28 of 32 rows and rejects 4 with line numbers', () => {
    expect(r.items).toHaveLength(28);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [5, "ZJCX: 'C9' is not a 准驾车型"],
      [13, "DABH: '45120012345' is not a 12-digit 档案编号"],
      [22, "YWLX: 'Q' is not a 驾驶证业务类型 code"],
      [29, 'SFZMHM: missing'],
    ]);
    expectValidAndPseudonymous(r);
  });

  it('hashes the archive number into licence.numberHash with the class, drops the name', () => {
    const row = rows.find((x) => x.DABH && x.ZJCX === 'A1A2')!;
    const t = r.items.find((i) => i.pending.lsh === row.LSH)!.pending;
    expect(t).toMatchObject({ kind: 'licence', source: 'drv_flow', ywlx: row.YWLX, licence: { numberHash: p.licenceHash(row.DABH!), zjcx: 'A1A2' } });
    expect(t.licence!.numberHash).not.toBe(p.idHash(row.DABH!));
    expect(JSON.stringify(r.items)).not.toContain(row.XM!);
    // First application (A): no archive number yet, so no licence reference.
    const a = rows.find((x) => x.YWLX === 'A')!;
    expect(r.items.find((i) => i.pending.lsh === a.LSH)!.pending.licence).toBeUndefined();
  });

  it('reads the same export in GB18030 identically', () => {
    const gb = run('drv_flow.gb18030.csv', 'drv_flow', { encoding: 'gb18030' });
    expect(gb.items).toEqual(r.items);
    expect(gb.rejects.map((x) => x.line)).toEqual(r.rejects.map((x) => x.line));
    // Read as UTF-8 by mistake, the Chinese bytes are reported, not mangled into the output.
    const wrong = run('drv_flow.gb18030.csv', 'drv_flow', { encoding: 'utf8' });
    expect(wrong.rejects.some((x) => x.reason === 'not valid UTF-8 text')).toBe(true);
  });
});

describe('18c (inspection-station events)', () => {
  const r = run('inspection_18c.jsonl', '18c');
  const events = jsonLines('inspection_18c.jsonl') as Record<string, string>[];
  const whole = r.items.filter((i) => i.pending.measurements?.filedMinSeconds === undefined).map((i) => i.pending);
  const items = r.items.filter((i) => i.pending.measurements?.filedMinSeconds !== undefined).map((i) => i.pending);

  it('pairs 221 events into 8 whole tests and 72 items; rejects 4 malformed lines', () => {
    expect(r.records).toBe(221);
    expect(whole).toHaveLength(8);
    expect(items).toHaveLength(72);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [218, expect.stringMatching(/^invalid JSON: /)],
      [219, 'jkid: 18C58 without an open 18C55 for 2611194512000199:1:B1'],
      [220, expect.stringMatching(/^clsbdh: VIN '\w{17}' fails its check digit/)],
      [221, "jkid: '18C99' is not an 18C event this adapter reads (18C52/55/58/59/63/80–83)"],
    ]);
    expect(r.state).toEqual({ tests: {}, items: {}, dropped: 0 });
    expectValidAndPseudonymous(r);
  });

  it('builds the whole-test record from 18C52, 63, 80–83 and 59', () => {
    const first = events[0]!;
    const of = (jkid: string) => events.filter((e) => e && e.jkid === jkid && e.jylsh === first.jylsh);
    const t = whole.find((w) => w.lsh === first.jylsh)!;
    const m81 = of('18C81')[0]!;
    const m80 = of('18C80')[0]!;
    const photos = of('18C63');
    expect(t).toMatchObject({
      source: '18c',
      kind: 'inspection',
      channel: 'institution',
      institutionId: 'JCJ-JYZ',
      counter: first.jcxdh,
      lsh: first.jylsh,
      subLsh: '1',
      ywlx: 'A', // jylb 00: registration inspection
      staffId: m80.wgjcjyy,
      staffIdHash: p.idHash(m80.wgjcjyysfzh!),
      vehicle: { hpzl: first.hpzl, hphm: normalisePlate(first.hphm!), vin: first.clsbdh },
      startedAt: cst(first.kssj!),
      endedAt: cst(of('18C59')[0]!.jssj!),
      occurredAt: cst(of('18C59')[0]!.jssj!),
      outcome: 'pass',
    });
    expect(t.measurements).toEqual({
      zczdl: Number(m81.zczdl), zdbphl1: Number(m81.zdbphl1), zdbphl2: Number(m81.zdbphl2), zczczdl: Number(m81.zczczdl),
      zygqd: Number(m81.zygqd), yygqd: Number(m81.yygqd), chl: Number(m81.chl), cszs: Number(m81.cszs),
      lszdjl: Number(of('18C82')[0]!.lszdjl),
      insuranceValidTo: cst('2027-08-31 23:59:59'),
      photoTakenAt: cst(photos[0]!.pssj!),
    });
    expect(t.evidence).toEqual(photos.map((ph) => crypto.createHash('sha256').update(Buffer.from(ph.zp!, 'base64')).digest('hex')));
  });

  it('builds item records with the filed minimum, device and calibration', () => {
    const e55 = events.find((e) => e?.jkid === '18C55' && e.jyxm === 'B1')!;
    const e58 = events.find((e) => e?.jkid === '18C58' && e.jyxm === 'B1' && e.jylsh === e55.jylsh)!;
    const item = items.find((i) => i.lsh === e55.jylsh && i.subLsh === '1:B1')!;
    expect(item).toMatchObject({
      kind: 'inspection',
      counter: e55.jcxdh,
      deviceId: e55.gwjysbbh,
      staffId: e55.jyy,
      staffIdHash: p.idHash(e55.jyysfzh!),
      startedAt: cst(e55.kssj!),
      endedAt: cst(e58.jssj!),
      measurements: { filedMinSeconds: 15, calibrationValidTo: cst(`${e55.sbjdyxqz!} 00:00:00`) },
    });
    // Filed minimum from the configuration beats the suggestion; a line-specific key beats both.
    const o = run('inspection_18c.jsonl', '18c', { options: { itemMinSeconds: { B1: 20, [`${e55.jcxdh}:B1`]: 25 } } });
    expect(o.items.find((i) => i.pending.subLsh === '1:B1' && i.pending.lsh === e55.jylsh)!.pending.measurements!.filedMinSeconds).toBe(25);
  });

  it('carries what the inspection rules look for: a short item, a reused photo, no insurance, a retest, a failed test', () => {
    const short = items.filter((i) => (i.endedAt! - i.startedAt!) / 1000 < i.measurements!.filedMinSeconds!);
    expect(short.map((i) => i.subLsh)).toEqual(['1:F1']);
    const hashes = whole.flatMap((w) => w.evidence ?? []);
    expect(hashes.length - new Set(hashes).size).toBe(1);
    expect(whole.filter((w) => w.measurements!.insuranceValidTo === 0)).toHaveLength(1);
    expect(whole.filter((w) => w.subLsh === '2')).toHaveLength(1);
    expect(whole.filter((w) => w.outcome === 'fail')).toHaveLength(1);
  });

  it('keeps pairing across a restart: state saved as JSON between any two lines gives the same records', () => {
    for (const cut of [1, 3, 4, 37, 41, 100, 150, 216]) {
      const a = run('inspection_18c.jsonl', '18c', { toLine: cut });
      const saved = JSON.parse(JSON.stringify(a.state)) as unknown;
      expect(rawIds(JSON.stringify(saved))).toEqual([]);
      const b = run('inspection_18c.jsonl', '18c', { fromLine: cut + 1, state: saved });
      expect([...a.items, ...b.items]).toEqual(r.items);
      expect([...a.rejects, ...b.rejects].map((x) => x.line)).toEqual(r.rejects.map((x) => x.line));
    }
  });

  it('ignores a re-sent start, rejects a different second start, drops pairs that never end', () => {
    const ctx = { collectorId: 'c', institutionId: 'JCJ-JYZ', pseudonymizer: p, options: AdapterOptionsSchema.parse({ maxOpenMs: 3_600_000 }) };
    const a = adapterByName('18c');
    const st = a.initialState!();
    const start = { jkid: '18C52', jylsh: 'T1', jcxdh: '1', hpzl: '02', hphm: '桂M12345', kssj: '2026-11-16 09:00:00' };
    expect(a.map(start, ctx, st)).toEqual({ ok: true, transactions: [] });
    expect(a.map(start, ctx, st)).toEqual({ ok: true, transactions: [] });
    expect(a.map({ ...start, kssj: '2026-11-16 09:01:00' }, ctx, st)).toEqual({ ok: false, reason: 'jkid: 18C52 again for open test T1:1 with a different kssj' });
    expect(a.map({ ...start, jylsh: 'T2', kssj: '2026-11-16 11:00:00' }, ctx, st)).toEqual({ ok: true, transactions: [] });
    expect(a.describeState!(st)).toEqual({ openTests: 1, openItems: 0, dropped: 1 });
  });
});

describe('check_av (vehicle-check audio/video events)', () => {
  const r = run('check_av.jsonl', 'check_av');
  const lines = jsonLines('check_av.jsonl') as Record<string, unknown>[];

  it('pairs 24 events into 12 checks, adds the one-record check, rejects 3', () => {
    expect(r.items).toHaveLength(13);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [26, 'sjlx: CYJS without an open CYKS for CY26111999999'],
      [27, expect.stringMatching(/^clsbdh: VIN '\w{17}' fails its check digit/)],
      [28, "cyjg: '7' is not a 查验结论 (1 合格, 0/2 不合格, 3 退回)"],
    ]);
    expectValidAndPseudonymous(r);
  });

  it('maps a check field by field', () => {
    const ks = lines[0] as Record<string, string>;
    const js = lines.find((l) => l?.sjlx === 'CYJS' && l.cylsh === ks.cylsh) as Record<string, unknown>;
    const t = r.items.find((i) => i.pending.subLsh === ks.cylsh)!.pending;
    expect(t).toEqual({
      source: 'check_av',
      channel: 'institution',
      institutionId: 'BM-DJZ',
      counter: ks.cytd,
      staffId: ks.cyy,
      staffIdHash: p.idHash(ks.cyysfzh!),
      deviceId: ks.sbbh,
      ip: ks.ip,
      lsh: ks.lsh,
      subLsh: ks.cylsh,
      kind: 'check',
      ywlx: ks.ywlx,
      vehicle: { hpzl: ks.hpzl, hphm: normalisePlate(ks.hphm!), vin: ks.clsbdh },
      occurredAt: cst(js.sj as string),
      startedAt: cst(ks.sj!),
      endedAt: cst(js.sj as string),
      outcome: 'pass',
      evidence: [`video:${ks.spbh}`, ...(js.zpsha256 as string[])],
    });
  });

  it('keeps the short check, the expired inspector and the remote-review refusal', () => {
    const d = r.items.map((i) => i.pending);
    expect(d.filter((t) => t.endedAt! - t.startedAt! === 95_000)).toHaveLength(1);
    expect(d.filter((t) => t.staffId === 'BM-DJZ-I90')).toHaveLength(1);
    expect(d.filter((t) => t.outcome === 'refused')).toHaveLength(1);
    expect(d.filter((t) => t.outcome === 'fail')).toHaveLength(1);
  });
});

describe('exam (exam-system records)', () => {
  const r = run('exam.csv', 'exam');
  const rows = csvRows('exam.csv');

  it('maps 26 of 30 and rejects 4 with line numbers', () => {
    expect(r.items).toHaveLength(26);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [6, "KSKM: '5' is not an exam subject (1–4)"],
      [15, 'KSCJ: 120 is outside 0–100'],
      [21, 'KSJSSJ: is earlier than KSKSSJ'],
      [27, 'SFZMHM: missing'],
    ]);
    expectValidAndPseudonymous(r);
  });

  it('maps a field exam row by row field', () => {
    const row = rows.find((x) => x.KSKM === '3' && x.HGBJ === '1')!;
    const t = r.items.find((i) => i.pending.lsh === row.LSH)!.pending;
    expect(t).toEqual({
      source: 'exam',
      channel: 'institution',
      institutionId: 'HJ-JX',
      venue: row.KCDM,
      counter: row.KSLX,
      staffId: row.KSY1,
      staffIdHash: p.idHash(row.KSY1SFZMHM!),
      deviceId: row.KCH,
      lsh: row.LSH,
      kind: 'exam',
      ywlx: '3',
      subject: { idHash: p.idHash(row.SFZMHM!), masked: maskIdNumber(row.SFZMHM!), birthYear: Number(row.SFZMHM!.slice(6, 10)) },
      occurredAt: cst(row.KSJSSJ!),
      startedAt: cst(row.KSKSSJ!),
      endedAt: cst(row.KSJSSJ!),
      outcome: 'pass',
      measurements: {
        subject: 3,
        score: Number(row.KSCJ),
        faceMatchScore: Number(row.RLBDXSD),
        manualJudgement: 0,
        routeMinSeconds: 1500,
        trainingHours: Number(row.PXXS),
        requiredHours: Number(row.YQXS),
      },
    });
  });

  it('carries the venue (考场代码) beside the institution it maps to, for examiner overlaps per venue', () => {
    for (const row of rows) {
      const item = r.items.find((i) => i.pending.lsh === row.LSH);
      if (item && row.KCDM) expect(item.pending.venue).toBe(row.KCDM);
    }
    expect(r.items.some((i) => i.pending.venue !== undefined)).toBe(true);
  });

  it('derives the outcome from the pass mark when HGBJ is blank', () => {
    const blank = rows.filter((x) => x.HGBJ === '' && r.items.some((i) => i.pending.lsh === x.LSH));
    expect(blank.length).toBeGreaterThan(0);
    for (const row of blank) {
      const mark = row.KSKM === '2' ? 80 : 90;
      expect(r.items.find((i) => i.pending.lsh === row.LSH)!.pending.outcome).toBe(Number(row.KSCJ) >= mark ? 'pass' : 'fail');
    }
  });
});

describe('queue (queue-and-call records)', () => {
  const r = run('queue.jsonl', 'queue');
  const lines = jsonLines('queue.jsonl') as Record<string, string>[];

  it('maps 33 of 37 lines and rejects 4 with line numbers', () => {
    expect(r.items).toHaveLength(33);
    expect(r.rejects.map((x) => [x.line, x.reason])).toEqual([
      [7, "zt: '9' is not 1 (已办结), 2 (退办) or 3 (过号)"],
      [18, 'jhsj: is earlier than qhsj'],
      [29, 'qhsj: missing'],
      [31, expect.stringMatching(/^invalid JSON: /)],
    ]);
    expectValidAndPseudonymous(r);
  });

  it('maps ticket, call and finish to appliedAt, startedAt and completedAt', () => {
    const q = lines.find((l) => l?.zt === '1' && l.dlrsfzmhm)!;
    expect(r.items.find((i) => i.pending.subLsh === q.pdhm && i.pending.lsh === q.lsh)!.pending).toEqual({
      source: 'queue',
      channel: 'counter',
      institutionId: 'JCJ-CGS',
      counter: q.ckh,
      staffId: q.gh,
      deviceId: q.sbbh,
      ip: q.ip,
      lsh: q.lsh,
      subLsh: q.pdhm,
      kind: 'queue',
      subject: { idHash: p.idHash(q.sqrsfzmhm!), masked: maskIdNumber(q.sqrsfzmhm!), birthYear: Number(q.sqrsfzmhm!.slice(6, 10)) },
      agent: { idHash: p.idHash(q.dlrsfzmhm!), masked: maskIdNumber(q.dlrsfzmhm!), birthYear: Number(q.dlrsfzmhm!.slice(6, 10)) },
      occurredAt: cst(q.bjsj!),
      appliedAt: cst(q.qhsj!),
      startedAt: cst(q.jhsj!),
      completedAt: cst(q.bjsj!),
      outcome: 'done',
    });
    const noShow = r.items.map((i) => i.pending).filter((t) => t.outcome === 'pending');
    expect(noShow.length).toBeGreaterThan(0);
    for (const t of noShow) {
      expect(t.completedAt).toBeUndefined();
      expect(t.lsh).toBeUndefined();
    }
  });
});

describe('native (collector format)', () => {
  it('pseudonymises people, owner and licence, normalises the plate, keeps the rest', () => {
    const r = run('native.jsonl', 'native');
    const [a, b] = jsonLines('native.jsonl') as Record<string, any>[];
    expect(r.rejects).toEqual([]);
    expect(r.items[0]!.pending).toMatchObject({
      source: 'counter_app',
      kind: 'vehicle',
      institutionId: 'JCJ-CGS',
      occurredAt: cst(a!.occurredAt),
      subject: { idHash: p.idHash(a!.subject.idNumber) },
      agent: { idHash: p.idHash(a!.agent.idNumber) },
      vehicle: { hpzl: '02', hphm: '桂MA8K21', vin: a!.vehicle.vin, ownerIdHash: p.idHash(a!.vehicle.ownerIdNumber) },
    });
    expect(r.items[1]!.pending).toMatchObject({ source: 'native', occurredAt: b!.occurredAt, licence: { numberHash: p.licenceHash('451200881234'), zjcx: 'C1' } });
    expectValidAndPseudonymous(r);
  });

  it('rejects what the schema or the identifiers forbid, naming the field', () => {
    const a = adapterByName('native');
    const ctx = { collectorId: 'c', institutionId: 'JCJ-CGS', pseudonymizer: p, options: AdapterOptionsSchema.parse({}) };
    const bad = (rec: unknown) => mapInputs(a, ctx, null, [{ line: 1, raw: '', value: rec }]).rejects[0]?.reason;
    expect(bad({ kind: 'vehicle', occurredAt: 1795403400000, vehicle: { hpzl: '02', vin: 'LSVAB1234' } })).toBe("vehicle.vin: VIN 'LSVAB1234' has 9 characters, expected 17");
    expect(bad({ kind: 'parking', occurredAt: 1795403400000 })).toMatch(/^invalid transaction: kind: /);
    expect(bad({ kind: 'vehicle' })).toBe('occurredAt: missing');
    expect(bad({ kind: 'vehicle', occurredAt: 1795403400000, subject: { idHash: 'ab'.repeat(32) } })).toBe('subject.idNumber: must be the identity number as text');
  });
});

describe('record and field helpers', () => {
  it('splits records with exact line numbers, also across quoted newlines and CRLF', () => {
    const buf = Buffer.from('A,B\r\n1,"x\r\ny"\r\n\r\n2,z\r\n3,w', 'utf8');
    const s = splitRecords(buf, { offset: 0, line: 0 }, { csv: true, final: false });
    expect(s.records.map((r) => [r.line, r.lines, r.bytes.toString()])).toEqual([
      [1, 1, 'A,B\r\n'],
      [2, 2, '1,"x\r\ny"\r\n'],
      [4, 1, '\r\n'],
      [5, 1, '2,z\r\n'],
    ]);
    expect(s.consumed).toBe(buf.length - 3);
    expect(s.lines).toBe(5);
    const f = splitRecords(buf.subarray(s.consumed), { offset: s.consumed, line: s.lines }, { csv: true, final: true });
    expect(f.records.map((r) => [r.line, r.start, r.bytes.toString()])).toEqual([[6, s.consumed, '3,w']]);
  });

  it('parses CSV fields per RFC 4180 and refuses stray quotes', () => {
    expect(parseCsvRecord('a,"b,c","d ""e""",,"x\ny"')).toEqual(['a', 'b,c', 'd "e"', '', 'x\ny']);
    expect(parseCsvRecord('a,')).toEqual(['a', '']);
    expect(() => parseCsvRecord('a,b"c')).toThrow(/stray quote/);
    expect(() => parseCsvRecord('"a"b')).toThrow(/after the closing quote/);
  });

  it('reads local times as +08:00 and refuses impossible ones', () => {
    expect(parseTime('2026-11-16 09:30:00', 'T', 480)).toBe(Date.UTC(2026, 10, 16, 1, 30));
    expect(parseTime('2026/11/16 09:30', 'T', 480)).toBe(Date.UTC(2026, 10, 16, 1, 30));
    expect(parseTime('20261116093000', 'T', 480)).toBe(Date.UTC(2026, 10, 16, 1, 30));
    expect(parseTime('2026-11-16', 'T', 480)).toBe(Date.UTC(2026, 10, 15, 16, 0));
    expect(parseTime('2026-11-16T01:30:00Z', 'T', 480)).toBe(Date.UTC(2026, 10, 16, 1, 30));
    expect(parseTime('1795403400000', 'T', 480)).toBe(1795403400000);
    expect(() => parseTime('2026-02-30 10:00:00', 'SQRQ', 480)).toThrow("SQRQ: '2026-02-30 10:00:00' is not a valid date/time");
    expect(() => parseTime('1899-01-01', 'SQRQ', 480)).toThrow(/outside 2000–2100/);
  });

  it('normalises plates and masks identity numbers in reject reports', () => {
    expect(normalisePlate('桂M·12345')).toBe('桂M12345');
    expect(normalisePlate(' 桂m d1234５ ')).toBe('桂MD12345');
    expect(maskIdentityNumbers('x,451202199001011234,45120219900101123x,4512021990010112345,261116451200010001')).toBe(
      'x,45**************34,45**************3X,4512021990010112345,261116451200010001',
    );
  });
});
