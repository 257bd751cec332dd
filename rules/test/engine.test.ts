import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PACK,
  DEMO_STAFF,
  FIELD_PATHS,
  RULE_ERROR_CODES,
  RULE_IDS,
  RuleConfigError,
  TransactionSchema,
  createEngine,
  createMemoryWindowState,
  demoStaffOf,
  validateDefinitions,
  type RuleDefinitionInput,
  type Transaction,
} from '../src/index.js';
import { DAY, SECOND, context, cst, hashOf, person, spyState, thrown, txn } from './helpers.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const packWith = (id: string, patch: (def: Record<string, unknown>) => void): unknown[] =>
  DEFAULT_PACK.map((d) => {
    const c = clone(d) as unknown as Record<string, unknown>;
    if (c.id === id) patch(c);
    return c;
  });

describe('the default pack', () => {
  const engine = createEngine();

  it('has every built-in rule, in pack order, each fully described', () => {
    expect(engine.rules.map((r) => r.id)).toEqual(DEFAULT_PACK.map((d) => d.id));
    expect(engine.rules.length).toBeGreaterThanOrEqual(45);
    // The first release's five rules keep their ids and their relative order.
    const first = ['counter.off_hours', 'agent.frequent', 'check.short_duration', 'check.inspector_unfiled', 'points.licence_multi_vehicle'];
    expect(engine.rules.map((r) => r.id).filter((id) => first.includes(id))).toEqual(first);
    expect(Object.values(RULE_IDS).sort()).toEqual(engine.rules.map((r) => r.id).sort());
    for (const r of engine.rules) {
      expect(r.name).toMatch(/\p{Script=Han}/u);
      expect(r.description).toMatch(/\p{Script=Han}/u);
      expect(r.basis).toMatch(/domain\.md §/);
      expect(r.basis, r.id).toMatch(/\[(src|sugg)\]|备案库/);
      expect(r.version).toMatch(/^r[12]-[0-9a-f]{8}$/);
      expect(r.id.split('.')[0]).toBe(r.family);
    }
  });

  it('has a stable version derived from definitions and parameters', () => {
    expect(engine.version).toMatch(/^pack-2026\.12-[0-9a-f]{8}$/);
    expect(createEngine().version).toBe(engine.version);
    expect(createEngine(clone(DEFAULT_PACK)).version).toBe(engine.version);
    // Key order in the data does not matter.
    const reordered = DEFAULT_PACK.map((d) => Object.fromEntries(Object.entries(clone(d)).reverse()));
    expect(createEngine(reordered).version).toBe(engine.version);
    // Spelling out a default changes nothing; changing a threshold changes the pack and that rule only.
    expect(createEngine(undefined, { params: { 'agent.frequent': { threshold: 5 } } }).version).toBe(engine.version);
    const tuned = createEngine(undefined, { params: { 'agent.frequent': { threshold: 4 } } });
    expect(tuned.version).not.toBe(engine.version);
    const changed = tuned.rules.filter((r, i) => r.version !== engine.rules[i]!.version).map((r) => r.id);
    expect(changed).toEqual(['agent.frequent']);
    expect(createEngine(undefined, { label: 'pilot' }).version).toMatch(/^pilot-[0-9a-f]{8}$/);
  });

  it('exposes effective parameters', () => {
    const tuned = createEngine(undefined, { params: { 'check.short_duration': { minSeconds: 150 } } });
    const def = tuned.definitions.find((d) => d.id === 'check.short_duration');
    expect(def?.params).toEqual({ minSeconds: 150 });
    expect(engine.definitions.find((d) => d.id === 'points.licence_multi_vehicle')?.params).toEqual({ windowDays: 365, threshold: 3 });
  });

  it('raises nothing for normal traffic (working hours, filed staff, occasional agents, real checks, own cars)', async () => {
    const ctx = context();
    const monday = cst('2026-11-23T08:30');
    const inspectors = demoStaffOf('JCJ-JYZ', 'inspector', monday);
    let n = 0;
    const hits: string[] = [];
    for (let day = 0; day < 5; day++) {
      for (let i = 0; i < 60; i++) {
        const at = monday + day * DAY + i * 9 * 60 * SECOND; // 08:30 … 17:21
        const owner = person(`p-${day}-${i}`);
        const agent = i % 3 === 0 ? person(`agent-${day}-${i % 12}`) : undefined; // each agent exactly 5 times: the allowed maximum
        const batch: Partial<Transaction>[] = [
          { kind: i % 2 ? 'vehicle' : 'licence', agent, subject: owner },
          {
            kind: 'check',
            channel: 'institution',
            institutionId: 'JCJ-JYZ',
            staffId: inspectors[i % inspectors.length]!.id,
            vehicle: { hpzl: i % 4 ? '02' : '52', hphm: `桂M${10000 + i}`, ownerIdHash: owner.idHash },
            startedAt: at,
            endedAt: at + (180 + (i % 7) * 40) * SECOND,
          },
          {
            kind: 'violation',
            subject: owner,
            licence: { numberHash: hashOf(`lic-${day}-${i}`) },
            vehicle: { hpzl: '02', hphm: `桂M${20000 + i}`, ownerIdHash: owner.idHash },
          },
          // An exam at night by a filed examiner: no rule looks at exam times.
          { kind: 'exam', channel: 'institution', institutionId: 'HJ-JX', staffId: 'HJ-JX-E01', occurredAt: at + 19 * 3600 * SECOND },
          { kind: 'online', channel: 'internet', occurredAt: monday + 5 * DAY + i * 60 * SECOND }, // weekend, online
        ];
        for (const b of batch) {
          n++;
          for (const h of await engine.evaluate(txn({ occurredAt: at, ...b }), ctx)) hits.push(`${h.rule.id}: ${h.explanation}`);
        }
      }
    }
    expect(n).toBe(1500);
    expect(hits).toEqual([]);
  });

  it('only stateful rules that apply touch the window state', async () => {
    const { state, calls } = spyState();
    const ctx = context({ state });
    await engine.evaluate(txn(), ctx); // plain vehicle business, no agent
    await engine.evaluate(txn({ kind: 'check', staffId: 'JCJ-CGS-I01' }), ctx);
    await engine.evaluate(txn({ kind: 'violation', subject: person('x'), licence: { numberHash: hashOf('l') }, vehicle: { hpzl: '02', hphm: '桂M1' } }), ctx);
    expect(calls).toEqual([]);
    await engine.evaluateBlocking(txn({ agent: person('a') }), ctx); // blocking path: no stateful rules
    expect(calls).toEqual([]);
  });
});

