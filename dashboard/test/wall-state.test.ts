import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { WallSnapshot, WallStats, WallWarning } from '@jianguan/protocol';
import { Batcher } from '../src/lib/live/batcher';
import { RecentKeys, Ring } from '../src/lib/state/ring';
import { ALERT_MS, RECENT_CAPACITY, WallState } from '../src/lib/state/wall.svelte';

const DAY = '2025-03-04';
const NOON = Date.parse('2025-03-04T04:00:00Z'); // 12:00 in Asia/Shanghai

function warning(i: number, over: Partial<WallWarning> = {}): WallWarning {
  return {
    id: `w${i}`,
    ruleId: `rule-${i % 3}`,
    ruleName: ['查验用时过短', '业务无排队记录', '代办人频繁代办'][i % 3]!,
    family: 'check',
    severity: 'medium',
    action: 'warn',
    transactionId: `t${i}`,
    batchId: 'b1',
    institutionId: i % 2 ? 'JCJ-CGS' : 'YZ-CGFS',
    institutionName: i % 2 ? '河池市车辆管理所' : '宜州区车管分所',
    county: i % 2 ? '451202' : '451203',
    countyName: i % 2 ? '金城江区' : '宜州区',
    occurredAt: NOON + i,
    capturedAt: NOON + i,
    raisedAt: NOON + i,
    explanation: '查验用时95秒，少于阈值180秒',
    subjectMasked: '4512**********123X',
    ...over,
  };
}

function stats(over: Partial<WallStats['kpis']> = {}, institutions: WallStats['institutions'] = []): WallStats {
  return {
    kpis: { day: DAY, transactions: 100, warnings: 7, holds: 1, deadLetters: 0, collectorsConnected: 2, ...over },
    counties: [{ adcode: '451202', name: '金城江区', transactions: 60, warnings: 4 }],
    institutions,
  };
}

function snapshot(recent: WallWarning[], over: Partial<WallStats['kpis']> = {}): WallSnapshot {
  return {
    ...stats(over),
    serverTime: NOON,
    institutionsList: [
      { id: 'JCJ-CGS', name: '河池市车辆管理所', type: 'vehicle_office', typeName: '车管所', county: '451202', lon: 108.062, lat: 24.695 },
      { id: 'YZ-CGFS', name: '宜州区车管分所', type: 'vehicle_office_branch', typeName: '车管分所', county: '451203', lon: 108.655, lat: 24.488 },
    ],
    recentWarnings: recent,
  };
}

describe('Ring', () => {
  it('never holds more than its capacity and returns newest first', () => {
    const r = new Ring<number>(5);
    for (let i = 0; i < 10_000; i++) r.push(i);
    expect(r.size).toBe(5);
    expect(r.newestFirst()).toEqual([9999, 9998, 9997, 9996, 9995]);
    expect(r.oldest()).toBe(9995);
    expect(r.newestFirst(2)).toEqual([9999, 9998]);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.newestFirst()).toEqual([]);
  });

  it('RecentKeys forgets the oldest keys beyond its capacity', () => {
    const k = new RecentKeys(3);
    expect(k.add('a')).toBe(true);
    expect(k.add('a')).toBe(false);
    k.add('b');
    k.add('c');
    k.add('d');
    expect(k.size).toBe(3);
    expect(k.has('a')).toBe(false);
    expect(k.has('d')).toBe(true);
  });
});

