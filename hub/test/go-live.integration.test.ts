/**
 * Going live with years of filings: the registry is filed by import with each row's own past
 * filing dates, a past day is replayed through an enrolled collector's link, and the warnings it
 * raises are judged against labels known by construction:
 *   - inspectors filed since 2023 → nothing "unfiled" (before effective times, every one was);
 *   - one inspector nobody filed, and one whose filing began two days after the day → caught;
 *   - one filed inspector checking their own vehicle (identity through the registry) → self-dealing.
 * Precision (true warnings / all warnings) must be at least 0.9; replayed warnings are stored but
 * never pushed to the wall as live. Bad import rows are reported row by row, nothing filed.
 */
import crypto from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, unsignedBatch, withToken } from './helpers.js';

const HEX = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
/** The replayed day: Wednesday 2026-11-18, from 09:00 China Standard Time. */
const DAY = Date.UTC(2026, 10, 18, 1, 0, 0);
const FILED = Array.from({ length: 20 }, (_, i) => `JCJ-JYZ-P${String(i + 1).padStart(2, '0')}`);
const LATE = 'JCJ-JYZ-P21'; // filed from 2026-11-20: not yet on the day
const NEVER = 'JCJ-JYZ-X99'; // never filed
const SELF = FILED[4]!; // checks their own vehicle once
const SELF_HASH = HEX('identity-of-P05');

let hub: Hub;
let socket: Socket;
let wall: Socket;
const tokens: Record<string, string> = {};
const liveIds = new Set<string>();

const csv = (rows: string[][]) => Buffer.from(rows.map((r) => r.join(',')).join('\n'), 'utf8').toString('base64');

async function importAndApprove(entity: string, rows: string[][]): Promise<void> {
  const filed = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity, filename: `${entity}.csv`, contentBase64: csv(rows) } }));
  expect(filed.statusCode, filed.body).toBe(201);
  const ok = await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
  expect(ok.statusCode, ok.body).toBe(200);
}

