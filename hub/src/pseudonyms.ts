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
 * Removing a layer is not possible (it would need h_c); the keyring only grows. The command
 * `jianguan-hub pseudonyms rotate` (pseudonym-rotation.ts) does both steps.
 *
 * Which fields: the person and licence hashes of a record (`HASH_PATHS`: subject.idHash,
 * agent.idHash, vehicle.ownerIdHash, licence.numberHash, staffIdHash, phoneHash). The same
 * function serves valid records and dead letters (malformed records): it touches only those
 * paths, and only values that look like a hex hash, so it is safe on anything.
 *
 * Masked forms travel next to the hashes; the hub normalises them to the current 2+2 form
 * (rules' remaskIdNumber), so an old collector's 4+4 form is accepted but not kept.
 *
 * Held batches (a collector pending approval) are kept whole for later evaluation, hashes in the
 * collector form, so they are sealed at rest (AES-256-GCM, `sealAtRest`) under a key derived
 * from the newest layer (HKDF, info "held-batches"); the layer id travels with the ciphertext so
 * rotation never strands a held batch. Re-keying them instead would not do: on approval they go
 * through the ordinary record path, which applies the layer again.
 *
 * The registry (staff idHash, person lists) takes a raw identity number or a collector-form hash
 * and files the hub form (`fileRegistryRecord`); see docs/security.md for the accepted forms.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isValidIdNumber, maskIdNumber, remaskIdNumber } from '@jianguan/rules';
import type { HubConfig } from './config.js';
import { writeFileDurableSync } from './durable.js';
import { HubError, errorMessage } from './errors.js';
import { describeIssues } from './validation/issues.js';

export const Keyring = z.object({
  /** The detachment these pseudonyms belong to (an adcode such as 451200). */
  detachment: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  /** In order of application; append to rotate, never remove or reorder. */
  layers: z
    .array(z.object({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/), secret: z.string().regex(/^[0-9a-f]{64,128}$/, 'secret: 32–64 random bytes, hex') }))
    .min(1),
});
export type Keyring = z.infer<typeof Keyring>;

/** Where a record carries identity, licence and phone hashes (collector form on arrival). */
export const HASH_PATHS = ['subject.idHash', 'agent.idHash', 'vehicle.ownerIdHash', 'licence.numberHash', 'staffIdHash', 'phoneHash'] as const;

/** What the registry knows already, to tell a hash on file (hub form) from a new one. */
export interface FiledIdentities {
  staff(id: string): { idHash?: string | undefined } | undefined;
  listing?(list: 'person_black' | 'agent_red' | 'vin_check_black', key: string): unknown;
}

/** A registry record with its identities in the hub form, or why an identity was refused. */
export type FiledRecord = { ok: true; data: Record<string, unknown> } | { ok: false; field: string; message: string };

export interface HubPseudonyms {
  /** Which keyring (detachment and layer ids) is in use; never the secrets. */
  readonly describe: string;
  /** A collector hash → the stored form. Anything that is not a hex hash passes unchanged (validation refuses it later). */
  rekey(collectorHash: string): string;
  /**
   * The hashes at HASH_PATHS of one record → the stored form, masked identities → the current
   * form. Any shape (before validation; dead letters): other paths and non-hash values untouched.
   */
  rekeyRecord<T>(record: T): T;
  /** rekeyRecord changing `record` itself: only for a record the caller owns (a validated copy). */
  rekeyOwnedRecord<T>(record: T): T;
  /** Seals a payload kept at rest (held batches). `context` (e.g. the batch id) must be given again to open it. */
  sealAtRest(plaintext: string, context: string): string;
  /** Opens what sealAtRest made; a value that was never sealed (stored before sealing existed) is returned as is. */
  openAtRest(stored: string, context: string): string;
  /**
   * A registry record as entered → as filed: staff `idNumber` (raw) or `idHash` (collector form),
   * person-list `key` (raw number or collector form) → hub form. A hash already on file for the
   * same staff member or list entry is kept (an edit that does not touch the identity).
   */
  fileRegistryRecord(entity: string, data: Record<string, unknown>, filed: FiledIdentities): FiledRecord;
}