describe('WallState', () => {
  it('keeps the recent-warning list bounded however many warnings arrive', () => {
    const s = new WallState({ capacity: 50, dedupeWindow: 100 });
    s.applySnapshot(snapshot([]), NOON);
    for (let b = 0; b < 200; b++) {
      s.applyBatch({ warnings: Array.from({ length: 25 }, (_, i) => warning(b * 25 + i)), stats: null }, NOON);
    }
    expect(s.recent).toHaveLength(50);
    expect(s.recent[0]!.id).toBe('w4999'); // newest first
    expect(s.recent[49]!.id).toBe('w4950');
    // Counters are per rule, not per warning.
    expect(s.topRules.reduce((n, r) => n + r.count, 0)).toBe(5000);
    expect(s.topRules).toHaveLength(3);
  });

  it('applies a batch as one update: warnings, pulses, statistics and rankings', () => {
    const s = new WallState();
    s.applySnapshot(snapshot([warning(1)]), NOON);
    expect(s.recent.map((w) => w.id)).toEqual(['w1']);
    expect(s.hasSnapshot).toBe(true);
    expect(s.pulses).toEqual({});

    s.applyBatch({ warnings: [warning(2), warning(3), warning(1)], stats: stats({ warnings: 9 }, [{ id: 'JCJ-CGS', transactions: 50, warnings: 6 }]) }, NOON + 10);
    flushSync();
    expect(s.recent.map((w) => w.id)).toEqual(['w3', 'w2', 'w1']); // w1 de-duplicated
    expect(s.kpis.warnings).toBe(9);
    expect(s.lastUpdate).toBe(NOON + 10);
    expect(Object.keys(s.pulses).sort()).toEqual(['JCJ-CGS', 'YZ-CGFS']);
    expect(s.pulses['JCJ-CGS']).toBeGreaterThan(s.pulses['YZ-CGFS']!); // w3 came after w2
    expect(s.topRules.find((r) => r.ruleId === 'rule-1')!.count).toBe(1);
    // Institution ranking comes from the hub's per-institution counts when it sends them.
    expect(s.institutionRanking.map((r) => [r.id, r.warnings])).toEqual([['JCJ-CGS', 6]]);
  });

  it('ranks institutions from its own counts when the hub sends none', () => {
    const s = new WallState();
    s.applySnapshot(snapshot([]), NOON);
    s.applyBatch({ warnings: [warning(1), warning(3), warning(2)], stats: null }, NOON);
    flushSync();
    expect(s.institutionRanking.map((r) => [r.id, r.warnings])).toEqual([
      ['JCJ-CGS', 2],
      ['YZ-CGFS', 1],
    ]);
  });

  it('replaces state from a fresh snapshot, without double-counting repeated warnings', () => {
    const s = new WallState();
    s.applySnapshot(snapshot([warning(1), warning(2)]), NOON);
    s.applyBatch({ warnings: [warning(3)], stats: null }, NOON);
    s.applySnapshot(snapshot([warning(2), warning(3), warning(4)], { transactions: 500 }), NOON);
    expect(s.kpis.transactions).toBe(500);
    expect(s.recent.map((w) => w.id)).toEqual(['w4', 'w3', 'w2']);
    expect(s.topRules.reduce((n, r) => n + r.count, 0)).toBe(4);
  });

  it('takes the county a county screen shows from each snapshot (none = the whole city)', () => {
    const s = new WallState();
    expect(s.scope).toBeNull();
    s.applySnapshot({ ...snapshot([]), scope: { adcode: '451203', name: '宜州区' } }, NOON);
    expect(s.scope).toEqual({ adcode: '451203', name: '宜州区' });
    s.applySnapshot(snapshot([]), NOON);
    expect(s.scope).toBeNull();
  });

  it('resets per-rule counters when the statistics day changes', () => {
    const s = new WallState();
    s.applySnapshot(snapshot([warning(1), warning(2)]), NOON);
    expect(s.topRules.length).toBeGreaterThan(0);
    const next = NOON + 86_400_000;
    s.applyBatch({ warnings: [warning(9, { raisedAt: next })], stats: stats({ day: '2025-03-05' }) }, next);
    expect(s.topRules).toEqual([{ ruleId: 'rule-0', ruleName: '查验用时过短', family: 'check', count: 1 }]);
  });
});

describe('WallState: collector health and score ranking', () => {
  it('takes collector health and the score ranking from stats, and keeps them when a stats update omits them', () => {
    const s = new WallState({ topN: 2 });
    s.applySnapshot(snapshot([]), NOON);
    expect(s.collectorHealth).toEqual({ silent: 0, gap: 0, tamper: 0, latest: [] });
    expect(s.scoreRanking).toEqual([]);
    const rank = (id: string, score: number) => ({ id, name: id, county: '451202', countyName: '金城江区', typeName: '车管所', score, grade: 'A', veto: false });
    s.applyBatch({
      warnings: [],
      stats: {
        ...stats({ concludedToday: 4, concludedOnTime: 3, overdue: 2, pipelineLagP95Ms: 850 }),
        collectorHealth: { silent: 1, gap: 2, tamper: 0, latest: [warning(1, { ruleId: 'collector.gap', family: 'collector' })] },
        scoreRanking: [rank('a', 98.5), rank('b', 91), rank('c', 80)],
        scoreMonth: '2025-03',
      },
    }, NOON + 1000);
    expect(s.kpis.overdue).toBe(2);
    expect(s.kpis.pipelineLagP95Ms).toBe(850);
    expect(s.collectorHealth.gap).toBe(2);
    expect(s.collectorHealth.latest).toHaveLength(1);
    expect(s.scoreRanking.map((r) => r.id)).toEqual(['a', 'b']);
    expect(s.scoreMonth).toBe('2025-03');
    // An older hub (no new fields): the last known values stay.
    s.applyBatch({ warnings: [], stats: stats() }, NOON + 2000);
    expect(s.collectorHealth.gap).toBe(2);
    expect(s.scoreRanking).toHaveLength(2);
  });
});

