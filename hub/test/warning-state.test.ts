/**
 * warning_state (migrations 060 and 090) against a model: random legal workflow lives (the
 * transitions of workflow/machine.ts), their events appended in random groups — several events of
 * a warning in one insert, or one per insert — and the state rows read as the hub reads them
 * (FINAL, sign = 1) must be each warning's last event, in the open or closed range by its state,
 * with its warning's raise time, rule and severity, before and after the table's parts are merged;
 * and equal to the fold of the event log (warning_current). The rows of warnings whose events were
 * stored before the migrations (events without those columns) are built by the rebuild, from
 * `warnings`. The open lists and the sweep's reads, answered from those rows, match the model:
 * members, totals and order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate, MIGRATIONS_DIR } from '../src/store/migrate.js';
import { openStore, type Store } from '../src/store/store.js';
import { sql, UNSAFE_RAW_SQL } from '../src/store/sql.js';
import { TRANSITIONS, type EventType, type WarningStateName } from '../src/workflow/machine.js';
import { escalationCandidates, listWarningsWithState, openLoad, unassignedWarnings } from '../src/workflow/repo.js';
import { prng, removeDir } from './helpers.js';

const OPEN: readonly string[] = ['raised', 'assigned', 'acknowledged', 'verifying'];
const raw = (text: string) => sql`${UNSAFE_RAW_SQL(text)}`;

interface Model {
  state: WarningStateName;
  seq: number;
  assignee: string;
  conclusion: string;
  escalated: number;
  county: string;
  raisedAt: number;
  ruleId: string;
  severity: string;
}

const RULES = ['counter.refusal', 'check.short_duration'];
const SEVERITIES = ['low', 'medium', 'high'];
function model(i: number, county: string, raisedAt: number): Model {
  return { state: 'raised', seq: 0, assignee: '', conclusion: '', escalated: 0, county, raisedAt, ruleId: RULES[i % 2]!, severity: SEVERITIES[i % 3]! };
}

type EventRow = Record<string, string | number>;

/**
 * The next legal event of a warning in `m`, as the hub writes its row (with `place`: its warning's
 * raise time, rule and severity, as since migration 090); updates `m`.
 */
function nextEvent(id: string, m: Model, r: () => number, at: number, place = true): EventRow {
  const legal = (Object.keys(TRANSITIONS) as EventType[]).filter((t) => {
    const tr = TRANSITIONS[t];
    if (t === 'escalated' && m.escalated) return false;
    if (t === 'disposed' && m.conclusion !== 'confirmed') return false;
    return tr.from === 'any' || tr.from.includes(m.state);
  });
  // Mostly forward (a life reaches the closed range), sometimes a comment, re-assignment,
  // escalation, rejection or reopening.
  const weight = (t: EventType) => (['acknowledged', 'verification_started', 'concluded', 'disposed', 'reviewed', 'closed'].includes(t) || (t === 'assigned' && m.state === 'raised') ? 6 : 1);
  let pick = r() * legal.reduce((sum, t) => sum + weight(t), 0);
  const type = legal.find((t) => (pick -= weight(t)) < 0) ?? legal[legal.length - 1]!;
  const from = m.state;
  const to = TRANSITIONS[type].to ?? m.state;
  m.seq += 1;
  m.state = to;
  if (type === 'assigned') m.assignee = `auditor${Math.floor(r() * 4)}`;
  if (type === 'concluded') m.conclusion = r() < 0.7 ? 'confirmed' : 'false_alarm';
  if (type === 'escalated') m.escalated = 1;
  return {
    id: `${id}#${m.seq}`,
    warning_id: id,
    seq: m.seq,
    type,
    from_state: from,
    to_state: to,
    actor: 'a',
    role: 'auditor',
    at: at + m.seq * 1000,
    assignee: m.assignee,
    conclusion: m.conclusion,
    escalated: m.escalated,
    institution_id: 'I1',
    county: m.county,
    payload: '{}',
    ...(place ? { raised_at: m.raisedAt, rule_id: m.ruleId, severity: m.severity } : {}),
  };
}

