/** Small pure aggregations for the drill-down screens. */
export interface CountySummary {
  county: string;
  institutions: number;
  scored: number;
  avgScore: number | null;
  warnings: number;
  confirmed: number;
  low: { id: string; name: string; score: number } | null;
}

export function countySummaries(
  counties: readonly { adcode: string }[],
  institutions: readonly { id: string; county: string }[],
  scores: readonly { institutionId: string; institutionName: string; county: string; score: number; warnings: number; confirmed: number }[],
): CountySummary[] {
  return counties.map((c) => {
    const s = scores.filter((x) => x.county === c.adcode);
    const low = s.reduce<CountySummary['low']>((m, x) => (m === null || x.score < m.score ? { id: x.institutionId, name: x.institutionName, score: x.score } : m), null);
    return {
      county: c.adcode,
      institutions: institutions.filter((i) => i.county === c.adcode).length,
      scored: s.length,
      avgScore: s.length ? Math.round((s.reduce((a, x) => a + x.score, 0) / s.length) * 10) / 10 : null,
      warnings: s.reduce((a, x) => a + x.warnings, 0),
      confirmed: s.reduce((a, x) => a + x.confirmed, 0),
      low,
    };
  });
}

/** Counts by a key, largest first. */
export function countBy<T>(items: readonly T[], key: (t: T) => string): { key: string; count: number }[] {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m].map(([k, count]) => ({ key: k, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/**
 * Peers as the evaluation page ranks them: graded institutions by score (best first, the hub's
 * rank breaking ties), then those without business this month — not graded, so without a rank
 * number (a score of 100 with no business is not first place).
 */
export function peerRanking<T extends { score: number; graded?: boolean; transactions?: number; rank?: number; institutionName?: string }>(rows: readonly T[]): { row: T; rank: number | null }[] {
  // isGraded (score.ts): a row says whether it was graded; an older one had business or not.
  const isGraded = (r: T) => r.graded ?? (r.transactions ?? 0) > 0;
  const graded = rows.filter((r) => isGraded(r)).sort((a, b) => b.score - a.score || (a.rank ?? 0) - (b.rank ?? 0));
  const ungraded = rows.filter((r) => !isGraded(r)).sort((a, b) => (a.institutionName ?? '').localeCompare(b.institutionName ?? '', 'zh'));
  return [...graded.map((row, i) => ({ row, rank: i + 1 })), ...ungraded.map((row) => ({ row, rank: null }))];
}
