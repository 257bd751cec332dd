/**
 * Volumes by business type on the institution drill-down (real chDB + Redis): exact counts per
 * (kind, ywlx) for hand-placed transactions, local-month boundaries, re-sent duplicates counted
 * once, the previous month, the peer mean over the other institutions of the same type, county
 * scope, validation errors, and the CSV export read back equal to the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import { parseCsv, readXlsx } from '../src/exports/table.js';
import { InstitutionVolumesSchema } from '../src/protocol/volumes.js';
import { transactionRow } from '../src/store/repo.js';
import { checkTxn, login, startTestHub, withToken } from './helpers.js';

let hub: Hub;
const tokens: Record<string, string> = {};
const MONTH = '2026-10';
const HOUR = 3_600_000;
/** Local (China Standard Time, UTC+8) wall-clock time as epoch ms. */
const cst = (y: number, m: number, d: number, h: number, min = 0) => Date.UTC(y, m - 1, d, h - 8, min);
const OCT = cst(2026, 10, 15, 10);
const SEP = cst(2026, 9, 15, 10);

const COUNTY: Record<string, string> = { 'YZ-JYZ': '451203', 'JCJ-JYZ': '451202', 'DL-JYZ': '451224' };
let seq = 500_000;

interface Spec {
  institutionId: string;
  kind: Transaction['kind'];
  ywlx: string;
  n: number;
  at: number;
  warned?: number;
}

/** Inserts `n` transactions of one business type; the first `warned` carry a warning. Returns the rows. */
async function seed(s: Spec): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < s.n; i++) {
    const n = seq++;
    const at = s.at + i * 60_000;
    const t = checkTxn(n, { institutionId: s.institutionId, kind: s.kind, ywlx: s.ywlx, occurredAt: at, startedAt: at, endedAt: at + 300_000 });
    rows.push(transactionRow(t, { batchId: `vol:${n}`, county: COUNTY[s.institutionId]!, ruleSet: 'test', warningCount: i < (s.warned ?? 0) ? 1 : 0 }));
  }
  await hub.store.insert('transactions', rows);
  return rows;
}

async function get(user: string, url: string) {
  return hub.app.inject(withToken(tokens[user]!, { url }));
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['leader', 'auditor-yz', 'wall']) tokens[u] = await login(hub, u);

  // 宜州区机动车检测站 (inspection station) — October.
  const checkA = await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'A', n: 5, warned: 2, at: OCT });
  await seed({ institutionId: 'YZ-JYZ', kind: 'inspection', ywlx: 'P', n: 4, warned: 1, at: OCT + HOUR });
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'B', n: 3, at: OCT + 2 * HOUR });
  // Same letter, other code table: B is 增驾 for a licence, not 转移登记.
  await seed({ institutionId: 'YZ-JYZ', kind: 'licence', ywlx: 'B', n: 2, at: OCT + 3 * HOUR });
  // Local-month boundaries: 1 Oct 00:30 CST is October although it is 30 Sep in UTC;
  // 30 Sep 23:30 CST is September; 1 Nov 00:30 CST is November.
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'D', n: 1, at: cst(2026, 10, 1, 0, 30) });
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'D', n: 1, at: cst(2026, 9, 30, 23, 30) });
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'D', n: 1, at: cst(2026, 11, 1, 0, 30) });
  // A batch re-sent after a lost acknowledgement: the same ids again must not count twice.
  await hub.store.insert('transactions', checkA.slice(0, 3).map((r) => ({ ...r, batch_id: 'vol:resent' })));

  // September: check A ×2, and check K ×1 which stopped in October.
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'A', n: 2, at: SEP });
  await seed({ institutionId: 'YZ-JYZ', kind: 'check', ywlx: 'K', n: 1, at: SEP + HOUR });

  // Peers of the same type (inspection stations) in October.
  await seed({ institutionId: 'JCJ-JYZ', kind: 'check', ywlx: 'A', n: 4, at: OCT });
  await seed({ institutionId: 'JCJ-JYZ', kind: 'inspection', ywlx: 'P', n: 1, at: OCT + HOUR });
  await seed({ institutionId: 'DL-JYZ', kind: 'check', ywlx: 'A', n: 2, warned: 2, at: OCT });
  // A peer's business in another month does not enter the October mean.
  await seed({ institutionId: 'DL-JYZ', kind: 'check', ywlx: 'B', n: 6, at: SEP });
  // A peer-only business type is not a row of 宜州's table.
  await seed({ institutionId: 'JCJ-JYZ', kind: 'check', ywlx: 'G', n: 2, at: OCT });
});

afterAll(async () => {
  await hub?.close();
});

