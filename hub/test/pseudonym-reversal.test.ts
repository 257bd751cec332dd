/**
 * What a stolen counter PC gives an attacker: the collectors' pseudonym key k_c. Before the hub
 * layer (hub/src/pseudonyms.ts) the store kept HMAC(k_c, id) next to the masked form, and an
 * identity number fell to enumeration. This test runs that attack — enumerate every number that
 * fits the masked form, hash it under k_c, look for the stored value — against the old stored
 * form (it must find the number, so the attack is real) and against the hub's stored form (it
 * must not). The search space is cut to one birth year so the test stays short; the timing of
 * the full space is in docs/security.md (scripts/pseudonym-reversal.mjs).
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pseudonymsFromKeyring, rekeyStoredValue } from '../src/pseudonyms.js';

const COLLECTOR_KEY = 'counter-pc-key-0123456789abcdef0123456789';
const ID = '451202199003071234';
const MASKED = '4512**********1234';

const collectorHash = (id: string) => crypto.createHmac('sha256', COLLECTOR_KEY).update(id, 'utf8').digest('hex');

const CHECK_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** Every number of the region prefix and suffix with a birth date in `year`. */
function* candidates(year: number): Generator<string> {
  const start = Date.UTC(year, 0, 1);
  for (let region = 0; region < 100; region++) {
    for (let d = start; d < Date.UTC(year + 1, 0, 1); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10).replace(/-/g, '');
      const body = `${MASKED.slice(0, 4)}${String(region).padStart(2, '0')}${day}${MASKED.slice(14, 17)}`;
      const sum = CHECK_WEIGHTS.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
      const id = body + CHECK_CHARS[sum % 11];
      if (id.endsWith(MASKED.slice(17))) yield id;
    }
  }
}

function attack(stored: string): { found?: string; tried: number; ms: number } {
  const t0 = performance.now();
  let tried = 0;
  for (const id of candidates(1990)) {
    tried++;
    if (collectorHash(id) === stored) return { found: id, tried, ms: performance.now() - t0 };
  }
  return { tried, ms: performance.now() - t0 };
}

describe('reversing a stored pseudonym with a counter PC’s key', () => {
  const keyring = { detachment: '451200', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] };
  const hub = pseudonymsFromKeyring(keyring);

  it('finds the number when the store keeps the collector hash (the old form: the attack is real)', () => {
    const r = attack(collectorHash(ID));
    expect(r.found).toBe(ID);
    // The measurement recorded in docs/security.md.
    console.log(`old form: found after ${r.tried} candidates in ${r.ms.toFixed(0)} ms (${((r.tried / r.ms) * 1000).toFixed(0)} hashes/s)`);
  });

  it('fails against the hub form: every candidate tried, none matches', () => {
    const stored = hub.rekey(collectorHash(ID));
    const r = attack(stored);
    expect(r.found).toBeUndefined();
    // The whole year's space (100 regions × 365 days, one in 11 with the shown check digit).
    expect(r.tried).toBeGreaterThan(3_000);
    console.log(`hub form: no match in all ${r.tried} candidates (${r.ms.toFixed(0)} ms)`);
  });

  it('keeps joins: the same number from any counter gives the same stored value; rotation by a new layer keeps it', () => {
    const a = hub.rekeyRecord({ subject: { idHash: collectorHash(ID), masked: MASKED } });
    const b = hub.rekeyRecord({ vehicle: { ownerIdHash: collectorHash(ID) } });
    expect(a.subject.idHash).toBe(b.vehicle.ownerIdHash);
    const layer2 = crypto.randomBytes(32).toString('hex');
    const rotated = pseudonymsFromKeyring({ ...keyring, layers: [...keyring.layers, { id: 'k2', secret: layer2 }] });
    // Old rows rewritten with the new layer equal new arrivals under the grown keyring.
    expect(rekeyStoredValue(a.subject.idHash, layer2, keyring.detachment)).toBe(rotated.rekey(collectorHash(ID)));
    // Another detachment's keyring never joins with this one.
    expect(pseudonymsFromKeyring({ ...keyring, detachment: '451100' }).rekey(collectorHash(ID))).not.toBe(a.subject.idHash);
  });
});