describe('WallState: alert banner and the recent list', () => {
  it('raises the banner only for live alarming warnings, counts the others, and drops it after its time', () => {
    const s = new WallState();
    // A snapshot full of high warnings (a reload) never replays alarms.
    s.applySnapshot(snapshot([warning(1, { severity: 'high' }), warning(2, { action: 'hold' })]), NOON);
    expect(s.alert).toBeNull();
    s.applyBatch({ warnings: [warning(3)], stats: null }, NOON + 1000);
    expect(s.alert).toBeNull();
    s.applyBatch({ warnings: [warning(4, { severity: 'high' }), warning(5, { ruleId: 'collector.tamper', family: 'collector' })], stats: null }, NOON + 2000);
    expect(s.alert?.warning.id).toBe('w5');
    expect(s.alert?.more).toBe(1);
    expect(s.alert?.until).toBe(NOON + 2000 + ALERT_MS);
    // A repeat of a warning already seen is not a new alarm.
    s.applyBatch({ warnings: [warning(5, { ruleId: 'collector.tamper', family: 'collector' })], stats: null }, NOON + 3000);
    expect(s.alert?.more).toBe(1);
    s.expireAlert(NOON + 2000 + ALERT_MS - 1);
    expect(s.alert).not.toBeNull();
    s.expireAlert(NOON + 2000 + ALERT_MS);
    expect(s.alert).toBeNull();
  });

  it('holds as many recent warnings as a snapshot carries, so a reload keeps the list', () => {
    const s = new WallState();
    expect(s.capacity).toBe(RECENT_CAPACITY);
    s.applySnapshot(snapshot(Array.from({ length: RECENT_CAPACITY }, (_, i) => warning(i))), NOON);
    expect(s.recent).toHaveLength(RECENT_CAPACITY);
  });

  it('takes the hourly series, business types and the overdue list from stats', () => {
    const s = new WallState();
    s.applySnapshot(snapshot([]), NOON);
    expect(s.hourly).toBeNull();
    const hours = (n: number) => ({ transactions: Array.from({ length: 24 }, () => n), warnings: Array.from({ length: 24 }, () => 0) });
    s.applyBatch({
      warnings: [],
      stats: {
        ...stats(),
        hourly: { today: hours(2), yesterday: hours(1) },
        businessTypes: [{ key: 'vehicle/B', label: '机动车业务·转移登记', transactions: 5, warned: 1 }],
        overdueList: [{ id: 'o1', ruleName: '退办', severity: 'medium', institutionName: '河池市车辆管理所', countyName: '金城江区', state: 'acknowledged', stateLabel: '已签收', raisedAt: NOON, escalatedAt: NOON }],
        scoreRanked: 3,
        scoreUnranked: 9,
      },
    }, NOON + 1000);
    expect(s.hourly?.today.transactions[5]).toBe(2);
    expect(s.businessTypes[0]!.label).toBe('机动车业务·转移登记');
    expect(s.overdueList).toHaveLength(1);
    expect(s.scoreUnranked).toBe(9);
    expect(s.statsSeq).toBe(2);
  });
});

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows the first event after a quiet window at once and the rest of a burst together at the window end, with the latest statistics only', () => {
    const batches: { n: number; tx: number | null }[] = [];
    const b = new Batcher((x) => batches.push({ n: x.warnings.length, tx: x.stats?.kpis.transactions ?? null }), { intervalMs: 250 });
    b.warnings([warning(0)]);
    expect(batches).toEqual([{ n: 1, tx: null }]); // nothing shown for 250 ms before: at once
    for (let i = 1; i < 40; i++) b.warnings([warning(i)]);
    b.stats(stats({ transactions: 1 }));
    b.stats(stats({ transactions: 2 }));
    expect(batches).toHaveLength(1);
    vi.advanceTimersByTime(249);
    expect(batches).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([{ n: 1, tx: null }, { n: 39, tx: 2 }]);
    vi.advanceTimersByTime(1000);
    expect(batches).toHaveLength(2); // idle: nothing more
    // A quiet window later the next one is shown at once again; one arriving 100 ms after it
    // waits the rest of that window (150 ms), not a whole one.
    b.warnings([warning(40)]);
    expect(batches).toHaveLength(3);
    vi.advanceTimersByTime(100);
    b.warnings([warning(41)]);
    vi.advanceTimersByTime(149);
    expect(batches).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(batches.map((x) => x.n)).toEqual([1, 39, 1, 1]);
  });

  it('bounds pending warnings and lets a snapshot clear them', () => {
    const seen: number[] = [];
    const b = new Batcher((x) => seen.push(...x.warnings.map((w) => Number(w.id.slice(1)))), { intervalMs: 100, maxPending: 10 });
    b.warnings([warning(100)]); // shown at once; the window is now busy
    seen.length = 0;
    b.warnings(Array.from({ length: 25 }, (_, i) => warning(i)));
    expect(b.pending).toBe(10);
    expect(b.dropped).toBe(15);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    b.warnings([warning(99)]);
    b.clear();
    vi.advanceTimersByTime(500);
    expect(seen).toHaveLength(10);
  });

  it('feeds WallState end to end', () => {
    const s = new WallState({ capacity: 10 });
    s.applySnapshot(snapshot([]), NOON);
    const b = new Batcher((x) => s.applyBatch(x), { intervalMs: 50 });
    for (let i = 0; i < 30; i++) b.warnings([warning(i)]);
    vi.advanceTimersByTime(50);
    expect(s.recent).toHaveLength(10);
    expect(s.recent[0]!.id).toBe('w29');
  });
});
