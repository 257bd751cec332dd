import { describe, expect, it } from 'vitest';
import {
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
    createRegistryView,
  createEngine,
  createTemporalRegistry,
  DEFAULT_PACK,
  type Institution,
  type Listing,
  type RegistryVersion,
  type Staff,
} from '../src/index.js';
import { context, cst, hashOf, person, txn } from './helpers.js';

const inst = DEMO_INSTITUTIONS[0]!;
const clerk = DEMO_STAFF.find((s) => s.institutionId === inst.id)!;
const T1 = cst('2026-11-01T00:00');
const T2 = cst('2026-11-15T12:00');

function v<T>(key: string, validFrom: number, validTo: number | null, data: T, retired = false): RegistryVersion<T> {
  return { key, validFrom, validTo, retired, data };
}

describe('temporal registry', () => {
  const blackKey = hashOf('black-agent');
  const listing: Listing = { list: 'person_black', key: blackKey, scope: 'any', note: '伪造材料' };
  const current = createRegistryView([{ ...inst, status: 'suspended' }], [{ ...clerk, filed: false }], [listing]);
  const temporal = createTemporalRegistry(
    {
      institutions: [v(inst.id, 0, T2, inst), v(inst.id, T2, null, inst, true)],
      staff: [v(clerk.id, 0, T1, clerk), v(clerk.id, T1, null, { ...clerk, filed: false })],
      listings: [v(`person_black:${blackKey}`, T2, null, listing)],
    },
    current,
  );

  it('answers with the version whose [validFrom, validTo) contains the time', () => {
    expect(temporal.at(T1 - 1).staff(clerk.id)?.filed).toBe(true);
    expect(temporal.at(T1).staff(clerk.id)?.filed).toBe(false);
    expect(temporal.at(T2 - 1).institution(inst.id)?.status).toBe('active');
    // A retire reads as the live projection shows it: suspended, not vanished.
    expect(temporal.at(T2).institution(inst.id)?.status).toBe('suspended');
    expect(temporal.at(T2 - 1).listing?.('person_black', blackKey)).toBeUndefined();
    expect(temporal.at(T2).listing?.('person_black', blackKey)?.note).toBe('伪造材料');
  });

  it('shares one view from the last change on, and falls back for keys that never had versions', () => {
    expect(temporal.settledFrom).toBe(T2);
    expect(temporal.at(T2 + 1)).toBe(temporal.at(T2));
    expect(temporal.at(Date.now()).staff(clerk.id)?.filed).toBe(false);
    const other = DEMO_STAFF.find((s) => s.id !== clerk.id)!;
    const withOther = createTemporalRegistry({ institutions: [], staff: [v(clerk.id, T1, null, clerk)], listings: [] }, createRegistryView([], [other]));
    expect(withOther.at(0).staff(other.id)?.id).toBe(other.id);
    // Before its first version a key did not exist yet.
    expect(withOther.at(T1 - 1).staff(clerk.id)).toBeUndefined();
    expect(withOther.at(T1).staff(clerk.id)?.id).toBe(clerk.id);
  });

  it('makes a rule judge each transaction against the registry of its own time', async () => {
    const engine = createEngine(DEFAULT_PACK);
    const agent = { idHash: blackKey, masked: '4512**********001X' };
    const before = txn({ occurredAt: cst('2026-11-10T10:00'), institutionId: 'YZ-CGFS', staffId: 'YZ-CGFS-C01', agent, subject: person('s1') });
    const after = txn({ occurredAt: cst('2026-11-16T10:00'), institutionId: 'YZ-CGFS', staffId: 'YZ-CGFS-C01', agent, subject: person('s2') });
    const fired = async (t: typeof before) =>
      (await engine.evaluate(t, { ...context(), registry: temporal.at(t.occurredAt) })).map((h) => h.rule.id);
    expect(await fired(before)).not.toContain('agent.blacklisted');
    expect(await fired(after)).toContain('agent.blacklisted');
  });

  // Model-based: random histories against "filter the versions containing t", written out naively.
  it.each([1, 2, 3, 4, 5, 6])('matches a naive scan on random histories (seed %i)', (seed) => {
    let s = seed * 0x9e3779b9;
    const rnd = () => {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const versions: RegistryVersion<Institution>[] = [];
    const staffVersions: RegistryVersion<Staff>[] = [];
    for (let k = 0; k < 8; k++) {
      // Versions tile time from a random start; the last may be open or (rarely) closed.
      let at = Math.floor(rnd() * 100);
      const n = 1 + Math.floor(rnd() * 5);
      for (let i = 0; i < n; i++) {
        const next = at + 1 + Math.floor(rnd() * 50);
        const open = i === n - 1 && rnd() < 0.8;
        const retired = rnd() < 0.25;
        versions.push(v(`I${k}`, at, open ? null : next, { ...inst, id: `I${k}`, name: `v${i}` }, retired));
        staffVersions.push(v(`S${k}`, at, open ? null : next, { ...clerk, id: `S${k}`, name: `v${i}` }, retired));
        at = next;
      }
    }
    const naive = <T>(list: RegistryVersion<T>[], key: string, t: number) =>
      list.find((x) => x.key === key && x.validFrom <= t && (x.validTo === null || t < x.validTo));
    const project = <T extends object>(x: RegistryVersion<T> | undefined, retiredPatch: Partial<T>) => (x ? (x.retired ? { ...x.data, ...retiredPatch } : x.data) : undefined);
    const latest = (t: number) =>
      createRegistryView(
        Array.from({ length: 8 }, (_, k) => project(naive(versions, `I${k}`, t), { status: 'suspended' } as Partial<Institution>)).filter((x): x is Institution => !!x),
        Array.from({ length: 8 }, (_, k) => project(naive(staffVersions, `S${k}`, t), { filed: false } as Partial<Staff>)).filter((x): x is Staff => !!x),
      );
    const horizon = Math.max(...versions.map((x) => Math.max(x.validFrom, x.validTo ?? 0)));
    const temporal = createTemporalRegistry({ institutions: versions, staff: staffVersions, listings: [] }, latest(horizon));
    for (let t = -1; t <= horizon + 2; t++) {
      const view = temporal.at(t);
      for (let k = 0; k < 8; k++) {
        expect(view.institution(`I${k}`)).toEqual(project(naive(versions, `I${k}`, t), { status: 'suspended' } as Partial<Institution>));
        expect(view.staff(`S${k}`)).toEqual(project(naive(staffVersions, `S${k}`, t), { filed: false } as Partial<Staff>));
      }
    }
  });
});
