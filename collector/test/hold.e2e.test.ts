/**
 * 实时干预 end to end: counter software asks the collector's local endpoint "may this go ahead?",
 * the collector forwards it over its socket to a real hub (Redis, chDB, the full rule pack), and
 * the answer comes back with Chinese reasons. Nothing is stored as business by the question.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '@jianguan/hub/app';
import { loadOrCreateIdentity, startCollector, type CollectorHandle, type CollectorEvent } from '../src/index.js';
import { removeDir } from './helpers.js';

/** The collector's key, made in its outbox before it starts, as its credential binds it. */
async function boundKey(outboxDir: string): Promise<string> {
  fs.mkdirSync(outboxDir, { recursive: true });
  return (await loadOrCreateIdentity(outboxDir)).publicKey;
}

const redisUrl = process.env.JG_TEST_REDIS_URL;
if (!redisUrl) throw new Error('JG_TEST_REDIS_URL is not set: run the suite with `npm test` (it starts a private Redis)');

const COLLECTOR = { collectorId: 'hold-c-jcj-jyz-01', institutionId: 'JCJ-JYZ', token: crypto.randomBytes(16).toString('hex') };
let hub: Hub;
let collector: CollectorHandle;
let endpoint: string;
let tmp: string;

/** A vehicle check as the station's software would post it (raw identity number; the collector pseudonymises). */
function check(staffId: string) {
  return {
    kind: 'check',
    channel: 'institution',
    occurredAt: '2026-11-25 10:00:00',
    startedAt: '2026-11-25 10:00:00',
    endedAt: '2026-11-25 10:07:00',
    staffId,
    counter: 'L2',
    lsh: '2611250000123',
    subject: { idNumber: '45120219800101123X' },
    vehicle: { hpzl: '02', hphm: '桂M·A1234', vin: 'LSVAU218XN2183294' },
  };
}

async function ask(body: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${endpoint}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-hold-'));
  hub = await startHub(
    {
      backupHour: -1,
      port: 0,
      host: '127.0.0.1',
      redisUrl,
      queuePrefix: `jghold-${crypto.randomBytes(4).toString('hex')}`,
      dataDir: path.join(tmp, 'hub'),
      seedDemo: true,
      // The collector's key, made in its outbox before it starts, is bound in its credential.
      collectors: [{ ...COLLECTOR, publicKey: (await boundKey(path.join(tmp, 'outbox'))) }],
      logLevel: 'warn',
      pseudonymSecrets: 'identity',
    },
    {},
  );
  const events: CollectorEvent[] = [];
  collector = await startCollector(
    {
      ...COLLECTOR,
      hubUrl: hub.url,
      outboxDir: path.join(tmp, 'outbox'),
      pseudonymKey: 'hold-pseudonym-key-0123456789abcdef',
      sources: [{ type: 'http', port: 0, decisionTimeoutMs: 5000 }],
    },
    { onEvent: (e) => events.push(e) },
  );
  const listening = events.find((e) => e.event === 'http.listening') as Extract<CollectorEvent, { event: 'http.listening' }>;
  endpoint = listening.url;
  const deadline = Date.now() + 15_000;
  while (collector.status().link !== 'connected' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(collector.status().link).toBe('connected');
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await hub?.close();
  if (tmp) removeDir(tmp);
});

describe('synchronous hold through the collector', () => {
  it('holds a check by an inspector whose filing expired, saying why in Chinese', async () => {
    const r = await ask(check('JCJ-JYZ-I90'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'hold', fallback: false });
    const reason = (r.body.reasons as { ruleId: string; explanation: string }[]).find((x) => x.ruleId === 'check.inspector_unfiled');
    expect(reason).toBeDefined();
    expect(reason!.explanation).toMatch(/查验员.*过期/);
  });

  it('allows the same check by a filed inspector', async () => {
    const r = await ask(check('JCJ-JYZ-I01'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'allow', fallback: false });
    expect(r.body.reasons).toEqual([]);
  });

  it('stores the question as a decision, not as business', async () => {
    const tx = await hub.store.query<{ n: string }>({ sql: 'SELECT count() AS n FROM transactions', params: {} });
    expect(Number(tx[0]!.n)).toBe(0);
    const deadline = Date.now() + 5000;
    let rows: { decision: string }[] = [];
    while (rows.length < 2 && Date.now() < deadline) {
      rows = await hub.store.query<{ decision: string }>({ sql: 'SELECT decision FROM decisions ORDER BY decision', params: {} });
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows.map((x) => x.decision)).toEqual(['allow', 'hold']);
  });
});
