/**
 * # The batch chain, collector side — design note
 *
 * Every batch is *sealed* once, when the link first forms it: it gets the next batch sequence
 * number, the hash of the previous sealed batch (prevHash), the digest of its records and an
 * Ed25519 signature over the canonical header (format: hub/src/protocol, canonicalBatchHeader).
 * The hub checks signature and chain; see hub/src/collectors/service.ts.
 *
 * ## File: chain.json in the outbox directory
 *
 *   {"version":1,"collectorId":…,"keyFingerprint":…,"batchSeq":N,"hash":H,"sealed":Header|null}
 *
 * `batchSeq`/`hash` are the chain tip (the last sealed batch, or the hub's tip after a resync);
 * `sealed` is the full header of the last sealed batch (null after a resync). Replaced atomically
 * (write chain.json.tmp, fsync, rename, fsync the directory).
 *
 * ## Invariants
 *
 *   1. A header is durable before its batch is sent, so whatever the hub may have received is
 *      on disk and a re-send — also after kill -9 — is byte-identical (same header, same records
 *      re-read from the outbox).
 *   2. At most one sealed batch is unacknowledged: the link seals the next batch only after the
 *      previous one was acknowledged (or abandoned). So the tip is all the state there is:
 *      `sealed.lastSeq > ackedSeq` → that batch is still to be (re)sent; otherwise the tip only
 *      gives the next batch its prevHash and batchSeq.
 *   3. If the records of a sealed batch cannot be read back exactly as sealed (a frame was
 *      quarantined since), the header is abandoned and the records are sealed again as the next
 *      batch; the hub may then report a gap — which is true.
 *   4. The chain is tied to the key: a new key (or another collector id) starts from genesis.
 *   5. A header whose write failed (a full disk: ENOSPC) is not sealed: the in-memory tip moves
 *      only after chain.json was replaced, chain.json keeps the previous tip, the partial
 *      chain.json.tmp is removed, and seal() rejects, so the link sends nothing and seals the same
 *      records again later, with the same batchSeq and prevHash. The hub never sees a header that
 *      a restart could forget. (The outbox keeps free space in reserve for this write:
 *      outbox.ts, "Disk space".)
 *   6. The hub's tip wins when ours is behind it (chain.json lost or restored from a backup) —
 *      learnt from hub.hello — and always after the hub answered BATCH_CHAIN_CONFLICT. The next
 *      batch is then sealed on top of what the hub accepted.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { canonicalBatchHeader, GENESIS_HASH, type Batch, type ChainTip } from '@jianguan/protocol';
import { writeFileAtomic } from '../durable.js';
import { CollectorError, errorMessage } from '../errors.js';
import type { CollectorIdentity } from './keys.js';

export const CHAIN_FILE = 'chain.json';

export interface SealedHeader {
  batchId: string;
  batchSeq: number;
  prevHash: string;
  firstSeq: number;
  lastSeq: number;
  /** Records in the batch (seqs may have gaps, so not lastSeq - firstSeq + 1). */
  count: number;
  recordsDigest: string;
  /** sha256 hex of the canonical header: the next batch's prevHash. */
  hash: string;
  signature: string;
  sealedAt: number;
}

interface ChainFile {
  version: 1;
  collectorId: string;
  keyFingerprint: string;
  batchSeq: number;
  hash: string;
  sealed: SealedHeader | null;
}

export type ChainEvent =
  | { event: 'chain.reset'; reason: string }
  | { event: 'chain.resynced'; from: ChainTip; to: ChainTip; reason: string };

export function recordsDigest(records: readonly unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(records)).digest('hex');
}