const HEX_HASH = /^[0-9a-f]{16,128}$/;
const COLLECTOR_HASH = /^[0-9a-fA-F]{64}$/;
/** 公民身份号码: 18 characters (check character X allowed) or the 15-digit legacy form. */
const ID_NUMBER = /^(\d{17}[\dXx]|\d{15})$/;
/** Whether `text` is written as an identity number (18 or 15 digits), whatever its check digit. */
export const isIdNumberText = (text: string): boolean => ID_NUMBER.test(text);
/** A number as Excel shows one too long for its column, 4.51202E+17: what a number cell of 16+ digits becomes. */
const SCIENTIFIC = /^\d(?:\.\d+)?E\+?\d+$/i;
const PERSON_LISTS = new Set(['person_black', 'agent_red']);
const SEALED = 'jg-sealed:v1:';

/**
 * The collector's hash of an identity number — exactly collector/src/pseudonym.ts `idHash`
 * (HMAC-SHA256 under the key's UTF-8 bytes, over the trimmed, upper-cased number); a test
 * compares the two.
 */
export function collectorIdHash(collectorKey: string, idNumber: string): string {
  return crypto.createHmac('sha256', collectorKey).update(idNumber.trim().toUpperCase(), 'utf8').digest('hex');
}

function atRestKey(secret: string, detachment: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret, 'hex'), Buffer.from(detachment, 'utf8'), Buffer.from('held-batches', 'utf8'), 32));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The HASH_PATHS and masked-form walk shared by every keyring (identity included) and rotation. */
export function rekeyPaths<T>(record: T, rekey: (h: string) => string): T {
  if (!isObject(record)) return record;
  // The objects the walk writes to are copies; everything else is shared with `record`.
  const r: Record<string, unknown> = { ...record };
  for (const k of NESTED_WITH_HASHES) if (isObject(r[k])) r[k] = { ...r[k] };
  return rekeyPathsInPlace(r, rekey) as T;
}

const NESTED_WITH_HASHES = ['subject', 'agent', 'vehicle', 'licence'] as const;

/**
 * rekeyPaths writing into `record` itself: for a record the caller made and nobody else holds
 * (ingest's validated copy of what arrived), where copying it again would only make garbage.
 */
export function rekeyPathsInPlace<T>(record: T, rekey: (h: string) => string): T {
  if (!isObject(record)) return record;
  const r = record as Record<string, unknown>;
  const hash = (v: unknown) => (typeof v === 'string' ? rekey(v) : v);
  for (const k of ['subject', 'agent'] as const) {
    const q = r[k];
    if (!isObject(q)) continue;
    if ('idHash' in q) q.idHash = hash(q.idHash);
    if (typeof q.masked === 'string') q.masked = remaskIdNumber(q.masked);
  }
  const v = r.vehicle;
  if (isObject(v) && 'ownerIdHash' in v) v.ownerIdHash = hash(v.ownerIdHash);
  const l = r.licence;
  if (isObject(l) && 'numberHash' in l) l.numberHash = hash(l.numberHash);
  if ('staffIdHash' in r) r.staffIdHash = hash(r.staffIdHash);
  if ('phoneHash' in r) r.phoneHash = hash(r.phoneHash);
  return record;
}