beforeAll(async () => {
  // The wall's live threshold as deployed (the suites' helper widens it for fixtures of past days).
  ({ hub } = await startTestHub({ wallLiveMaxAgeMs: 6 * 3_600_000, workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['registry', 'registry2']) tokens[u] = await login(hub, u);
  const header = ['编号', '机构', '角色', '姓名', '已备案', '有效期起', '有效期止', '身份证哈希'];
  await importAndApprove('staff', [
    header,
    ...FILED.map((id) => [id, 'JCJ-JYZ', '查验员', `查验员${id.slice(-2)}`, '是', '2023-03-01', '2029-12-31', id === SELF ? SELF_HASH : '']),
    [LATE, 'JCJ-JYZ', '查验员', '新查验员', '是', '2026-11-20', '2029-12-31', ''],
  ]);
  await importAndApprove('device', [
    ['设备编号', '机构', '设备类别', '名称', '检测线', '已备案', '有效期起', '有效期止', '检定有效期至'],
    ['JCJ-JYZ-CAM-01', 'JCJ-JYZ', '查验摄像设备', '查验通道摄像机', 'L1', '是', '2022-01-01', '', '2027-06-30'],
  ]);
  wall = connect(`${hub.url}/wall`, { transports: ['websocket'], reconnection: false, forceNew: true });
  wall.on('warning.raised', (batch: { transactionId: string }[]) => batch.forEach((w) => liveIds.add(w.transactionId)));
  socket = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
}, 120_000);

afterAll(async () => {
  socket?.close();
  wall?.close();
  await hub?.close();
});

/** The labelled day: 3 checks per inspector, each in their own lane, 30 minutes apart. */
function day() {
  const people = [...FILED, LATE, NEVER];
  const records = [];
  const truth = new Map<string, string>(); // transaction id → the rule that must fire
  let seq = 1;
  for (const [i, staffId] of people.entries()) {
    for (let j = 0; j < 3; j++, seq++) {
      const start = DAY + j * 30 * 60_000 + i * 10_000;
      const own = staffId === SELF && j === 1;
      const t = checkTxn(seq, {
        staffId,
        counter: `L${i + 1}`,
        lsh: `2611180${String(seq).padStart(5, '0')}`,
        occurredAt: start + 400_000,
        startedAt: start,
        endedAt: start + 400_000,
        ...(own ? { subject: { idHash: SELF_HASH, masked: '4512**********005X' } } : {}),
      });
      records.push(t);
      if (staffId === LATE || staffId === NEVER) truth.set(t.id, 'check.inspector_unfiled');
      if (own) truth.set(t.id, 'counter.self_dealing');
    }
  }
  return { records, truth };
}

describe('going live: a past day replayed against filings imported with their own dates', () => {
  it('the as-of registry holds the past', () => {
    expect(hub.registry.at(DAY).staff(FILED[0]!)?.filed).toBe(true);
    expect(hub.registry.at(DAY).staff(LATE)).toBeUndefined();
    expect(hub.registry.at(Date.UTC(2026, 10, 21)).staff(LATE)?.filed).toBe(true);
    expect(hub.registry.at(DAY).device?.('JCJ-JYZ-CAM-01')?.lineId).toBe('L1');
    expect(hub.registry.staff(SELF)?.idHash).toBe(SELF_HASH);
  });

  it('raises what was wrong at the time, and little else', async () => {
    const { records, truth } = day();
    let seq = 1;
    for (let i = 0; i < records.length; i += 20) {
      const part = records.slice(i, i + 20);
      const ack: BatchAck = await socket.timeout(60_000).emitWithAck('batch.submit', unsignedBatch(part, seq));
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
      seq += part.length;
    }
    const ids = records.map((r) => r.id);
    const raised = await hub.store.query<{ transaction_id: string; rule_id: string }>(
      sql`SELECT transaction_id, rule_id FROM warnings FINAL WHERE transaction_id IN ${param.ArrayString(ids)}`,
    );
    const hits = new Set(raised.map((w) => `${w.transaction_id}|${w.rule_id}`));
    const truePositives = raised.filter((w) => truth.get(w.transaction_id) === w.rule_id).length;
    const precision = raised.length ? truePositives / raised.length : 0;
    console.info(`go-live replay: ${records.length} records, ${raised.length} warnings, ${truePositives} true, precision ${precision.toFixed(3)}`);
    // Every labelled warning is raised…
    for (const [id, rule] of truth) expect(hits.has(`${id}|${rule}`), `${id} ${rule}`).toBe(true);
    // …no filed inspector is "unfiled"…
    const filedIds = new Set(records.filter((r) => FILED.includes(r.staffId!)).map((r) => r.id));
    expect(raised.filter((w) => filedIds.has(w.transaction_id) && w.rule_id === 'check.inspector_unfiled')).toEqual([]);
    // …and precision on the labelled day is at least 0.9 (7 true warnings of 66 records).
    expect(truth.size).toBe(7);
    expect(precision, `precision ${precision.toFixed(3)} — raised ${JSON.stringify(raised)}`).toBeGreaterThanOrEqual(0.9);
    const explanation = await hub.store.query<{ explanation: string }>(
      sql`SELECT explanation FROM warnings FINAL WHERE rule_id = 'counter.self_dealing' AND transaction_id IN ${param.ArrayString(ids)}`,
    );
    expect(explanation[0]?.explanation).toContain(SELF);
    // The wall is not flooded: a week-old day is stored and worked, not pushed as live.
    await new Promise((r) => setTimeout(r, 500));
    expect(ids.filter((id) => liveIds.has(id))).toEqual([]);
  }, 180_000);
});

describe('import of existing filings with bad rows', () => {
  it('reports every bad row and files nothing', async () => {
    const before = (await hub.app.inject(withToken(tokens.registry!, { url: '/api/v1/registry/requests?status=pending' }))).json().total as number;
    const res = await hub.app.inject(
      withToken(tokens.registry!, {
        method: 'POST',
        url: '/api/v1/registry/imports',
        payload: {
          entity: 'staff',
          filename: 'bad.csv',
          contentBase64: csv([
            ['编号', '机构', '角色', '已备案', '有效期起', '有效期止'],
            ['JCJ-JYZ-Q01', 'JCJ-JYZ', '查验员', '是', '2023-03-01', '2029-12-31'],
            ['JCJ-JYZ-Q02', 'JCJ-JYZ', '站长', '是', '2023-03-01', ''],
            ['JCJ-JYZ-Q03', 'JCJ-JYZ', '查验员', '是', '2023-02-30x', ''],
            ['JCJ-JYZ-Q04', 'NO-SUCH', '查验员', '是', '2023-03-01', ''],
            ['JCJ-JYZ-Q05', 'JCJ-JYZ', '查验员', '是', '2024-03-01', '2023-03-01'],
          ]),
        },
      }),
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('IMPORT_INVALID');
    const rows = (res.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`);
    expect(rows).toEqual(expect.arrayContaining(['3:role', '4:validFrom']));
    const after = (await hub.app.inject(withToken(tokens.registry!, { url: '/api/v1/registry/requests?status=pending' }))).json().total as number;
    expect(after).toBe(before);
  });

  it('previews a valid file without filing it, and refuses an unknown institution and reversed dates', async () => {
    const file = (rows: string[][]) => ({ entity: 'device', filename: 'devices.csv', contentBase64: csv(rows), preview: true });
    const header = ['设备编号', '机构', '设备类别', '已备案', '有效期起', '有效期止'];
    const ok = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-1', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', '']]) }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ preview: true, total: 1, items: [{ row: 2, data: { id: 'D-1', kind: 'inspection_instrument' } }] });
    expect(ok.json().items[0].validFrom).toBe(Date.UTC(2021, 3, 30, 16));
    const bad = await hub.app.inject(
      withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-2', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', ''], ['D-3', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', '2020-01-01']]) }),
    );
    expect(bad.statusCode, bad.body).toBe(422);
    expect((bad.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`)).toEqual(['3:validTo']);
    const unknown = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-2', 'NO-SUCH', '检测仪器', '是', '2021-05-01', '']]) }));
    expect(unknown.statusCode, unknown.body).toBe(422);
    expect((unknown.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`)).toEqual(['2:institutionId']);
  });

  it('a change request carries an effective time in the past, shown on the request and used by the versions', async () => {
    const staff = { ...hub.registry.staff(FILED[1]!)!, name: '更正姓名' };
    const filed = await hub.app.inject(
      withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/requests', payload: { summary: '更正', effectiveFrom: '2025-01-01T00:00:00+08:00', items: [{ entity: 'staff', data: staff }] } }),
    );
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().effectiveFrom).toBe(Date.UTC(2024, 11, 31, 16));
    const shown = await hub.app.inject(withToken(tokens.registry2!, { url: `/api/v1/registry/requests/${filed.json().id}` }));
    expect(shown.json().effectiveFrom).toBe(Date.UTC(2024, 11, 31, 16));
    await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
    expect(hub.registry.at(Date.UTC(2025, 0, 2)).staff(FILED[1]!)?.name).toBe('更正姓名');
    expect(hub.registry.at(Date.UTC(2024, 5, 1)).staff(FILED[1]!)?.name).toBe('查验员02');
    const versions = (await hub.app.inject(withToken(tokens.registry!, { url: `/api/v1/registry/staff/${FILED[1]}/versions` }))).json().items as { version: number; validFrom: number; validTo: number | null }[];
    expect(versions.map((v) => [v.version, v.validFrom, v.validTo])).toEqual([
      [1, Date.UTC(2023, 1, 28, 16), Date.UTC(2024, 11, 31, 16)],
      [2, Date.UTC(2024, 11, 31, 16), null],
    ]);
  });
});
