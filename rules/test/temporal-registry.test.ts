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

  it('lets a back-dated correction win from its effective time without rewriting the older versions', () => {
    const T0 = cst('2026-10-01T00:00');
    // v1 filed on approval day T1; v2 (approved later) says the filing really began on T0 —
    // an import of years of filings, or a correction of the past.
    const versions = [
      { ...v(clerk.id, T1, null, { ...clerk, name: 'v1' }), version: 1 },
      { ...v(clerk.id, T0, null, { ...clerk, name: 'v2' }), version: 2 },
    ];
    const t = createTemporalRegistry({ institutions: [], staff: versions, listings: [] }, createRegistryView([], []));
    expect(t.at(T0 - 1).staff(clerk.id)).toBeUndefined();
    expect(t.at(T0).staff(clerk.id)?.name).toBe('v2');
    expect(t.at(T1 + 1).staff(clerk.id)?.name).toBe('v2');
    // A bounded correction (v3 for [T0, T1)) hides v2 only there; later times still read v2.
    const bounded = [...versions, { ...v(clerk.id, T0, T1, { ...clerk, name: 'v3' }), version: 3 }];
    const b = createTemporalRegistry({ institutions: [], staff: bounded, listings: [] }, createRegistryView([], []));
    expect(b.at(T0).staff(clerk.id)?.name).toBe('v3');
    expect(b.at(T1 - 1).staff(clerk.id)?.name).toBe('v3');
    expect(b.at(T1).staff(clerk.id)?.name).toBe('v2');
    // The input versions are untouched (append-only history).
    expect(versions.map((x) => [x.validFrom, x.validTo])).toEqual([[T1, null], [T0, null]]);
  });

  it('judges a filed device by the version of the record\'s time', () => {
    const dev = { id: 'D1', institutionId: inst.id, kind: 'inspection_instrument' as const, name: '制动台', filed: true, validFrom: 0, validTo: null };
    const t = createTemporalRegistry(
      { institutions: [], staff: [], listings: [], devices: [{ ...v('D1', T1, null, dev), version: 1 }, { ...v('D1', T2, null, dev, true), version: 2 }] },
      createRegistryView([], []),
    );
    expect(t.at(T1 - 1).device?.('D1')).toBeUndefined();
    expect(t.at(T1).device?.('D1')?.name).toBe('制动台');
    expect(t.at(T2).device?.('D1')).toBeUndefined();
    expect(t.at(T1).filesDevices?.(inst.id)).toBe(true);
    expect(t.at(T1).filesDevices?.('other')).toBe(false);
  });

  // Model-based: random back-dated and bounded versions in approval order against the naive
  // answer "of the versions containing t, the one approved last".
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('matches "the last approval containing t wins" on random back-dated histories (seed %i)', (seed) => {
    let s = seed * 0x85ebca6b;
    const rnd = () => {
      s = (s + 0x6d2b79f5) | 0;
      let x = Math.imul(s ^ (s >>> 15), 1 | s);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const staffVersions: RegistryVersion<Staff>[] = [];
    for (let k = 0; k < 6; k++) {
      const n = 1 + Math.floor(rnd() * 7);
      for (let i = 0; i < n; i++) {
        // Any effective start (past or future of the others), open or bounded, sometimes empty.
        const from = Math.floor(rnd() * 120);
        const to = rnd() < 0.5 ? null : from + Math.floor(rnd() * 60);
        staffVersions.push({ ...v(`S${k}`, from, to, { ...clerk, id: `S${k}`, name: `v${i + 1}` }, rnd() < 0.2), version: i + 1 });
      }
    }
    // Shuffle: the order given must not matter, only the version numbers.
    for (let i = staffVersions.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [staffVersions[i], staffVersions[j]] = [staffVersions[j]!, staffVersions[i]!];
    }
    const naive = (key: string, t: number) => {
      const hit = staffVersions
        .filter((x) => x.key === key && x.validFrom <= t && (x.validTo === null || t < x.validTo))
        .sort((a, b) => b.version! - a.version!)[0];
      return hit ? (hit.retired ? { ...hit.data, filed: false } : hit.data) : undefined;
    };
    const temporal = createTemporalRegistry({ institutions: [], staff: staffVersions, listings: [] }, createRegistryView([], []));
    for (let t = -1; t <= 185; t++) {
      const view = temporal.at(t);
      for (let k = 0; k < 6; k++) expect(view.staff(`S${k}`), `S${k} at ${t}`).toEqual(naive(`S${k}`, t));
    }
  });
});
