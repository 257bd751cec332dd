/**
 * # Pseudonyms a stolen counter PC cannot reverse — design note
 *
 * A collector replaces each identity and licence number by HMAC-SHA256(k_c, number) under the
 * collector key k_c that every counter PC of the detachment shares (collector/src/pseudonym.ts).
 * k_c sits on dozens of PCs; anyone holding one PC holds k_c. An identity number has little
 * entropy (region, birth date, sequence, check digit — and the masked form shows some of it), so
 * with k_c and a stored hash the number falls to enumeration in seconds.
 *
 * The hub therefore keys every such hash again before anything is stored or evaluated:
 *
 *   stored = L_n( … L_2( L_1( h_c ) ) ),   L_i(v) = HMAC-SHA256(s_i, detachment + "|" + v)
 *
 * with secrets s_i that exist on the hub only (JG_PSEUDONYM_SECRET_FILE, or generated at first
 * start into <dataDir>/pseudonym-keyring.json, mode 0600). Only the outer value is stored; h_c is
 * never written anywhere. With k_c alone a thief can compute h_c for a candidate but cannot
 * compare it with anything stored: reversing needs the hub's secrets (measured in
 * hub/test/pseudonym-reversal.test.ts and docs/security.md).
 *
 * Joins survive: the same number gives the same h_c on every counter, hence the same stored
 * value. `detachment` is mixed in so two detachments' stores cannot be joined even if they were
 * given the same secret by mistake.
 *
 * Rotation without losing joins: add a layer (s_{n+1}) at the end of the keyring, then rewrite
 * the stored hash columns with L_{n+1} applied to what is there (`rekeyStoredValue`). Old values
 * and new arrivals then agree, because applying the new layer to a stored value equals running
 * the whole chain on the collector hash. A leaked older layer is useless without the newer ones.
 * Removing a layer is not possible (it would need h_c); the keyring only grows.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { HubConfig } from './config.js';
import { HubError, errorMessage } from './errors.js';

export const Keyring = z.object({
  /** The detachment these pseudonyms belong to (an adcode such as 451200). */
  detachment: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  /** In order of application; append to rotate, never remove or reorder. */
  layers: z
    .array(z.object({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/), secret: z.string().regex(/^[0-9a-f]{64,128}$/, 'secret: 32–64 random bytes, hex') }))
    .min(1),
});
export type Keyring = z.infer<typeof Keyring>;

export interface HubPseudonyms {
  /** Which keyring (detachment and layer ids) is in use; never the secrets. */
  readonly describe: string;
  /** A collector hash → the stored form. Anything that is not a hex hash passes unchanged (validation refuses it later). */
  rekey(collectorHash: string): string;
  /** Rekeys the person and licence hashes of one record (unknown shape: before validation). */
  rekeyRecord<T>(record: T): T;
}

const HEX_HASH = /^[0-9a-f]{16,128}$/;

function layer(secret: string, detachment: string, value: string): string {
  return crypto.createHmac('sha256', Buffer.from(secret, 'hex')).update(`${detachment}|${value}`, 'utf8').digest('hex');
}

/** One more layer over an already stored value (rotation; see the design note). */
export function rekeyStoredValue(stored: string, newLayerSecret: string, detachment: string): string {
  return HEX_HASH.test(stored) ? layer(newLayerSecret, detachment, stored) : stored;
}

export function pseudonymsFromKeyring(k: Keyring): HubPseudonyms {
  const rekey = (h: string): string => (HEX_HASH.test(h) ? k.layers.reduce((v, l) => layer(l.secret, k.detachment, v), h) : h);
  const person = (p: unknown): unknown => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return p;
    const o = p as Record<string, unknown>;
    return typeof o.idHash === 'string' ? { ...o, idHash: rekey(o.idHash) } : o;
  };
  return {
    describe: `${k.detachment}:${k.layers.map((l) => l.id).join('+')}`,
    rekey,
    rekeyRecord: <T>(record: T): T => {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) return record;
      const r = { ...(record as Record<string, unknown>) };
      if ('subject' in r) r.subject = person(r.subject);
      if ('agent' in r) r.agent = person(r.agent);
      const v = r.vehicle;
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Record<string, unknown>).ownerIdHash === 'string') {
        r.vehicle = { ...(v as Record<string, unknown>), ownerIdHash: rekey((v as { ownerIdHash: string }).ownerIdHash) };
      }
      const l = r.licence;
      if (typeof l === 'object' && l !== null && !Array.isArray(l) && typeof (l as Record<string, unknown>).numberHash === 'string') {
        r.licence = { ...(l as Record<string, unknown>), numberHash: rekey((l as { numberHash: string }).numberHash) };
      }
      return r as T;
    },
  };
}

/** TEST ONLY (config.pseudonymSecrets = 'identity'): stores collector hashes as they arrive. */
const IDENTITY: HubPseudonyms = { describe: 'identity (tests only)', rekey: (h) => h, rekeyRecord: (r) => r };

function parseKeyring(raw: unknown, where: string): Keyring {
  const k = Keyring.safeParse(raw);
  if (!k.success) throw new HubError('CONFIG_INVALID', `${where}: ${k.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return k.data;
}

/**
 * The hub's keyring: config.pseudonymSecrets (tests), else JG_PSEUDONYM_SECRET_FILE, else
 * <dataDir>/pseudonym-keyring.json, created with one fresh layer on first start.
 */
export function createHubPseudonyms(config: Pick<HubConfig, 'pseudonymSecrets' | 'pseudonymSecretFile' | 'dataDir'>): HubPseudonyms {
  if (config.pseudonymSecrets === 'identity') return IDENTITY;
  if (config.pseudonymSecrets !== undefined) return pseudonymsFromKeyring(parseKeyring(config.pseudonymSecrets, 'pseudonymSecrets'));
  const file = config.pseudonymSecretFile ?? path.join(config.dataDir, 'pseudonym-keyring.json');
  if (!fs.existsSync(file)) {
    if (config.pseudonymSecretFile !== undefined) throw new HubError('CONFIG_INVALID', `JG_PSEUDONYM_SECRET_FILE ${file} does not exist`);
    const fresh: Keyring = { detachment: 'default', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // wx: two hubs starting on one data directory cannot both write a different secret.
    try {
      fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new HubError('CONFIG_INVALID', `${file}: ${errorMessage(e)}`);
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `pseudonym keyring ${file}: ${errorMessage(e)}`);
  }
  return pseudonymsFromKeyring(parseKeyring(raw, file));
}