/** The registry's side of fileRegistryRecord, over a keyring's `rekey`. */
function fileRegistry(rekey: (h: string) => string, collectorKey: string | undefined) {
  /** One identity as entered → hub form (and the masked form when a raw number was given). */
  const identity = (value: unknown, onFile: (h: string) => boolean): { idHash: string; masked?: string } | { message: string } => {
    if (typeof value !== 'string') return { message: '应为身份证号码或采集端摘要（64位十六进制）' };
    const v = value.trim();
    if (ID_NUMBER.test(v)) {
      // Excel keeps 15 significant digits: a number typed into a number cell comes back with its
      // last three digits 000, and then its check digit rarely fits. Filed, its hash would match
      // nobody's, and the rules would call that person unfiled.
      if (v.endsWith('000') && !isValidIdNumber(v)) {
        return { message: `身份证号码 ${maskIdNumber(v)} 末三位为 000 且校验位不符：像是在 Excel 中按数字录入，第 16 位起已被改写。请把该列设为文本格式、重新录入号码后再导入` };
      }
      if (!collectorKey) return { message: '未配置 JG_PSEUDONYM_KEY，只能填写采集端摘要，不能填写身份证号码' };
      return { idHash: rekey(collectorIdHash(collectorKey, v)), masked: maskIdNumber(v) };
    }
    if (COLLECTOR_HASH.test(v)) {
      const h = v.toLowerCase();
      return onFile(h) ? { idHash: h } : { idHash: rekey(h) };
    }
    // Excel keeps 15 significant digits of a number cell: an 18-digit number typed into one is
    // lost from the 16th digit on, whichever way it is written out (4.51202E+17 in a CSV; an
    // .xlsx cell reads as such too, see table-codec's cellText). The number is not quoted back:
    // what is left of it is most of a person's identity number, and wrong.
    if (SCIENTIFIC.test(v)) return { message: '身份证号码是科学计数法（如 4.51202E+17）：像是在 Excel 中按数字录入，第 16 位起已丢失。请把该列设为文本格式、重新录入号码后再导入' };
    return { message: '应为身份证号码（18位或15位）或采集端摘要（64位十六进制）' };
  };
  return (entity: string, data: Record<string, unknown>, filed: FiledIdentities): FiledRecord => {
    if (entity === 'staff') {
      const { idNumber, ...rest } = data;
      if (typeof rest.idMasked === 'string') rest.idMasked = remaskIdNumber(rest.idMasked);
      const given = idNumber ?? rest.idHash;
      if (given === undefined || given === null || given === '') return { ok: true, data: rest };
      const field = idNumber !== undefined ? 'idNumber' : 'idHash';
      const onFile = (h: string) => typeof rest.id === 'string' && filed.staff(rest.id)?.idHash === h;
      const r = identity(given, onFile);
      if ('message' in r) return { ok: false, field, message: r.message };
      return { ok: true, data: { ...rest, idHash: r.idHash, ...(r.masked ? { idMasked: r.masked } : {}) } };
    }
    if (entity === 'listing' && typeof data.list === 'string' && PERSON_LISTS.has(data.list)) {
      const list = data.list as 'person_black' | 'agent_red';
      const r = identity(data.key, (h) => filed.listing?.(list, h) !== undefined);
      if ('message' in r) return { ok: false, field: 'key', message: r.message };
      return { ok: true, data: { ...data, key: r.idHash } };
    }
    return { ok: true, data };
  };
}

function layer(secret: string, detachment: string, value: string): string {
  return crypto.createHmac('sha256', Buffer.from(secret, 'hex')).update(`${detachment}|${value}`, 'utf8').digest('hex');
}

/** One more layer over an already stored value (rotation; see the design note). */
export function rekeyStoredValue(stored: string, newLayerSecret: string, detachment: string): string {
  return HEX_HASH.test(stored) ? layer(newLayerSecret, detachment, stored) : stored;
}

/**
 * Rekeyed values remembered (people, vehicles and staff recur), direct-mapped: a value's slot is
 * read off its first four hex digits (a collector hash is an HMAC, so its digits are uniform) and
 * a slot holds the last value that landed there. A hit is one array read and one string compare;
 * a `Map` had to hash the whole fresh 64-character string first and then walk its table (about 3 %
 * of the hub thread at saturation, docs/benchmarks.md). Anything in a slot is only used when the key
 * equals the value asked about, so a slot shared by two values costs a recomputation, never a
 * wrong answer; values that are not hex hashes are never stored.
 */
const REKEY_CACHE_SLOTS = 1 << 16; // four hex digits

/** The slot of `h`: its first four characters as hex digits (any other character gives some slot). */
function rekeySlot(h: string): number {
  return (hexDigit(h, 0) << 12) | (hexDigit(h, 1) << 8) | (hexDigit(h, 2) << 4) | hexDigit(h, 3);
}

/** '0'–'9' and 'a'–'f' as 0–15; anything else (or past the end) as some number in 0–15. */
function hexDigit(h: string, i: number): number {
  const c = h.charCodeAt(i) | 0;
  return (c <= 57 ? c - 48 : c - 87) & 15;
}

