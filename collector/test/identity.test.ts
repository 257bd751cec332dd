/**
 * The collector's identity and batch chain: the key file (0600, reused, never silently
 * replaced), sealed batches that verify against the public key and link by hash, re-sends that
 * are byte-identical — also across a restart — and taking the hub's tip on BATCH_CHAIN_CONFLICT.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalBatchHeader, GENESIS_HASH, type Batch } from '@jianguan/protocol';
import { BatchChain, CHAIN_FILE, IDENTITY_FILE, loadOrCreateIdentity, recordsDigest, type CollectorIdentity } from '../src/identity/index.js';
import { Link, type LinkCounters, type LinkEvent } from '../src/link/link.js';
import { Outbox } from '../src/outbox/outbox.js';
import { ackAll, cleanupTmpDirs, startTestHub, tmpDir, TOKEN, waitFor, type TestHub } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  cleanupTmpDirs();
});

const CID = 'c-identity-test';

function verifies(b: Batch, identity: CollectorIdentity): boolean {
  const canonical = canonicalBatchHeader({
    collectorId: b.collectorId,
    batchId: b.batchId,
    batchSeq: b.batchSeq!,
    prevHash: b.prevHash!,
    firstSeq: b.firstSeq,
    lastSeq: b.lastSeq,
    recordsDigest: recordsDigest(b.records),
  });
  const key = crypto.createPublicKey({ key: Buffer.from(identity.publicKey, 'base64'), format: 'der', type: 'spki' });
  return crypto.verify(null, Buffer.from(canonical), key, Buffer.from(b.signature!, 'base64'));
}

const hashOf = (b: Batch): string =>
  crypto
    .createHash('sha256')
    .update(canonicalBatchHeader({ collectorId: b.collectorId, batchId: b.batchId, batchSeq: b.batchSeq!, prevHash: b.prevHash!, firstSeq: b.firstSeq, lastSeq: b.lastSeq, recordsDigest: b.recordsDigest! }))
    .digest('hex');

async function startLink(hub: TestHub, dir: string, records = 0) {
  const outbox = await Outbox.open(dir, { fsync: 'never' });
  if (records > 0) await outbox.append(Array.from({ length: records }, (_, i) => i), (_, seq) => ({ id: `${CID}:${seq}`, seq }));
  const identity = await loadOrCreateIdentity(dir);
  const events: LinkEvent[] = [];
  const chain = await BatchChain.open(dir, { collectorId: CID, identity, fsync: false, onEvent: (e) => events.push(e) });
  const counters: LinkCounters = { sent: 0, acked: 0, rejected: 0, batchesSent: 0, batchesAcked: 0, batchFailures: 0, lastAckAt: null };
  const link = new Link({
    collectorId: CID,
    token: TOKEN,
    identity,
    chain,
    hubUrl: hub.url,
    batch: { maxRecords: 10, maxBytes: 512 * 1024, lingerMs: 5 },
    ackTimeoutMs: 1_000,
    backoff: { minMs: 20, maxMs: 200 },
    outbox,
    counters,
    emit: (e) => events.push(e),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await link.stop(100);
    await outbox.close();
  };
  cleanups.push(stop);
  return { outbox, identity, chain, link, events, stop };
}

describe('identity', () => {
  it('creates an Ed25519 key file with mode 0600 on first start and reuses it', async () => {
    const dir = tmpDir();
    const a = await loadOrCreateIdentity(dir);
    expect(a.created).toBe(true);
    const file = path.join(dir, IDENTITY_FILE);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const b = await loadOrCreateIdentity(dir);
    expect(b.created).toBe(false);
    expect(b.publicKey).toBe(a.publicKey);
    expect(b.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a damaged key file instead of replacing it', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, IDENTITY_FILE), 'not a key');
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
    expect(fs.readFileSync(path.join(dir, IDENTITY_FILE), 'utf8')).toBe('not a key');
  });
});

describe('sealed batches', () => {
  it('are signed, numbered and linked by hash; the handshake carries the key and a proof', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const auths: Record<string, unknown>[] = [];
    hub.behaviour = (batch, socket) => {
      auths.push(socket.handshake.auth);
      return ackAll(batch, socket, 0);
    };
    const { outbox, identity, link } = await startLink(hub, tmpDir(), 35);
    link.start();
    await waitFor(() => outbox.depth() === 0, 10_000, 'drained');
    const subs = hub.submissions;
    expect(subs.map((b) => b.batchSeq)).toEqual([1, 2, 3, 4]);
    expect(subs[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < subs.length; i++) expect(subs[i]!.prevHash).toBe(hashOf(subs[i - 1]!));
    for (const b of subs) {
      expect(b.recordsDigest).toBe(recordsDigest(b.records));
      expect(verifies(b, identity)).toBe(true);
    }
    expect(auths[0]).toMatchObject({ collectorId: CID, token: TOKEN, publicKey: identity.publicKey });
    expect(typeof auths[0]!.proof).toBe('string');
  });

  it('re-sends an unacknowledged batch byte-identically, also after a restart', async () => {
    const hub = await startTestHub({ behaviour: () => 'drop' });
    cleanups.push(() => hub.close());
    const dir = tmpDir();
    const first = await startLink(hub, dir, 8);
    first.link.start();
    await waitFor(() => hub.submissions.length >= 2, 10_000, 'two attempts');
    await first.stop();
    expect(JSON.parse(fs.readFileSync(path.join(dir, CHAIN_FILE), 'utf8'))).toMatchObject({ batchSeq: 1, sealed: { batchSeq: 1, firstSeq: 1, lastSeq: 8 } });

    hub.behaviour = ackAll;
    const second = await startLink(hub, dir);
    // Records appended after the restart do not change the sealed batch.
    await second.outbox.append([0, 1], (_, seq) => ({ id: `${CID}:${seq}`, seq }));
    second.link.start();
    await waitFor(() => second.outbox.depth() === 0, 10_000, 'drained after restart');
    const [a, b] = hub.submissions;
    const resent = hub.submissions.filter((s) => s.batchSeq === 1);
    expect(resent.length).toBeGreaterThanOrEqual(3);
    for (const s of resent) {
      const { sentAt: _x, ...rest } = s;
      const { sentAt: _y, ...orig } = a!;
      expect(rest).toEqual(orig);
    }
    expect(b!.signature).toBe(a!.signature);
    const next = hub.submissions.find((s) => s.batchSeq === 2)!;
    expect(next).toMatchObject({ firstSeq: 9, lastSeq: 10, prevHash: hashOf(a!) });
    expect(hub.duplicates).toBe(0);
  });

  it('takes the hub tip on BATCH_CHAIN_CONFLICT and seals the same records again on top of it', async () => {
    const tip = { batchSeq: 41, hash: 'a'.repeat(64) };
    const hub = await startTestHub({
      behaviour: (batch, socket, nth) =>
        nth === 1 ? { ok: false, batchId: batch.batchId, code: 'BATCH_CHAIN_CONFLICT', message: 'fork', retryable: false, chain: tip } : ackAll(batch, socket, nth),
    });
    cleanups.push(() => hub.close());
    const { outbox, link, events } = await startLink(hub, tmpDir(), 5);
    link.start();
    await waitFor(() => outbox.depth() === 0, 10_000, 'drained');
    expect(hub.submissions.map((b) => [b.batchSeq, b.prevHash])).toEqual([
      [1, GENESIS_HASH],
      [42, tip.hash],
    ]);
    expect(hub.submissions[1]!.records).toEqual(hub.submissions[0]!.records);
    expect(events.some((e) => e.event === 'chain.resynced')).toBe(true);
  });
});