describe('definition validation (coded errors)', () => {
  const code = (defs: unknown[]) => thrown(() => createEngine(defs)).code;

  it('accepts the default pack as data', () => {
    expect(validateDefinitions(clone(DEFAULT_PACK) as unknown[])).toHaveLength(DEFAULT_PACK.length);
  });

  it('rejects schema problems with RULE_DEFINITION_INVALID, naming the rule and the path', () => {
    const err = thrown(() => createEngine(packWith('agent.frequent', (d) => (d.kind = 'window_sum'))));
    expect(err).toBeInstanceOf(RuleConfigError);
    expect(err.code).toBe(RULE_ERROR_CODES.RULE_DEFINITION_INVALID);
    expect(err.ruleId).toBe('agent.frequent');

    expect(code(packWith('check.short_duration', (d) => ((d.when as { field: string }[])[1]!.field = 'vehicle.hpz')))).toBe('RULE_DEFINITION_INVALID');
    expect(code(packWith('counter.off_hours', (d) => ((d.when as { values: string[] }[])[0]!.values = ['license'])))).toBe('RULE_DEFINITION_INVALID');
    expect(code(packWith('agent.frequent', (d) => (d.explain = { exceeded: '第{cnt}次' })))).toBe('RULE_DEFINITION_INVALID');
    expect(code(packWith('agent.frequent', (d) => (d.threshhold = 5)))).toBe('RULE_DEFINITION_INVALID'); // strict: typo'd key
    expect(code(packWith('check.short_duration', (d) => (d.params = {})))).toBe('RULE_DEFINITION_INVALID');
    expect(code(packWith('check.short_duration', (d) => (d.params = { maxSeconds: 600 })))).toBe('RULE_DEFINITION_INVALID'); // no too_long template
    expect(code(packWith('counter.off_hours', (d) => (d.id = 'Off Hours')))).toBe('RULE_DEFINITION_INVALID');
    expect(code(packWith('counter.off_hours', (d) => (d.severity = 'critical')))).toBe('RULE_DEFINITION_INVALID');
    expect(code([42])).toBe('RULE_DEFINITION_INVALID');

    const withPlaceholder = thrown(() => createEngine(packWith('agent.frequent', (d) => (d.explain = { exceeded: '第{cnt}次' }))));
    expect(withPlaceholder.issues?.join('\n')).toMatch(/explain\.exceeded: unknown placeholder \{cnt\}/);
  });

  it('rejects duplicate ids and shared state keys with RULE_DEFINITION_CONFLICT', () => {
    expect(code([...clone(DEFAULT_PACK), clone(DEFAULT_PACK[0])])).toBe('RULE_DEFINITION_CONFLICT');
    const copy = { ...clone(DEFAULT_PACK.find((d) => d.id === 'agent.frequent')!), id: 'agent.frequent_week' };
    expect(code([...clone(DEFAULT_PACK), copy])).toBe('RULE_DEFINITION_CONFLICT');
  });

  it('rejects bad parameter overrides with RULE_PARAMS_INVALID or RULE_UNKNOWN', () => {
    const p = (params: Record<string, Record<string, unknown>>) => thrown(() => createEngine(undefined, { params }));
    expect(p({ 'agent.frequent': { threshold: 0 } }).code).toBe('RULE_PARAMS_INVALID');
    expect(p({ 'agent.frequent': { threshold: 2.5 } }).code).toBe('RULE_PARAMS_INVALID');
    expect(p({ 'agent.frequent': { threshhold: 4 } }).code).toBe('RULE_PARAMS_INVALID');
    expect(p({ 'agent.frequent': { windowDays: '30' } }).code).toBe('RULE_PARAMS_INVALID');
    expect(p({ 'counter.off_hours': { threshold: 1 } }).code).toBe('RULE_PARAMS_INVALID');
    expect(p({ 'check.short_duration': { maxSeconds: 900 } }).code).toBe('RULE_PARAMS_INVALID'); // no too_long template
    expect(p({ 'check.short_duration': { minSeconds: -1 } }).code).toBe('RULE_PARAMS_INVALID');
    const unknown = p({ 'agent.frequently': { threshold: 4 } });
    expect(unknown.code).toBe('RULE_UNKNOWN');
    expect(unknown.ruleId).toBe('agent.frequently');
    // undefined in a Partial<params> means "keep the default".
    const kept = createEngine(undefined, { params: { 'agent.frequent': { threshold: undefined, windowDays: 7 } } });
    expect(kept.definitions.find((d) => d.id === 'agent.frequent')?.params).toEqual({ windowDays: 7, threshold: 5 });
  });
});

