/**
 * The peer-deviation job (定时研判) on a real hub: a clerk with six times the output of the other
 * clerks at branch offices is flagged by counter.output_outlier (z > 3 against the others), the
 * warning is stored with a deterministic id and the rule set's version and pushed to the wall;
 * a second run over the same period finds it again but raises nothing new.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { DEMO_STAFF } from '@jianguan/rules';
import { periodEndOf } from '../src/peer/service.js';
import type { WallWarning } from '../src/protocol/index.js';
import { transactionRow } from '../src/store/repo.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, withToken } from './helpers.js';

let hub: Hub;
let token = '';
let wall: Socket;
const received: WallWarning[] = [];

/** Clerks of vehicle-office branches (one peer group) and their business counts in the period. */
const OUTPUT: Record<string, [string, string, number]> = {
  'YZ-CGFS-C01': ['YZ-CGFS', '451203', 10],
  'ND-CGFS-C01': ['ND-CGFS', '451221', 11],
  'DA-CGFS-C01': ['DA-CGFS', '451228', 9],
  'TE-CGFS-C01': ['TE-CGFS', '451222', 10],
  'YZ-CGFS-C02': ['YZ-CGFS', '451203', 60],
};

beforeAll(async () => {
  ({ hub } = await startTestHub());
  token = await login(hub, 'rules');
  // Two days before today's local midnight: inside the 30-day period of a run today.
  const base = periodEndOf(Date.now()) - 2 * 86_400_000;
  const rows: Record<string, unknown>[] = [];
  let seq = 5000;
  for (const [staffId, [institutionId, county, n]] of Object.entries(OUTPUT)) {
    for (let i = 0; i < n; i++) {
      const at = base + (seq % 600) * 60_000;
      const t = checkTxn(seq++, { kind: 'vehicle', channel: 'counter', source: 'veh_flow', ywlx: 'B', institutionId, staffId, counter: 'W1', occurredAt: at, startedAt: at, endedAt: at + 300_000 });
      rows.push(transactionRow(t, { batchId: 'seed', county, ruleSet: 'seed', warningCount: 0 }));
    }
  }
  await hub.store.insert('transactions', rows);
  wall = connect(`${hub.url}/wall`, { transports: ['websocket'], reconnection: false, forceNew: true });
  wall.on('warning.raised', (ws: WallWarning[]) => received.push(...ws));
  await new Promise<void>((resolve, reject) => {
    wall.once('wall.snapshot', () => resolve());
    wall.once('connect_error', reject);
  });
});

afterAll(async () => {
  wall?.close();
  await hub?.close();
});

describe('peer deviation job', () => {
  it('is scheduled daily', async () => {
    const schedulers = await hub.peer.queue.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).toEqual([['peer-daily', '0 30 2 * * *', 'Asia/Shanghai']]);
  });

  it('raises a warning for the outlier, stores and broadcasts it', async () => {
    const res = await hub.app.inject(withToken(token, { method: 'POST', url: '/api/v1/peer-deviation/run', payload: { wait: true } }));
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json().result;
    expect(result).toMatchObject({ findings: 1, raised: 1, ruleSet: hub.rulesets.versionAt(), transactions: 100 });
    expect(result.rules.find((r: { ruleId: string }) => r.ruleId === 'counter.output_outlier')).toMatchObject({ entities: 5, findings: 1 });

    const rows = await hub.store.query<Record<string, string>>(
      sql`SELECT id, rule_id, institution_id, county, rule_set, explanation, transaction_id FROM warnings FINAL WHERE rule_id = ${param.String('counter.output_outlier')}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: result.warningIds[0], institution_id: 'YZ-CGFS', county: '451203', rule_set: hub.rulesets.versionAt() });
    // The clerk by the name the registry files, the code beside it.
    const clerk = DEMO_STAFF.find((x) => x.id === 'YZ-CGFS-C02')!;
    expect(rows[0]!.explanation).toMatch(new RegExp(`^业务员${clerk.name}（YZ-CGFS-C02）近30天办件60笔，同类人员平均10笔，偏离.+个标准差，阈值3$`));
    expect(rows[0]!.transaction_id).toMatch(/^peer:YZ-CGFS-C02:\d{4}-\d{2}-\d{2}~\d{4}-\d{2}-\d{2}$/);

    const deadline = Date.now() + 5000;
    while (!received.some((w) => w.ruleId === 'counter.output_outlier') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received.filter((w) => w.ruleId === 'counter.output_outlier').map((w) => [w.id, w.institutionName, w.countyName])).toEqual([[rows[0]!.id, '宜州区车管分所', '宜州区']]);
  });

  it('does not raise it again on a second run over the same period', async () => {
    const before = received.length;
    const res = await hub.app.inject(withToken(token, { method: 'POST', url: '/api/v1/peer-deviation/run', payload: { wait: true } }));
    expect(res.json().result).toMatchObject({ findings: 1, raised: 0, warningIds: [] });
    const [n] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM warnings WHERE rule_id = ${param.String('counter.output_outlier')}`);
    expect(Number(n!.n)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBe(before);
    const runs = await hub.app.inject(withToken(token, { url: '/api/v1/peer-deviation/runs' }));
    expect(runs.json().items.map((r: { raised: number; findings: number }) => [r.findings, r.raised])).toEqual([
      [1, 0],
      [1, 1],
    ]);
  });
});