describe('volumes by business type', () => {
  it('counts each business type of the month with warnings, the previous month and the peer mean', async () => {
    const res = await get('leader', `/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=${MONTH}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = InstitutionVolumesSchema.parse(res.json());
    expect(body).toMatchObject({
      institutionId: 'YZ-JYZ',
      month: '2026-10',
      previousMonth: '2026-09',
      total: { transactions: 15, warned: 3, previous: 4 },
      peers: { type: 'inspection_station', count: 2, county: null },
    });
    expect(body.items.map((r) => [r.key, r.label, r.transactions, r.warned, r.warningRate, r.previous, r.peerMean])).toEqual([
      // Peer mean over 金城江 and 东兰 (zeros included): A (4 + 2) / 2, P (1 + 0) / 2.
      ['check:A', '机动车查验·注册登记', 5, 2, 0.4, 2, 3],
      ['inspection:P', '安全技术检验·核发检验合格标志', 4, 1, 0.25, 0, 0.5],
      ['check:B', '机动车查验·转移登记', 3, 0, 0, 0, 0],
      ['licence:B', '驾驶证业务·增驾', 2, 0, 0, 0, 0],
      ['check:D', '机动车查验·变更登记', 1, 0, 0, 1, 0],
      // Did business last month, none this month: kept, so the drop shows.
      ['check:K', '机动车查验·补换牌证/合格标志', 0, 0, null, 1, 0],
    ]);
  });

  it('defaults to the current month and answers an empty month with no rows', async () => {
    const res = await get('leader', '/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=2026-06');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ month: '2026-06', previousMonth: '2026-05', total: { transactions: 0, warned: 0, previous: 0 }, items: [] });
    const now = new Date(Date.now() + 8 * HOUR).toISOString().slice(0, 7);
    expect((await get('leader', '/api/v1/evaluation/institutions/YZ-JYZ/volumes')).json().month).toBe(now);
  });

  it('keeps a county auditor to their county, peers included', async () => {
    const own = await get('auditor-yz', `/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=${MONTH}`);
    expect(own.statusCode, own.body).toBe(200);
    const body = InstitutionVolumesSchema.parse(own.json());
    // The same counts; no other inspection station in 宜州区, so no peer mean.
    expect(body.total).toEqual({ transactions: 15, warned: 3, previous: 4 });
    expect(body.peers).toEqual({ type: 'inspection_station', count: 0, county: '451203' });
    expect(body.items.every((r) => r.peerMean === null)).toBe(true);

    const other = await get('auditor-yz', `/api/v1/evaluation/institutions/DL-JYZ/volumes?month=${MONTH}`);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('OUT_OF_SCOPE');
    const otherCsv = await get('auditor-yz', `/api/v1/evaluation/institutions/DL-JYZ/volumes.csv?month=${MONTH}`);
    expect(otherCsv.statusCode).toBe(403);
  });

  it('refuses a role without evaluation access, an unknown institution and a malformed month', async () => {
    const wall = await get('wall', `/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=${MONTH}`);
    expect(wall.statusCode).toBe(403);
    expect(wall.json().error.code).toBe('FORBIDDEN');

    const unknown = await get('leader', `/api/v1/evaluation/institutions/NO-SUCH/volumes?month=${MONTH}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');

    for (const bad of ['2026-13', '2026-1', '202610', 'october']) {
      const res = await get('leader', `/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=${bad}`);
      expect(res.statusCode, bad).toBe(400);
      const err = res.json().error as { code: string; message: string };
      expect(err.code).toBe('QUERY_INVALID');
      // The message names the parameter and the expected format.
      expect(err.message).toContain('month');
      expect(err.message).toContain('YYYY-MM');
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await hub.app.inject(withToken(tokens.leader!, { url: '/docs/json' }))).json() as { paths: Record<string, Record<string, { summary?: string }>> };
    const path = doc.paths['/api/v1/evaluation/institutions/{id}/volumes'];
    expect(path?.get?.summary).toContain('业务量');
  });

  it('exports the table to CSV and XLSX with the same rows as the API', async () => {
    const api = InstitutionVolumesSchema.parse((await get('leader', `/api/v1/evaluation/institutions/YZ-JYZ/volumes?month=${MONTH}`)).json());
    const csvRes = await get('leader', `/api/v1/evaluation/institutions/YZ-JYZ/volumes.csv?month=${MONTH}`);
    expect(csvRes.statusCode).toBe(200);
    const csv = parseCsv(csvRes.body);
    const header = csv[0]!;
    expect(header).toEqual(['月份', '业务类别', '业务类型代码', '业务类型', '业务量', '上月业务量', '预警笔数', '预警率', '同类均值']);
    expect(csv.slice(1).map((r) => [r[3], Number(r[4]), Number(r[5]), r[7], r[8]])).toEqual(
      api.items.map((i) => [i.label, i.transactions, i.previous, i.warningRate === null ? '' : `${(i.warningRate * 100).toFixed(1)}%`, String(i.peerMean ?? '')]),
    );
    expect(csv[1]!.slice(0, 5)).toEqual(['2026-10', '机动车查验', 'A', '机动车查验·注册登记', '5']);
    const xlsx = await readXlsx((await get('leader', `/api/v1/evaluation/institutions/YZ-JYZ/volumes.xlsx?month=${MONTH}`)).rawPayload);
    expect(xlsx).toEqual(csv);
  });
});
