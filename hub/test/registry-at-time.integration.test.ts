/**
 * Rules judge a transaction against the registry as it stood when the transaction happened —
 * in real time (a backlog arriving after a filing changed) and in backtests — through real
 * registry approvals, real socket.io ingest, BullMQ, Redis and chDB.
 */
import { createEngine, createWorkCalendar, DEFAULT_PACK } from '@jianguan/rules';
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { Principal } from '../src/http/access.js';
import { runBacktest } from '../src/backtest/runner.js';
import { RegistryChanges } from '../src/registry/changes.js';
import { Registry } from '../src/registry/registry.js';
import type { BatchAck } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, unsignedBatch, WORKING_TIME, withToken } from './helpers.js';

let hub: Hub;
let socket: Socket;
const tokens: Record<string, string> = {};
const INSPECTOR = 'JCJ-JYZ-I01';
const VIN = 'LSVBLACK0E2123456';
let changedAt = 0;
const PREFIX = `jgt-reg-${process.pid}-${Date.now().toString(36)}`;

function submit(records: object[], firstSeq: number): Promise<BatchAck> {
  return socket.timeout(30_000).emitWithAck('batch.submit', unsignedBatch(records, firstSeq));
}

async function rulesFired(transactionId: string): Promise<string[]> {
  const rows = await hub.store.query<{ rule_id: string }>(sql`SELECT rule_id FROM warnings FINAL WHERE transaction_id = ${param.String(transactionId)} ORDER BY rule_id`);
  return rows.map((r) => r.rule_id);
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ queuePrefix: PREFIX, workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['registry', 'registry2']) tokens[u] = await login(hub, u);
  // One approved request: the inspector's filing is retired, and a VIN joins the check black list.
  const inspector = hub.registry.staff(INSPECTOR)!;
  expect(inspector.filed).toBe(true);
  const filed = await hub.app.inject(
    withToken(tokens.registry!, {
      method: 'POST',
      url: '/api/v1/registry/requests',
      payload: {
        summary: '注销查验员备案；车辆列入查验黑名单',
        items: [
          { entity: 'staff', op: 'retire', data: inspector },
          { entity: 'listing', data: { list: 'vin_check_black', key: VIN, note: '涉嫌拼装' } },
        ],
      },
    }),
  );
  expect(filed.statusCode, filed.body).toBe(201);
  const ok = await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
  expect(ok.statusCode, ok.body).toBe(200);
  changedAt = ok.json().decidedAt;
  socket = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
});

afterAll(async () => {
  socket?.close();
  await hub?.close();
});

// Yesterday's check (done while the inspector was filed and the VIN was clean) arrives now as a
// backlog, in the same batch as one done after the change.
const before = () => checkTxn(1, { vehicle: { hpzl: '02', hphm: '桂M10001', vin: VIN } });
const after = () => {
  const at = changedAt + 1_000;
  return checkTxn(2, { occurredAt: at, startedAt: at, endedAt: at + 400_000, vehicle: { hpzl: '02', hphm: '桂M10002', vin: VIN } });
};

describe('the registry at the transaction time', () => {
  it('the live registry already shows the change', () => {
    expect(WORKING_TIME).toBeLessThan(changedAt);
    expect(hub.registry.staff(INSPECTOR)?.filed).toBe(false);
    expect(hub.registry.listing('vin_check_black', VIN)?.note).toBe('涉嫌拼装');
    expect(hub.registry.at(WORKING_TIME).staff(INSPECTOR)?.filed).toBe(true);
    expect(hub.registry.at(WORKING_TIME).listing?.('vin_check_black', VIN)).toBeUndefined();
  });

  it('real-time evaluation judges a backlog by the registry of its own time', async () => {
    const ack = await submit([before(), after()], 1);
    expect(ack.ok, JSON.stringify(ack)).toBe(true);
    const old = await rulesFired(before().id);
    const recent = await rulesFired(after().id);
    expect(old).not.toContain('check.inspector_unfiled');
    expect(old).not.toContain('check.vin_blacklisted');
    expect(recent).toContain('check.inspector_unfiled');
    expect(recent).toContain('check.vin_blacklisted');
    const [w] = await hub.store.query<{ explanation: string }>(
      sql`SELECT explanation FROM warnings FINAL WHERE transaction_id = ${param.String(after().id)} AND rule_id = 'check.vin_blacklisted'`,
    );
    expect(w!.explanation).toContain('涉嫌拼装');
  });

  it('a backtest replays each stored transaction against the registry of its time', async () => {
    const engine = createEngine(DEFAULT_PACK);
    const progress: number[] = [];
    const result = await runBacktest(
      { store: hub.store, registry: hub.registry.snapshot(), calendar: createWorkCalendar(), pageSize: 1, examples: 5 },
      engine,
      engine,
      { from: WORKING_TIME - 3_600_000, to: changedAt + 3_600_000 },
      async (done) => void progress.push(done),
    );
    expect(result.transactions).toBe(2);
    for (const id of ['check.inspector_unfiled', 'check.vin_blacklisted']) {
      // Once (the recent check), not twice: yesterday's check saw yesterday's registry.
      expect(result.byRule.find((l) => l.key === id)).toMatchObject({ live: 1, draft: 1, added: 0, removed: 0 });
    }
    expect(progress.at(-1)).toBe(2);
  });

  it('the hold path asks the registry of the asked-about time too', async () => {
    const res = await hub.decisions.decide(before(), { channel: 'http', caller: { kind: 'user', id: 'test' } });
    expect(res.reasons.map((r) => r.ruleId)).not.toContain('check.vin_blacklisted');
    const now = await hub.decisions.decide(after(), { channel: 'http', caller: { kind: 'user', id: 'test' } });
    expect(now.decision).toBe('hold');
    expect(now.reasons.map((r) => r.ruleId)).toEqual(expect.arrayContaining(['check.vin_blacklisted', 'check.inspector_unfiled']));
  });
});

describe('several hub replicas', () => {
  it("a change approved on another replica reaches this replica's rules", async () => {
    // The other replica: its own in-memory registry over the same store and Redis.
    const redis = new Redis(testRedisUrl());
    const other = new Registry(hub.store);
    await other.reload();
    const changes = new RegistryChanges(hub.store, redis, PREFIX, other);
    const admin = (username: string): Principal => ({ userId: username, username, displayName: username, roles: ['registry_admin'], scope: null, institutions: [], sessionId: username });
    const key = 'c'.repeat(64);
    try {
      const req = await changes.createRequest(admin('registry'), {
        kind: 'change',
        summary: '列入黑名单',
        source: 'test',
        items: [{ entity: 'listing', op: 'upsert', data: { list: 'person_black', key, note: '冒名代办' } }],
      });
      expect(hub.registry.listing('person_black', key)).toBeUndefined();
      await changes.approve(admin('registry2'), req.id, '');
      expect(other.listing('person_black', key)?.note).toBe('冒名代办');
      await expect.poll(() => hub.registry.listing('person_black', key)?.note, { timeout: 5_000 }).toBe('冒名代办');
    } finally {
      redis.disconnect();
    }
  });
});
