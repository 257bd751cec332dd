/**
 * End to end: simulated collectors → real hub (socket.io, BullMQ on real Redis, chDB) → store →
 * a wall client. Every sent record is stored exactly once or dead-lettered with a reason, every
 * injected anomaly is raised (and nothing else is), and the wall sees the warnings live.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { startHub, type Hub } from '@jianguan/hub/app';
import type { WallWarning } from '@jianguan/protocol';
import { DEMO_COLLECTORS } from '@jianguan/rules';
import { startCollector, type CollectorHandle, loadOrCreateIdentity } from '../src/index.js';
import { removeDir } from './helpers.js';

/** The collector's key, made in its outbox before it starts, as its credential binds it. */
async function boundKey(outboxDir: string): Promise<string> {
  fs.mkdirSync(outboxDir, { recursive: true });
  return (await loadOrCreateIdentity(outboxDir)).publicKey;
}

const redisUrl = process.env.JG_TEST_REDIS_URL;
if (!redisUrl) throw new Error('JG_TEST_REDIS_URL is not set: run the suite with `npm test` (it starts a private Redis)');

const PER_COLLECTOR = 160;
const FLEET = DEMO_COLLECTORS.slice(0, 6).map((c) => ({ ...c, collectorId: `e2e-${c.collectorId}`, token: crypto.randomBytes(16).toString('hex') }));

let hub: Hub;
let wall: Socket;
let tmp: string;
const wallWarnings = new Map<string, WallWarning>();
const handles: CollectorHandle[] = [];

interface Row {
  [k: string]: unknown;
}
async function q<T = Row>(text: string): Promise<T[]> {
  return hub.store.query<T>({ sql: text, params: {} });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-e2e-'));
  hub = await startHub(
    {
      backupHour: -1,
      port: 0,
      host: '127.0.0.1',
      redisUrl,
      queuePrefix: `jge2e-${crypto.randomBytes(4).toString('hex')}`,
      dataDir: path.join(tmp, 'hub'),
      seedDemo: true,
      // Simulated business outside working time carries the last working day's hours: all live.
      wallLiveMaxAgeMs: 14 * 86_400_000,
      // Each collector's key, made in its outbox before it starts, is bound in its credential.
      collectors: await Promise.all(
        FLEET.map(async ({ collectorId, institutionId, token }) => ({
          collectorId,
          institutionId,
          token,
          publicKey: (await boundKey(path.join(tmp, 'outbox', collectorId))),
        })),
      ),
      logLevel: 'warn',
      wallFlushMs: 50,
      // This suite reads the wall anonymously and compares the hashes the collectors sent.
      wallPublic: true,
      pseudonymSecrets: 'identity',
    },
    {},
  );
  wall = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
  wall.on('warning.raised', (batch: WallWarning[]) => {
    for (const w of batch) wallWarnings.set(w.id, w);
  });
  await new Promise<void>((resolve) => wall.once('wall.snapshot', () => resolve()));

  for (const [i, c] of FLEET.entries()) {
    handles.push(
      await startCollector({
        collectorId: c.collectorId,
        token: c.token,
        hubUrl: hub.url,
        institutionId: c.institutionId,
        outboxDir: path.join(tmp, 'outbox', c.collectorId),
        pseudonymKey: 'e2e-pseudonym-key-0123456789abcdef',
        batch: { maxRecords: 25, maxBytes: 512 * 1024, lingerMs: 20 },
        simulator: { enabled: true, ratePerSec: 200, anomalyRate: 0.15, malformedRate: 0.03, maxRecords: PER_COLLECTOR, seed: 7 + i },
      }),
    );
  }
  await Promise.all(handles.map((h) => h.drained(120_000)));
}, 180_000);

afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop()));
  wall?.close();
  await hub?.close();
  if (tmp) removeDir(tmp);
});

