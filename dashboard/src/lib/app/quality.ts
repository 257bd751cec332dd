/** 规则质量: the months of the rule quality API summed per rule, for the screen's two tables. */
import type { RuleQualityItem } from '@jianguan/protocol/office';

/**
 * One row per rule with its months summed and precision worked out again from the sums (a mean
 * of monthly ratios would weigh a quiet month like a busy one). Warning rules come lowest
 * precision first — the ones to look at — then by hits; sampling rules are apart: their normal
 * findings are no false alarms, so their rate is not a rule to tune.
 */
export function qualityByRule(rows: readonly RuleQualityItem[]): { warning: RuleQualityItem[]; sampling: RuleQualityItem[] } {
  const m = new Map<string, RuleQualityItem>();
  for (const r of rows) {
    const cur = m.get(r.ruleId);
    if (!cur) m.set(r.ruleId, { ...r });
    else Object.assign(cur, { hits: cur.hits + r.hits, confirmed: cur.confirmed + r.confirmed, falseAlarms: cur.falseAlarms + r.falseAlarms, pending: cur.pending + r.pending, sampling: cur.sampling || r.sampling });
  }
  const summed = [...m.values()]
    .map((r) => ({ ...r, precision: r.confirmed + r.falseAlarms > 0 ? r.confirmed / (r.confirmed + r.falseAlarms) : null }))
    .sort((a, b) => (a.precision ?? 2) - (b.precision ?? 2) || b.hits - a.hits);
  return { warning: summed.filter((r) => !r.sampling), sampling: summed.filter((r) => r.sampling) };
}
