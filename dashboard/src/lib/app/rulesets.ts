/** Pure helpers and shapes of the rule-release (规则发布) screen. */
// The shapes come from the hub's protocol, so the screen and the API cannot drift apart.
import type { BacktestView, DiffLine, RuleSetHeadView } from '@jianguan/protocol/releases';

export type { BacktestList, DiffExample, DiffLine, RuleSetDetail, RuleSetDiff, RuleSetDraftView, RuleSetList, BuiltinPackStatus } from '@jianguan/protocol/releases';
export type RuleSetHead = RuleSetHeadView;
export type Backtest = BacktestView;

/** Lines with a change first (largest change first), then the unchanged, by key. */
export function sortDiff(lines: readonly DiffLine[], onlyChanged = false): DiffLine[] {
  return [...lines]
    .filter((l) => !onlyChanged || l.added + l.removed > 0)
    .sort((a, b) => b.added + b.removed - (a.added + a.removed) || a.key.localeCompare(b.key));
}

/** "+3 / −12 (−9, −20.0%)". */
export function changeText(live: number, draft: number): string {
  const d = draft - live;
  const pct = live > 0 ? `${d >= 0 ? '+' : '−'}${Math.abs((d / live) * 100).toFixed(1)}%` : draft > 0 ? '新增' : '0%';
  return `${d >= 0 ? '+' : '−'}${Math.abs(d)}（${pct}）`;
}

/** Parses `{"param": value}` for a rule's parameter override. */
export function parseParams(text: string): { params: Record<string, unknown> } | { error: string } {
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) return { error: '参数须为非空 JSON 对象，例如 {"minSeconds": 120}' };
    return { params: v as Record<string, unknown> };
  } catch (e) {
    return { error: `JSON 格式错误：${e instanceof Error ? e.message : String(e)}` };
  }
}
