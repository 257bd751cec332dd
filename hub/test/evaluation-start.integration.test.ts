/**
 * A hub started on a store whose scores an earlier process materialised refreshes the current
 * and previous months at once, not after its first interval: a leader opening an institution after
 * a restart saw the score's month volume of the last round before the stop beside the live
 * volumes (real chDB + Redis, the same data directory and prefix for both processes).
 */
import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { monthOf } from '../src/time/business-time.js';
import { login, removeDir, startTestHub, waitFor, withToken } from './helpers.js';
import { seedTransactions } from './seed.js';

const hubs: Hub[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const h of hubs) await h.close().catch(() => undefined);
  for (const d of dirs) removeDir(d);
});

async function transactionsOf(hub: Hub, token: string, month: string, id: string): Promise<number | undefined> {
  const res = await hub.app.inject(withToken(token, { method: 'GET', url: `/api/v1/evaluation/scores?month=${month}` }));
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().items as { institutionId: string; transactions: number }[]).find((r) => r.institutionId === id)?.transactions;
}

describe('scores after a restart', () => {
  it('are refreshed when the hub starts, not an interval later', async () => {
    const queuePrefix = `jgt-${crypto.randomBytes(4).toString('hex')}`;
    const opts = { queuePrefix, workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 };
    const first = await startTestHub(opts);
    hubs.push(first.hub);
    dirs.push(first.dataDir);
    // A minute ago: this month, or the previous one in the first minute of a month — both recent.
    const at = Date.now() - 60_000;
    const month = monthOf(at);
    let token = await login(first.hub, 'leader');
    const admin = await login(first.hub, 'admin');
    await seedTransactions(first.hub, 'DL-JYZ', '451224', 5, at - 10_000);
    const refreshed = await first.hub.app.inject(withToken(admin, { method: 'POST', url: '/api/v1/evaluation/refresh', payload: { month } }));
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    await waitFor(async () => (await transactionsOf(first.hub, token, month, 'DL-JYZ')) === 5, 'the month materialised with 5');
    // Business after the last round, then a stop: the row on file says 5.
    await seedTransactions(first.hub, 'DL-JYZ', '451224', 3, at);
    expect(await transactionsOf(first.hub, token, month, 'DL-JYZ')).toBe(5);
    await first.hub.close();
    hubs.length = 0;

    const second = await startTestHub({ ...opts, dataDir: first.dataDir });
    hubs.push(second.hub);
    dirs.push(second.dataDir);
    token = await login(second.hub, 'leader');
    await waitFor(async () => (await transactionsOf(second.hub, token, month, 'DL-JYZ')) === 8, 'the score counting the 8 stored transactions');
  });
});