export function pseudonymsFromKeyring(k: Keyring, collectorKey?: string): HubPseudonyms {
  // The layers' keys once, not a hex decode per value; and a value seen before is not re-hashed
  // (every record of a batch carries several hashes, most of them seen in earlier batches).
  const layerKeys = k.layers.map((l) => crypto.createSecretKey(Buffer.from(l.secret, 'hex')));
  const prefix = `${k.detachment}|`;
  const cachedKeys = Array.from({ length: REKEY_CACHE_SLOTS }, () => '');
  const cachedValues = cachedKeys.slice();
  const rekey = (h: string): string => {
    const slot = rekeySlot(h);
    // An empty slot holds '' → '': right for '' too, which is not a hex hash and stays unchanged.
    if (cachedKeys[slot] === h) return cachedValues[slot]!;
    if (!HEX_HASH.test(h)) return h;
    let v = h;
    for (const key of layerKeys) v = crypto.createHmac('sha256', key).update(prefix + v, 'utf8').digest('hex');
    cachedKeys[slot] = h;
    cachedValues[slot] = v;
    return v;
  };
  const newest = k.layers[k.layers.length - 1]!;
  const keys = new Map(k.layers.map((l) => [l.id, l.secret]));
  return {
    describe: `${k.detachment}:${k.layers.map((l) => l.id).join('+')}`,
    rekey,
    rekeyRecord: (record) => rekeyPaths(record, rekey),
    rekeyOwnedRecord: (record) => rekeyPathsInPlace(record, rekey),
    sealAtRest(plaintext, context) {
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv('aes-256-gcm', atRestKey(newest.secret, k.detachment), iv);
      // The context (collector and batch id) is authenticated: a sealed payload moved to another row does not open.
      c.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      return `${SEALED}${newest.id}:${Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64')}`;
    },
    openAtRest(stored, context) {
      if (!stored.startsWith(SEALED)) return stored;
      const rest = stored.slice(SEALED.length);
      const colon = rest.indexOf(':');
      const secret = keys.get(rest.slice(0, colon));
      if (colon < 0 || secret === undefined) throw new HubError('SEALED_PAYLOAD_INVALID', `sealed with layer '${rest.slice(0, Math.max(0, colon))}', which this keyring (${k.layers.map((l) => l.id).join('+')}) does not hold`);
      const raw = Buffer.from(rest.slice(colon + 1), 'base64');
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', atRestKey(secret, k.detachment), raw.subarray(0, 12));
        d.setAAD(Buffer.from(context, 'utf8'));
        d.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      } catch (e) {
        throw new HubError('SEALED_PAYLOAD_INVALID', `sealed payload (${context}) does not open: ${errorMessage(e)}`);
      }
    },
    fileRegistryRecord: fileRegistry(rekey, collectorKey),
  };
}

/**
 * TEST ONLY (config.pseudonymSecrets = 'identity'): stores collector hashes as they arrive and
 * keeps held payloads as they are; masked forms are still normalised.
 */
export function identityPseudonyms(collectorKey?: string): HubPseudonyms {
  const rekey = (h: string) => h;
  return {
    describe: 'identity (tests only)',
    rekey,
    rekeyRecord: (r) => rekeyPaths(r, rekey),
    rekeyOwnedRecord: (r) => rekeyPathsInPlace(r, rekey),
    sealAtRest: (p) => p,
    openAtRest: (s) => s,
    fileRegistryRecord: fileRegistry(rekey, collectorKey),
  };
}

function parseKeyring(raw: unknown, where: string): Keyring {
  const k = Keyring.safeParse(raw);
  if (!k.success) throw new HubError('CONFIG_INVALID', `${where}: ${describeIssues(k.error)}`);
  return k.data;
}

/**
 * The hub's keyring: config.pseudonymSecrets (tests), else JG_PSEUDONYM_SECRET_FILE, else
 * <dataDir>/pseudonym-keyring.json, created with one fresh layer on first start.
 */
export function createHubPseudonyms(config: Pick<HubConfig, 'pseudonymSecrets' | 'pseudonymSecretFile' | 'dataDir'> & Partial<Pick<HubConfig, 'collectorPseudonymKey'>>): HubPseudonyms {
  const ck = config.collectorPseudonymKey;
  if (config.pseudonymSecrets === 'identity') return identityPseudonyms(ck);
  if (config.pseudonymSecrets !== undefined) return pseudonymsFromKeyring(parseKeyring(config.pseudonymSecrets, 'pseudonymSecrets'), ck);
  return pseudonymsFromKeyring(readKeyring(config), ck);
}

/** Where the keyring file is (JG_PSEUDONYM_SECRET_FILE or the default under the data directory). */
export function keyringFile(config: Pick<HubConfig, 'pseudonymSecretFile' | 'dataDir'>): string {
  return config.pseudonymSecretFile ?? path.join(config.dataDir, 'pseudonym-keyring.json');
}

/** Reads the keyring file, creating it with one fresh layer on first start. */
export function readKeyring(config: Pick<HubConfig, 'pseudonymSecretFile' | 'dataDir'>): Keyring {
  const file = keyringFile(config);
  if (!fs.existsSync(file)) {
    if (config.pseudonymSecretFile !== undefined) throw new HubError('CONFIG_INVALID', `JG_PSEUDONYM_SECRET_FILE ${file} does not exist`);
    const fresh: Keyring = { detachment: 'default', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // wx: two hubs starting on one data directory cannot both write a different secret.
    try {
      writeFileDurableSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { exclusive: true });
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
  return parseKeyring(raw, file);
}
