/**
 * The collector's Ed25519 identity: created on first start, kept next to the outbox as
 * `identity.key` (PKCS#8 PEM, mode 0600; on Windows the file's ACL is whatever the directory
 * gives). The private key never leaves this file; the hub knows the public key (enrolment, or
 * trust on first use for static collectors) and checks every handshake proof and batch signature
 * against it. Losing the file means a new identity: the hub then refuses the collector until an
 * administrator files the new key.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { canonicalAuthProof } from '@jianguan/protocol';
import { fsyncDir } from '../durable.js';
import { CollectorError, errorMessage } from '../errors.js';

export const IDENTITY_FILE = 'identity.key';

export interface CollectorIdentity {
  /** base64 of the SPKI DER public key, as the hub stores it. */
  readonly publicKey: string;
  /** First 16 hex digits of sha256(SPKI DER), as the hub lists it. */
  readonly fingerprint: string;
  /** True when this start created the key pair. */
  readonly created: boolean;
  /** base64 Ed25519 signature of the UTF-8 bytes of `data`. */
  sign(data: string): string;
  /** The handshake proof fields (fresh timestamp each call). */
  proof(collectorId: string, now?: number): { publicKey: string; ts: number; proof: string };
}

function fromPrivateKey(key: crypto.KeyObject, created: boolean): CollectorIdentity {
  const der = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicKey = der.toString('base64');
  const fingerprint = crypto.createHash('sha256').update(der).digest('hex').slice(0, 16);
  const sign = (data: string): string => crypto.sign(null, Buffer.from(data, 'utf8'), key).toString('base64');
  return {
    publicKey,
    fingerprint,
    created,
    sign,
    proof(collectorId, now = Date.now()) {
      return { publicKey, ts: now, proof: sign(canonicalAuthProof(collectorId, publicKey, now)) };
    },
  };
}

/**
 * Loads `dir/identity.key`, or creates it (exclusively, 0600, fsynced) when missing. A file that
 * exists but is not an Ed25519 private key is an error, never silently replaced.
 */
export async function loadOrCreateIdentity(dir: string): Promise<CollectorIdentity> {
  const file = path.join(dir, IDENTITY_FILE);
  let pem: string | undefined;
  try {
    pem = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CollectorError('IDENTITY_INVALID', `cannot read ${file}: ${errorMessage(e)}`, { cause: e });
  }
  if (pem !== undefined) {
    let key: crypto.KeyObject;
    try {
      key = crypto.createPrivateKey(pem);
    } catch (e) {
      throw new CollectorError('IDENTITY_INVALID', `${file} is not a private key: ${errorMessage(e)}`, { cause: e });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new CollectorError('IDENTITY_INVALID', `${file} holds a ${key.asymmetricKeyType} key, expected ed25519`);
    return fromPrivateKey(key, false);
  }

  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const text = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  // Write a temp file with 0600 from the start, fsync, then link it into place: a crash never
  // leaves a half-written key, and two racing starts cannot both win (the outbox lock prevents
  // that anyway).
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.link(tmp, file);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => {});
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(dir);
    throw new CollectorError('IDENTITY_INVALID', `cannot create ${file}: ${errorMessage(e)}`, { cause: e });
  }
  await fsp.unlink(tmp).catch(() => {});
  await fsyncDir(dir);
  return fromPrivateKey(privateKey, true);
}