export class BatchChain {
  private state: ChainFile;
  /** seal() and adopt() run one at a time (the link may get hub.hello while it seals). */
  private op: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly identity: CollectorIdentity,
    private readonly fsync: boolean,
    state: ChainFile,
  ) {
    this.state = state;
  }

  /** Reads chain.json (a missing, unreadable or foreign file starts a new chain). */
  static async open(
    dir: string,
    opts: { collectorId: string; identity: CollectorIdentity; fsync?: boolean; onEvent?: (e: ChainEvent) => void },
  ): Promise<BatchChain> {
    const genesis: ChainFile = { version: 1, collectorId: opts.collectorId, keyFingerprint: opts.identity.fingerprint, batchSeq: 0, hash: GENESIS_HASH, sealed: null };
    let state = genesis;
    // A temp file left by a crash mid-write is not the chain (invariant 5); it only holds space.
    await fsp.unlink(path.join(dir, `${CHAIN_FILE}.tmp`)).catch(() => {});
    let text: string | undefined;
    try {
      text = await fsp.readFile(path.join(dir, CHAIN_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CollectorError('OUTBOX_IO', `cannot read ${CHAIN_FILE}: ${errorMessage(e)}`, { cause: e });
    }
    if (text !== undefined) {
      try {
        const j = JSON.parse(text) as ChainFile;
        if (j.version !== 1 || typeof j.batchSeq !== 'number' || typeof j.hash !== 'string') throw new Error('bad shape');
        if (j.collectorId !== opts.collectorId || j.keyFingerprint !== opts.identity.fingerprint) {
          opts.onEvent?.({ event: 'chain.reset', reason: `chain.json belongs to ${j.collectorId}/${j.keyFingerprint}` });
        } else {
          state = j;
        }
      } catch (e) {
        // Nothing is lost: the unacknowledged records are still in the outbox and are sealed
        // again; the hub tells us its tip in hub.hello (invariant 6).
        opts.onEvent?.({ event: 'chain.reset', reason: `${CHAIN_FILE} unreadable: ${errorMessage(e)}` });
      }
    }
    return new BatchChain(dir, opts.identity, opts.fsync ?? true, state);
  }

  get tip(): ChainTip {
    return { batchSeq: this.state.batchSeq, hash: this.state.hash };
  }

  /** The sealed batch still waiting for an acknowledgement, if any (invariant 2). */
  pendingAfter(ackedSeq: number): SealedHeader | undefined {
    const s = this.state.sealed;
    return s && s.lastSeq > ackedSeq ? s : undefined;
  }

  /** Whether records read back from the outbox are exactly the ones sealed in `h`. */
  matches(h: SealedHeader, records: readonly { seq: number; payload: unknown }[]): boolean {
    return (
      records.length === h.count &&
      records[0]?.seq === h.firstSeq &&
      records[records.length - 1]?.seq === h.lastSeq &&
      recordsDigest(records.map((r) => r.payload)) === h.recordsDigest
    );
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.op.then(fn, fn);
    this.op = run.catch(() => undefined);
    return run;
  }

  /** Seals the next batch and makes the header durable before returning (invariant 1). */
  seal(collectorId: string, records: readonly { seq: number; payload: unknown }[]): Promise<SealedHeader> {
    return this.exclusive(() => this.sealNow(collectorId, records));
  }

  private async sealNow(collectorId: string, records: readonly { seq: number; payload: unknown }[]): Promise<SealedHeader> {
    const firstSeq = records[0]!.seq;
    const lastSeq = records[records.length - 1]!.seq;
    const base = {
      batchId: `${collectorId}:${firstSeq}-${lastSeq}`,
      batchSeq: this.state.batchSeq + 1,
      prevHash: this.state.hash,
      firstSeq,
      lastSeq,
      recordsDigest: recordsDigest(records.map((r) => r.payload)),
    };
    const canonical = canonicalBatchHeader({ collectorId, ...base });
    const header: SealedHeader = {
      ...base,
      count: records.length,
      hash: crypto.createHash('sha256').update(canonical, 'utf8').digest('hex'),
      signature: this.identity.sign(canonical),
      sealedAt: Date.now(),
    };
    await this.write({ ...this.state, batchSeq: header.batchSeq, hash: header.hash, sealed: header });
    return header;
  }

  /**
   * Takes the hub's tip (invariant 6). Without `force` only when ours is behind it or differs at
   * the same height; with `force` always. Returns whether the chain changed.
   */
  adopt(hub: ChainTip | null, opts: { force?: boolean; reason: string; onEvent?: (e: ChainEvent) => void }): Promise<boolean> {
    return this.exclusive(() => this.adoptNow(hub, opts));
  }

  private async adoptNow(hub: ChainTip | null, opts: { force?: boolean; reason: string; onEvent?: (e: ChainEvent) => void }): Promise<boolean> {
    const to: ChainTip = hub ?? { batchSeq: 0, hash: GENESIS_HASH };
    const from = this.tip;
    const behind = to.batchSeq > from.batchSeq || (to.batchSeq === from.batchSeq && to.hash !== from.hash);
    if (!opts.force && !behind) return false;
    if (from.batchSeq === to.batchSeq && from.hash === to.hash && this.state.sealed === null) return false;
    await this.write({ ...this.state, batchSeq: to.batchSeq, hash: to.hash, sealed: null });
    opts.onEvent?.({ event: 'chain.resynced', from, to, reason: opts.reason });
    return true;
  }

  /** The chain fields of a batch on the wire. */
  static wireFields(h: SealedHeader): Pick<Batch, 'batchSeq' | 'prevHash' | 'recordsDigest' | 'signature'> {
    return { batchSeq: h.batchSeq, prevHash: h.prevHash, recordsDigest: h.recordsDigest, signature: h.signature };
  }

  /** Replaces chain.json, then the in-memory state; on failure neither changes (invariant 5). */
  private async write(next: ChainFile): Promise<void> {
    const file = path.join(this.dir, CHAIN_FILE);
    try {
      await writeFileAtomic(file, JSON.stringify(next), this.fsync);
    } catch (e) {
      throw new CollectorError('OUTBOX_IO', `cannot write ${file}: ${errorMessage(e)}`, { cause: e });
    }
    this.state = next;
  }
}
