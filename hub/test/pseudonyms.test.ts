/**
 * The hub's pseudonym layer in isolation: the hash paths it keys (dead-letter shapes included),
 * the masked forms it normalises, held payloads sealed at rest across a rotation, and the
 * collector hash the registry computes from a raw number (equal to the collector's own).
 */
import crypto from 'node:crypto';
import { isValidIdNumber } from '@jianguan/rules';
import { describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../../collector/dist/pseudonym.js';
import { isHubError } from '../src/errors.js';
import { collectorIdHash, identityPseudonyms, pseudonymsFromKeyring, rekeyStoredValue, type Keyring } from '../src/pseudonyms.js';

const keyring: Keyring = { detachment: '451200', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] };
const hub = pseudonymsFromKeyring(keyring);
const H = 'a'.repeat(64);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isHubError(e) ? e.code : 'not a HubError';
  }
  return undefined;
}

describe('rekey', () => {
  /** One layer of HMAC-SHA256 over "detachment|value", computed without the hub's cache. */
  const want = (v: string) => crypto.createHmac('sha256', Buffer.from(keyring.layers[0]!.secret, 'hex')).update(`451200|${v}`, 'utf8').digest('hex');

  it('answers the same through its bounded cache as without it, across values pushed out of it', () => {
    // More distinct values than the cache has slots (65,536), then the first ones again (most of
    // them pushed out by then) and recurring ones in between (held): each answer equals one layer
    // of HMAC-SHA256 over "detachment|value", computed here without any cache.
    const own = pseudonymsFromKeyring(keyring);
    const values = Array.from({ length: 70_000 }, (_, i) => crypto.createHash('sha256').update(`v${i}`).digest('hex'));
    const order = [...values, ...values.slice(0, 50), ...values.flatMap((v, i) => (i % 2_000 === 0 ? [v, values[0]!] : [])), ...values.slice().reverse()];
    for (const v of order) expect(own.rekey(v)).toBe(want(v));
  });

  it('keeps values that share a slot apart, and passes what is not a hex hash unchanged', () => {
    // The cache's slot is a value's first four hex digits: values with the same four, of several
    // lengths, alternate; anything else (short, empty, upper case, other characters) is never a
    // hex hash and comes back as given, whatever slot it lands on.
    const own = pseudonymsFromKeyring(keyring);
    const same = ['abcd'.padEnd(64, '0'), `${'abcd'.padEnd(63, '0')}1`, `1${'abcd'.padEnd(63, '0')}`.slice(1), 'abcd'.padEnd(64, '1'), 'abcd'.padEnd(16, '0'), `abcd${'e'.repeat(124)}`, '0000'.padEnd(64, 'f'), '0'.repeat(16)];
    const plain = ['', 'a', 'abc', 'ABCD'.padEnd(64, '0'), 'abcdg'.padEnd(64, '0'), 'zzzz', '0000', '   0000000000000000', 'a'.repeat(129), 'a'.repeat(15)];
    for (let round = 0; round < 3; round++) {
      for (const v of same) expect(own.rekey(v)).toBe(want(v));
      for (const v of plain) expect(own.rekey(v)).toBe(v);
      for (const v of [...same].reverse()) expect(own.rekey(v)).toBe(want(v));
    }
  });
});

describe('rekeyRecord', () => {
  it('keys every hash path, staffIdHash and phoneHash included, and cuts 4+4 masked forms to 2+2', () => {
    const r = hub.rekeyRecord({ subject: { idHash: H, masked: '4512**********123X' }, agent: { idHash: H, masked: '45120219900307123X' }, vehicle: { ownerIdHash: H, hpzl: '02' }, licence: { numberHash: H }, staffIdHash: H, phoneHash: H, lsh: H });
    const k = hub.rekey(H);
    expect(r).toEqual({ subject: { idHash: k, masked: '45**************3X' }, agent: { idHash: k, masked: '45**************3X' }, vehicle: { ownerIdHash: k, hpzl: '02' }, licence: { numberHash: k }, staffIdHash: k, phoneHash: k, lsh: H });
  });

  it('takes any dead-letter shape: non-objects, wrong types and non-hash values pass unchanged', () => {
    for (const v of [null, 5, 'x', [H], { subject: [H] }, { subject: { idHash: 7 } }, { staffIdHash: 'not-a-hash' }, { vehicle: 'x' }]) expect(hub.rekeyRecord(v)).toEqual(v);
  });

  it('leaves what it was given as it was; rekeyOwnedRecord gives the same result by changing its argument', () => {
    const make = () => ({ subject: { idHash: H, masked: '4512**********123X', birthYear: 1990 }, agent: { idHash: H, masked: '' }, vehicle: { ownerIdHash: H, hpzl: '02', vin: 'LSVAA4182E2123456' }, licence: { numberHash: H, zjcx: 'C1' }, staffIdHash: H, phoneHash: H, lsh: H, evidence: [H] });
    const given = make();
    const copied = hub.rekeyRecord(given);
    expect(given).toEqual(make());
    expect(copied.subject).not.toBe(given.subject);
    const owned = make();
    const inPlace = hub.rekeyOwnedRecord(owned);
    expect(inPlace).toBe(owned);
    expect(owned).toEqual(copied);
    // Records without the nested objects, or with other shapes, come out alike either way.
    for (const v of [{}, { subject: null }, { vehicle: { hpzl: '01' } }, { licence: 'x' }, { staffIdHash: 7 }]) {
      const c = hub.rekeyRecord(structuredClone(v));
      expect(hub.rekeyOwnedRecord(structuredClone(v))).toEqual(c);
    }
  });
});

