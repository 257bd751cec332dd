/**
 * Ed25519 checks on the hub side: the handshake proof and the batch signature. The byte formats
 * are defined once, in the protocol (canonicalAuthProof, canonicalBatchHeader); this file only
 * hashes and verifies them with node:crypto.
 */
import crypto from 'node:crypto';
import {
  AUTH_PROOF_MAX_SKEW_MS,
  canonicalAuthProof,
  canonicalBatchHeader,
  type Batch,
} from '../protocol/index.js';

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** A public key as sent on the wire (base64 SPKI DER), parsed; undefined unless it is Ed25519. */
export function parsePublicKey(b64: string): crypto.KeyObject | undefined {
  try {
    const key = crypto.createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** First 16 hex digits of sha256 over the SPKI DER bytes: short, stable, shown to administrators. */
export function keyFingerprint(b64: string): string {
  return sha256Hex(Buffer.from(b64, 'base64')).slice(0, 16);
}

function verify(data: string, signatureB64: string, key: crypto.KeyObject): boolean {
  try {
    return crypto.verify(null, Buffer.from(data, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/** Checks a handshake proof: signed by the presented key, made within the allowed clock skew. */
export function verifyAuthProof(
  p: { collectorId: string; publicKey: string; ts: number; proof: string },
  now: number,
): { ok: true; key: crypto.KeyObject } | { ok: false; reason: string } {
  const key = parsePublicKey(p.publicKey);
  if (!key) return { ok: false, reason: 'publicKey is not an Ed25519 SPKI key' };
  if (Math.abs(now - p.ts) > AUTH_PROOF_MAX_SKEW_MS) {
    return { ok: false, reason: `proof timestamp is ${Math.round((p.ts - now) / 1000)} s off the hub clock (allowed ±${AUTH_PROOF_MAX_SKEW_MS / 1000} s)` };
  }
  if (!verify(canonicalAuthProof(p.collectorId, p.publicKey, p.ts), p.proof, key)) return { ok: false, reason: 'proof signature does not verify' };
  return { ok: true, key };
}

export type BatchVerdict =
  | { ok: true; hash: string; digest: string }
  | { ok: false; reason: 'unsigned' | 'digest_mismatch' | 'signature_invalid'; digest: string };

/**
 * Recomputes the records digest from the records as received (or takes `bytesDigest`, the sha256
 * of the bytes they arrived as), rebuilds the canonical header with
 * it and verifies the signature. An edited record changes the digest, so the signature fails
 * whatever the envelope claims; `digest_mismatch` only says which part was edited.
 */
export function verifyBatch(batch: Batch, key: crypto.KeyObject, bytesDigest?: string): BatchVerdict {
  // Records that came as bytes (WireBatchSchema `recordsJson`) were hashed as they arrived.
  const digest = bytesDigest ?? sha256Hex(JSON.stringify(batch.records));
  if (batch.batchSeq === undefined || batch.prevHash === undefined || batch.signature === undefined) {
    return { ok: false, reason: 'unsigned', digest };
  }
  const canonical = canonicalBatchHeader({
    collectorId: batch.collectorId,
    batchId: batch.batchId,
    batchSeq: batch.batchSeq,
    prevHash: batch.prevHash,
    firstSeq: batch.firstSeq,
    lastSeq: batch.lastSeq,
    recordsDigest: digest,
  });
  if (!verify(canonical, batch.signature, key)) {
    return { ok: false, reason: batch.recordsDigest !== undefined && batch.recordsDigest !== digest ? 'digest_mismatch' : 'signature_invalid', digest };
  }
  return { ok: true, hash: sha256Hex(canonical), digest };
}