function warningRow(id: string, m: Model) {
  const { raisedAt, county } = m;
  return {
    id,
    rule_id: m.ruleId,
    rule_name: '退办',
    rule_version: '1',
    family: 'counter',
    severity: m.severity,
    action: 'warn',
    transaction_id: `t-${id}`,
    batch_id: 'b',
    collector_id: 'c1',
    institution_id: 'I1',
    county,
    occurred_at: raisedAt,
    captured_at: raisedAt,
    raised_at: raisedAt,
    explanation: 'x',
    values_json: '{}',
    subject_masked: '',
    rule_set: '',
  };
}

let store: Store;
let before060: string;
const NOW = Date.now();

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'jg-warning-state-')) }));
  before060 = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR)) if (Number(f.slice(0, 3)) < 60) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(before060, f));
  await migrate(store, before060);
});
afterAll(async () => {
  await store?.close();
  removeDir(before060);
});

interface StateRow {
  is_open: number;
  state: string;
  seq: number;
  assignee: string;
  escalated: number;
  raised_at: number;
  rule_id: string;
  severity: string;
}

async function stateRows(): Promise<Map<string, StateRow>> {
  const rows = await store.query<StateRow & { warning_id: string; n: string }>(
    raw(`SELECT warning_id, any(is_open) AS is_open, any(state) AS state, any(seq) AS seq, any(assignee) AS assignee, any(escalated) AS escalated,
        toUnixTimestamp64Milli(any(raised_at)) AS raised_at, any(rule_id) AS rule_id, any(severity) AS severity, count() AS n
      FROM warning_state FINAL WHERE sign = 1 GROUP BY warning_id`),
  );
  for (const r of rows) expect(Number(r.n), `${r.warning_id} has one state row`).toBe(1);
  return new Map(
    rows.map((r) => [
      r.warning_id,
      { is_open: Number(r.is_open), state: r.state, seq: Number(r.seq), assignee: r.assignee, escalated: Number(r.escalated), raised_at: Number(r.raised_at), rule_id: r.rule_id, severity: r.severity },
    ]),
  );
}

async function expectModel(models: Map<string, Model>): Promise<void> {
  const got = await stateRows();
  for (const [id, m] of models) {
    if (m.seq === 0) {
      expect(got.has(id), `${id} without events has no state row`).toBe(false);
      continue;
    }
    expect(got.get(id), id).toEqual({
      is_open: OPEN.includes(m.state) ? 1 : 0,
      state: m.state,
      seq: m.seq,
      assignee: m.assignee,
      escalated: m.escalated,
      raised_at: m.raisedAt,
      rule_id: m.ruleId,
      severity: m.severity,
    });
  }
  // The same as the fold of the whole event log.
  const folded = await store.query<{ warning_id: string; state: string; seq: number }>(raw(`SELECT warning_id, state, seq FROM warning_current`));
  expect(folded.length).toBe(got.size);
  for (const f of folded) expect([got.get(f.warning_id)?.state, got.get(f.warning_id)?.seq], f.warning_id).toEqual([f.state, Number(f.seq)]);
}