describe('rules are data: a custom pack', () => {
  // A queue-wait rule (domain.md §6: wait ticket→call ≥3600 s) written purely as a definition.
  const longWait: RuleDefinitionInput = {
    id: 'counter.long_wait',
    kind: 'duration',
    name: '排队等候超时',
    family: 'counter',
    severity: 'low',
    action: 'warn',
    description: '取号到叫号的等候时间达到阈值',
    basis: 'domain.md §6 窗口办理：等候≥3600秒 [src]',
    when: [
      { op: 'in', field: 'kind', values: ['queue'] },
      { op: 'not_in', field: 'outcome', values: ['refused'] },
      { op: 'absent', field: 'agent' },
    ],
    from: 'appliedAt',
    to: 'startedAt',
    params: { maxSeconds: 3600 },
    explain: { too_long: '窗口{counter}等候{seconds}秒，达到阈值{maxSeconds}秒' },
  };
  const engine = createEngine([longWait]);
  const AT = cst('2026-11-26T09:00');
  const q = (wait: number, extra: Partial<Transaction> = {}) =>
    txn({ kind: 'queue', counter: 'W03', appliedAt: AT, startedAt: AT + wait * SECOND, occurredAt: AT, ...extra });

  it('fires at the max bound and not one second below, with a field placeholder', async () => {
    expect(await engine.evaluate(q(3599), context())).toEqual([]);
    const [hit] = await engine.evaluate(q(3600), context());
    expect(hit?.explanation).toBe('窗口W03等候3600秒，达到阈值3600秒');
    expect(hit?.values).toEqual({ seconds: 3600, maxSeconds: 3600 });
  });

  it('evaluates not_in and absent predicates from data', async () => {
    expect(await engine.evaluate(q(4000, { outcome: 'refused' }), context())).toEqual([]);
    expect(await engine.evaluate(q(4000, { outcome: 'done' }), context())).toHaveLength(1);
    expect(await engine.evaluate(q(4000, { agent: person('a') }), context())).toEqual([]);
  });

  it('renders a placeholder whose field is missing as 未知', async () => {
    const [hit] = await engine.evaluate(q(4000, { counter: undefined }), context());
    expect(hit?.explanation).toBe('窗口未知等候4000秒，达到阈值3600秒');
  });

  it('supports a window_count with gte and a composite key', async () => {
    const perClerk = createEngine([
      {
        id: 'counter.clerk_refusals',
        kind: 'window_count',
        name: '窗口退办过多',
        family: 'counter',
        severity: 'medium',
        action: 'warn',
        description: '同一窗口人员一天内退办次数达到阈值',
        basis: 'domain.md §6 窗口办理：每人每天退办>10次 [src]',
        when: [{ op: 'in', field: 'outcome', values: ['refused'] }],
        key: { prefix: 'refusals', fields: ['institutionId', 'staffId'] },
        compare: 'gte',
        params: { windowDays: 1, threshold: 2 },
        explain: { exceeded: '{staffId}一天内第{count}次退办，阈值{threshold}次' },
      },
    ]);
    const { state, calls } = spyState(createMemoryWindowState());
    const ctx = context({ state });
    expect(await perClerk.evaluate(txn({ outcome: 'refused' }), ctx)).toEqual([]);
    const [hit] = await perClerk.evaluate(txn({ outcome: 'refused' }), ctx);
    expect(hit?.explanation).toBe('JCJ-CGS-C01一天内第2次退办，阈值2次');
    expect(calls[0]?.key).toBe('refusals:JCJ-CGS:JCJ-CGS-C01');
  });

  it('applies kind filters (in, not_in, several) exactly, also to a record of an unknown kind', async () => {
    // Rules reached through a kind's list run without their kind filters (already applied when
    // the list was made); a record whose kind is outside TransactionKind gets every filter.
    const rule = (id: string, when: RuleDefinitionInput['when']): RuleDefinitionInput => ({
      id, kind: 'field_predicate', name: id, family: 'counter', severity: 'low', action: 'hold', description: id, basis: 'test',
      when, cases: [{ reason: 'r', test: { op: 'present', field: 'staffId' } }], explain: { r: 'r' },
    });
    const e = createEngine([
      rule('k.in', [{ op: 'in', field: 'kind', values: ['vehicle', 'queue'] }]),
      rule('k.not_in', [{ op: 'not_in', field: 'kind', values: ['vehicle'] }]),
      rule('k.both', [{ op: 'in', field: 'kind', values: ['vehicle', 'licence', 'queue'] }, { op: 'not_in', field: 'kind', values: ['queue'] }, { op: 'in', field: 'outcome', values: ['done'] }]),
      rule('k.none', [{ op: 'in', field: 'outcome', values: ['done'] }]),
    ]);
    const fired = async (t: Transaction) => (await e.evaluate(t, context())).map((h) => h.rule.id);
    const blocking = async (t: Transaction) => (await e.evaluateBlocking(t, context())).map((h) => h.rule.id);
    const batch = async (ts: Transaction[]) => (await e.evaluateBatch(ts, context())).map((hs) => hs.map((h) => h.rule.id));
    const vehicle = txn({ kind: 'vehicle', outcome: 'done' });
    const queue = txn({ kind: 'queue', outcome: 'done' });
    const licence = txn({ kind: 'licence', outcome: 'refused' });
    const odd = { ...txn({ outcome: 'done' }), kind: 'teleport' } as unknown as Transaction;
    expect(await fired(vehicle)).toEqual(['k.in', 'k.both', 'k.none']);
    expect(await fired(queue)).toEqual(['k.in', 'k.not_in', 'k.none']);
    expect(await fired(licence)).toEqual(['k.not_in']);
    expect(await fired(odd)).toEqual(['k.not_in', 'k.none']);
    expect(await blocking(odd)).toEqual(['k.not_in', 'k.none']);
    expect(await batch([vehicle, queue, licence, odd])).toEqual([['k.in', 'k.both', 'k.none'], ['k.in', 'k.not_in', 'k.none'], ['k.not_in'], ['k.not_in', 'k.none']]);
  });
});