describe('collectors → hub → ClickHouse → wall', () => {
  it('stores every valid record exactly once and dead-letters every malformed one', async () => {
    const injected = handles.flatMap((h) => h.injected());
    const malformed = new Set(injected.filter((a) => a.ruleId === '__malformed__').map((a) => a.transactionId));
    expect(malformed.size).toBeGreaterThan(0);

    const stored = await q<{ id: string; n: string }>('SELECT id, count() AS n FROM transactions FINAL GROUP BY id');
    const dead = await q<{ record_id: string; reason: string }>('SELECT record_id, reason FROM dead_letters FINAL');
    expect(stored.every((r) => Number(r.n) === 1)).toBe(true);

    const storedIds = new Set(stored.map((r) => r.id));
    const deadIds = new Set(dead.map((r) => r.record_id));
    expect(deadIds).toEqual(malformed);
    for (const d of dead) expect(d.reason.length).toBeGreaterThan(5);

    // Per collector, stored ∪ dead-lettered is exactly the sequence range it generated.
    let total = 0;
    for (const h of handles) {
      const generated = h.status().generated;
      expect(generated).toBe(PER_COLLECTOR);
      const seqs = [...storedIds, ...deadIds]
        .filter((id) => id.startsWith(`${h.id}:`))
        .map((id) => Number(id.slice(h.id.length + 1)))
        .sort((a, b) => a - b);
      expect(seqs).toHaveLength(generated);
      expect(new Set(seqs).size).toBe(generated);
      expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBe(generated);
      total += generated;
    }
    expect(storedIds.size + deadIds.size).toBe(total);
    for (const h of handles) expect(h.status().outboxDepth).toBe(0);
  });

  it('raises every injected anomaly, and nothing on normal traffic', async () => {
    const injected = handles.flatMap((h) => h.injected()).filter((a) => a.ruleId !== '__malformed__');
    expect(injected.length).toBeGreaterThan(10);
    expect(new Set(injected.map((a) => a.ruleId)).size).toBeGreaterThanOrEqual(4);
    const warnings = await q<{ rule_id: string; transaction_id: string; explanation: string }>(
      'SELECT rule_id, transaction_id, explanation FROM warnings FINAL',
    );
    const raised = new Set(warnings.map((w) => `${w.rule_id}|${w.transaction_id}`));
    const expected = new Set(injected.map((a) => `${a.ruleId}|${a.transactionId}`));
    const missed = [...expected].filter((k) => !raised.has(k));
    const unexpected = [...raised].filter((k) => !expected.has(k));
    expect(missed).toEqual([]);
    expect(unexpected).toEqual([]);
    for (const w of warnings) expect(w.explanation).toMatch(/[\u4e00-\u9fa5]/);
  });

  it('pushes every warning to the wall with masked identities', async () => {
    const ids = (await q<{ id: string }>('SELECT id FROM warnings FINAL')).map((r) => r.id);
    const deadline = Date.now() + 10_000;
    while (ids.some((id) => !wallWarnings.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ids.filter((id) => !wallWarnings.has(id))).toEqual([]);
    for (const w of wallWarnings.values()) {
      expect(w.countyName).not.toBe('');
      if (w.subjectMasked) expect(w.subjectMasked).toMatch(/^\d{2}\*+\d[\dX]$/);
    }
  });

  it('never lets a raw identity number reach the store', async () => {
    const rows = await q<{ n: string }>(
      "SELECT count() AS n FROM transactions WHERE match(subject_masked, '^[0-9]{17}[0-9X]$') OR match(agent_masked, '^[0-9]{17}[0-9X]$') OR NOT match(subject_hash, '^([0-9a-f]{16,128})?$')",
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('reports the pipeline in /healthz', async () => {
    const h = await hub.health();
    const [row] = await q<{ n: string }>('SELECT uniqExact(id) AS n FROM transactions');
    expect(h.transactions_stored).toBe(Number(row!.n));
    expect(h.dead_letters).toBeGreaterThan(0);
    expect(h.collectors_connected).toBe(FLEET.length);
    expect(h.queue_waiting).toBe(0);
  });
});
