/**
 * Test helpers: an Ed25519 collector identity and batch sealing written directly against the
 * protocol's canonical formats (the hub's tests cannot import the collector package).
 */
import crypto from 'node:crypto';
import { canonicalAuthProof, canonicalBatchHeader, GENESIS_HASH, type Batch } from '../src/protocol/index.js';

export const sha256 = (s: string): string => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

export interface TestKey {
  publicKey: string;
  sign(data: string): string;
}

export function newKey(): TestKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign: (data) => crypto.sign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64'),
  };
}

/** Handshake auth with a fresh proof. */
export function keyAuth(collectorId: string, key: TestKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ts = Date.now();
  return { collectorId, publicKey: key.publicKey, ts, proof: key.sign(canonicalAuthProof(collectorId, key.publicKey, ts)), ...extra };
}

/** Seals records as one batch; `hash` is what the next batch's prevHash must be. */
export function sealBatch(
  key: TestKey,
  collectorId: string,
  records: { seq: number }[],
  chain: { batchSeq: number; prevHash?: string },
): { batch: Batch; hash: string } {
  const firstSeq = records[0]!.seq;
  const lastSeq = records[records.length - 1]!.seq;
  const batchId = `${collectorId}:${firstSeq}-${lastSeq}`;
  const prevHash = chain.prevHash ?? GENESIS_HASH;
  const recordsDigest = sha256(JSON.stringify(records));
  const canonical = canonicalBatchHeader({ collectorId, batchId, batchSeq: chain.batchSeq, prevHash, firstSeq, lastSeq, recordsDigest });
  return {
    batch: { batchId, collectorId, firstSeq, lastSeq, sentAt: Date.now(), records, batchSeq: chain.batchSeq, prevHash, recordsDigest, signature: key.sign(canonical) },
    hash: sha256(canonical),
  };
}

/** A chain that seals consecutive batches. */
export class TestChain {
  batchSeq = 0;
  hash = GENESIS_HASH;
  constructor(
    readonly key: TestKey,
    readonly collectorId: string,
  ) {}

  next(records: { seq: number }[]): Batch {
    const { batch, hash } = sealBatch(this.key, this.collectorId, records, { batchSeq: this.batchSeq + 1, prevHash: this.hash });
    this.batchSeq += 1;
    this.hash = hash;
    return batch;
  }
}