describe('warning_state', () => {
  const r = prng(20261203);
  const models = new Map<string, Model>();
  const counties = ['451202', '451221'];

  it('is built from the events stored before it existed (the rebuild, with raise time, rule and severity from `warnings`)', async () => {
    const events: EventRow[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `old${i}`;
      const m = model(i + 1, counties[i % 2]!, NOW - 30 * 86_400_000 - (i + 1) * 60_000);
      models.set(id, m);
      const n = Math.floor(r() * 9);
      for (let k = 0; k < n; k++) events.push(nextEvent(id, m, r, NOW - 30 * 86_400_000, false));
    }
    await store.insert('warning_events', events);
    await store.insert(
      'warnings',
      [...models].map(([id, m]) => warningRow(id, m)),
    );
    await migrate(store);
    await expectModel(models);
  });

  it('follows random lives appended in random groups, before and after merging its parts', async () => {
    for (let i = 0; i < 60; i++) models.set(`w${i}`, model(i, counties[i % 2]!, NOW - (i + 1) * 3_600_000));
    await store.insert(
      'warnings',
      [...models].filter(([id]) => id.startsWith('w')).map(([id, m]) => warningRow(id, m)),
    );
    // w48 … w59 get no event: raised, found among the warnings themselves.
    const ids = [...models.keys()].filter((id) => !/^w(4[89]|5\d)$/.test(id));
    for (let round = 0; round < 60; round++) {
      const events: EventRow[] = [];
      // A few warnings per insert, each with one to three consecutive events.
      for (let k = 0; k < 6; k++) {
        const id = ids[Math.floor(r() * ids.length)]!;
        const times = 1 + Math.floor(r() * 3);
        for (let t = 0; t < times; t++) events.push(nextEvent(id, models.get(id)!, r, NOW - 86_400_000));
      }
      await store.insert('warning_events', events);
      if (round % 20 === 19) await expectModel(models);
    }
    await expectModel(models);
    await store.command(raw('OPTIMIZE TABLE warning_state FINAL'));
    await expectModel(models);
  });

  it('answers the open-warning questions as the models say', async () => {
    const isOpen = (m: Model) => OPEN.includes(m.state);
    // Every warning: those whose events were stored before the migrations as well.
    const recent = [...models];
    // The lives reached both ranges and every kind of question has answers to find.
    const states = new Set(recent.map(([, m]) => m.state));
    for (const st of ['raised', 'assigned', 'verifying', 'closed']) expect(states, st).toContain(st);
    expect(recent.filter(([, m]) => isOpen(m) && m.escalated).length).toBeGreaterThan(0);
    // Every open warning, and an auditor's queue, through the list.
    const open = await listWarningsWithState(store, { states: [...OPEN] as WarningStateName[], limit: 1000, offset: 0 });
    expect(new Set(open.items.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => isOpen(m)).map(([id]) => id)));
    expect(open.total).toBe(open.items.length);
    for (const w of open.items) expect(w.state).toBe(models.get(w.id)!.state);
    const queue = await listWarningsWithState(store, { assignee: 'auditor1', states: ['assigned', 'acknowledged', 'verifying'], limit: 1000, offset: 0 });
    expect(new Set(queue.items.map((w) => w.id))).toEqual(
      new Set(recent.filter(([, m]) => ['assigned', 'acknowledged', 'verifying'].includes(m.state) && m.assignee === 'auditor1').map(([id]) => id)),
    );
    const county = await listWarningsWithState(store, { county: '451221', states: ['raised'], limit: 1000, offset: 0 });
    expect(new Set(county.items.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => m.state === 'raised' && m.county === '451221').map(([id]) => id)));
    // Other states (the join of every warning with its state row), and every warning.
    const closed = await listWarningsWithState(store, { states: ['closed', 'concluded'], limit: 1000, offset: 0 });
    expect(new Set(closed.items.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => ['closed', 'concluded'].includes(m.state)).map(([id]) => id)));
    expect(closed.total).toBe(closed.items.length);
    const every = await listWarningsWithState(store, { limit: 1000, offset: 0 });
    expect(every.items.map((w) => w.id).sort()).toEqual(recent.map(([id]) => id).sort());
    for (const w of every.items) expect([w.state, w.seq], w.id).toEqual([models.get(w.id)!.state, models.get(w.id)!.seq]);
    // Newest first, paged.
    const page2 = await listWarningsWithState(store, { states: [...OPEN] as WarningStateName[], limit: 3, offset: 3 });
    expect(page2.items.map((w) => w.id)).toEqual(open.items.slice(3, 6).map((w) => w.id));
    expect(page2.total).toBe(open.total);
    // With the warnings' own filters beside the state's.
    const ofInstitution = await listWarningsWithState(store, { institutionId: 'I1', county: '451202', states: ['raised', 'verifying'], limit: 1000, offset: 0 });
    expect(new Set(ofInstitution.items.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => ['raised', 'verifying'].includes(m.state) && m.county === '451202').map(([id]) => id)));
    expect((await listWarningsWithState(store, { institutionId: 'I1', limit: 1000, offset: 0 })).total).toBe(recent.length);
    expect((await listWarningsWithState(store, { institutionId: 'I1', severity: 'medium', states: ['closed'], limit: 1000, offset: 0 })).total).toBe(
      recent.filter(([, m]) => m.state === 'closed' && m.severity === 'medium').length,
    );
    // Open lists in order (raise time, newest first, then id): the raise time of a warning with
    // events is its state row's, of one without its own; with the warnings' filters.
    const newest = (xs: [string, Model][]) => [...xs].sort(([a, x], [b, y]) => y.raisedAt - x.raisedAt || (a < b ? -1 : a > b ? 1 : 0)).map(([id]) => id);
    expect(open.items.map((w) => w.id)).toEqual(newest(recent.filter(([, m]) => isOpen(m))));
    const filters: { ruleId?: string; severity?: string; from?: number; to?: number; overdue?: boolean }[] = [
      { ruleId: 'check.short_duration' },
      { severity: 'high' },
      { from: NOW - 30 * 3_600_000, to: NOW - 6 * 3_600_000 },
      { from: NOW - 31 * 86_400_000, to: NOW - 29 * 86_400_000, severity: 'low' },
      { overdue: true },
      { overdue: false, ruleId: 'counter.refusal', to: NOW - 12 * 3_600_000 },
    ];
    const kinds = new Set<string>();
    for (const f of filters) {
      // (overdue: the open and escalated ones; the states are not asked for with it.)
      const got = await listWarningsWithState(store, { ...(f.overdue === true ? {} : { states: [...OPEN] as WarningStateName[] }), ...f, limit: 1000, offset: 0 });
      const want = recent.filter(
        ([, m]) =>
          isOpen(m) &&
          (f.ruleId === undefined || m.ruleId === f.ruleId) &&
          (f.severity === undefined || m.severity === f.severity) &&
          (f.from === undefined || m.raisedAt >= f.from) &&
          (f.to === undefined || m.raisedAt < f.to) &&
          (f.overdue === undefined || Boolean(m.escalated) === f.overdue),
      );
      expect(got.items.map((w) => w.id), JSON.stringify(f)).toEqual(newest(want));
      expect(got.total, JSON.stringify(f)).toBe(want.length);
      for (const [, m] of want) kinds.add(m.seq === 0 ? 'without events' : 'with events');
    }
    expect(kinds).toEqual(new Set(['without events', 'with events']));
    // A page past the end still says how many there are.
    expect(await listWarningsWithState(store, { states: [...OPEN] as WarningStateName[], limit: 5, offset: 10_000 })).toEqual({ total: open.total, items: [] });
    expect((await listWarningsWithState(store, { states: ['closed'], limit: 5, offset: 10_000 })).total).toBe(recent.filter(([, m]) => m.state === 'closed').length);
    // The sweep's questions.
    const unassigned = await unassignedWarnings(store, NOW - 90 * 86_400_000, 1000);
    expect(new Set(unassigned.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => m.state === 'raised').map(([id]) => id)));
    const overdue = await escalationCandidates(store, NOW, 1000);
    expect(new Set(overdue.map((w) => w.id))).toEqual(new Set(recent.filter(([, m]) => isOpen(m) && !m.escalated).map(([id]) => id)));
    const load = await openLoad(store);
    const want = new Map<string, number>();
    for (const [, m] of models) if (['assigned', 'acknowledged', 'verifying'].includes(m.state) && m.assignee) want.set(m.assignee, (want.get(m.assignee) ?? 0) + 1);
    expect(load).toEqual(want);
  });
});