describe('module hygiene', () => {
  it('FIELD_PATHS covers every scalar and nested ref field of TransactionSchema', () => {
    const derived: string[] = [];
    for (const [key, schema] of Object.entries(TransactionSchema.shape)) {
      if (key === 'measurements' || key === 'evidence') continue; // containers, not addressable fields
      derived.push(key);
      const inner = (schema as { unwrap?: () => unknown }).unwrap?.() ?? schema;
      const shape = (inner as { shape?: Record<string, unknown> }).shape;
      if (shape) for (const sub of Object.keys(shape)) derived.push(`${key}.${sub}`);
    }
    expect([...FIELD_PATHS].sort()).toEqual(derived.sort());
  });

  it('src imports nothing but zod and relative modules (browser-safe, no node:)', () => {
    const root = join(import.meta.dirname, '..', 'src');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      const specs = [...text.matchAll(/(?:^|[\s;}(])(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
      for (const s of specs) expect(s === 'zod' || (s.startsWith('.') && s.endsWith('.js')), `${f} imports ${s}`).toBe(true);
      expect(text, f).not.toMatch(/\b(process|Buffer|require)\s*[.(]/);
    }
  });

  it('README lists every rule of the pack with its name, family, kind, action, severity and defaults', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => /^\| `[a-z_]+\.[a-z0-9_]+` \|/.test(l));
    const engine = createEngine();
    expect(rows.map((r) => /`([^`]+)`/.exec(r)![1])).toEqual(engine.rules.map((r) => r.id));
    for (const [i, r] of engine.rules.entries()) {
      const cells = rows[i]!.split('|').map((c) => c.trim());
      expect(cells.slice(2, 7), r.id).toEqual([r.name, r.family, expect.stringMatching(new RegExp(`^${r.kind}`)), r.action, r.severity]);
      for (const [k, v] of Object.entries(engine.definitions[i]!.params ?? {})) {
        expect(cells[7], r.id).toContain(`${k}=${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
      }
    }
  });

  it('fixture staff filed in the demo registry include a filed and an expired inspector per station', () => {
    const i01 = DEMO_STAFF.find((s) => s.id === 'JCJ-JYZ-I01');
    const i90 = DEMO_STAFF.find((s) => s.id === 'JCJ-JYZ-I90');
    expect(i01?.validTo).toBe(cst('2028-12-31T23:59:59') + 999);
    expect(i90?.validTo).toBe(cst('2025-06-30T23:59:59') + 999);
  });
});