describe('held payloads sealed at rest', () => {
  it('opens only with the same context, still after a rotation; plaintext of before passes; identity seals nothing', () => {
    const sealed = hub.sealAtRest('{"records":[1]}', 'held|c1|c1:1-1');
    expect(sealed.startsWith('jg-sealed:v1:k1:')).toBe(true);
    expect(sealed).not.toContain('records');
    expect(hub.openAtRest(sealed, 'held|c1|c1:1-1')).toBe('{"records":[1]}');
    expect(codeOf(() => hub.openAtRest(sealed, 'held|c2|c1:1-1'))).toBe('SEALED_PAYLOAD_INVALID');
    const grown = pseudonymsFromKeyring({ ...keyring, layers: [...keyring.layers, { id: 'k2', secret: crypto.randomBytes(32).toString('hex') }] });
    expect(grown.openAtRest(sealed, 'held|c1|c1:1-1')).toBe('{"records":[1]}');
    expect(grown.sealAtRest('x', 'c').startsWith('jg-sealed:v1:k2:')).toBe(true);
    expect(codeOf(() => pseudonymsFromKeyring({ ...keyring, layers: [{ id: 'k9', secret: keyring.layers[0]!.secret }] }).openAtRest(sealed, 'held|c1|c1:1-1'))).toBe('SEALED_PAYLOAD_INVALID');
    expect(hub.openAtRest('{"legacy":true}', 'held|c1|c1:1-1')).toBe('{"legacy":true}');
    expect(identityPseudonyms().sealAtRest('p', 'c')).toBe('p');
  });
});

describe('registry identities', () => {
  const KEY = 'detachment-collector-key-0123456789';
  const ID = '45120219900307123X';
  const withKey = pseudonymsFromKeyring(keyring, KEY);
  const none = { staff: () => undefined, listing: () => undefined };

  it('hashes a raw number exactly as a collector does, then applies the layer', () => {
    expect(collectorIdHash(KEY, ` ${ID.toLowerCase()} `)).toBe(createPseudonymizer(KEY).idHash(ID));
    const r = withKey.fileRegistryRecord('staff', { id: 'S1', idNumber: ID }, none);
    expect(r).toEqual({ ok: true, data: { id: 'S1', idHash: hub.rekey(collectorIdHash(KEY, ID)), idMasked: '45**************3X' } });
  });

  it('applies the layer to a collector hash, keeps the hash already on file, refuses raw numbers without the collector key', () => {
    expect(withKey.fileRegistryRecord('listing', { list: 'person_black', key: H.toUpperCase() }, none)).toEqual({ ok: true, data: { list: 'person_black', key: hub.rekey(H) } });
    const onFile = { staff: (id: string) => (id === 'S1' ? { idHash: hub.rekey(H) } : undefined) };
    expect(withKey.fileRegistryRecord('staff', { id: 'S1', idHash: hub.rekey(H) }, onFile)).toEqual({ ok: true, data: { id: 'S1', idHash: hub.rekey(H) } });
    expect(withKey.fileRegistryRecord('listing', { list: 'vin_check_black', key: 'LSVAA4182E2100001' }, none)).toEqual({ ok: true, data: { list: 'vin_check_black', key: 'LSVAA4182E2100001' } });
    expect(hub.fileRegistryRecord('staff', { id: 'S1', idNumber: ID }, none)).toMatchObject({ ok: false, field: 'idNumber' });
  });

  it('refuses a number Excel rewrote (typed into a number cell: last three digits 000, check digit wrong) and files real ones ending in 000', () => {
    // 45270119800315001X kept as an Excel number: 15 significant digits, 452701198003150000.
    const r = withKey.fileRegistryRecord('staff', { id: 'S1', idNumber: '452701198003150000' }, none);
    expect(r).toMatchObject({ ok: false, field: 'idNumber' });
    expect((r as { message: string }).message).toContain('Excel');
    expect(withKey.fileRegistryRecord('listing', { list: 'person_black', key: '452701198003150000' }, none)).toMatchObject({ ok: false, field: 'key' });
    // A real number may end in 000 when its check digit is 0 (45120219900301700 → 0): filed.
    expect(isValidIdNumber('451202199003017000')).toBe(true);
    expect(withKey.fileRegistryRecord('staff', { id: 'S1', idNumber: '451202199003017000' }, none)).toMatchObject({ ok: true });
  });

  it('a rotation layer over a stored value equals the grown keyring over the collector hash', () => {
    const secret = crypto.randomBytes(32).toString('hex');
    const grown = pseudonymsFromKeyring({ ...keyring, layers: [...keyring.layers, { id: 'k2', secret }] });
    expect(rekeyStoredValue(hub.rekey(H), secret, keyring.detachment)).toBe(grown.rekey(H));
  });
});
