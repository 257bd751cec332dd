/**
 * Quarters on the evaluation screens (the hub grades them: GET /api/v1/evaluation/quarters, and
 * the trend's `quarters`): their names, the list to choose from, and what a grade brings.
 */
import { lastCovered } from '@jianguan/rules';
import { cstTime } from './format';
import { L } from './lang';

/** '2026-Q4' → 2026年第4季度, in Chinese whatever the screen's language (as filed text). */
export function quarterName(q: string): string {
  return `${q.slice(0, 4)}年第${q.slice(6)}季度`;
}

/** '2026-Q4' → 2026年第4季度 / 2026 Q4. */
export function quarterText(q: string): string {
  return L(quarterName(q), `${q.slice(0, 4)} Q${q.slice(6)}`);
}

/** The quarter of a month 'YYYY-MM', and the `n` quarters ending with it, newest first. */
export function quartersEnding(month: string, n: number): string[] {
  let y = Number(month.slice(0, 4));
  let q = Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`${y}-Q${q}`);
    if (--q === 0) {
      q = 4;
      y -= 1;
    }
  }
  return out;
}

/** What a quarter's grade brings: the hub's words (Chinese), in English by the grade; '—' when not graded. */
const ACTION_EN: Readonly<Record<string, string>> = { A: 'None', B: 'None', C: 'Written warning, closer checks', D: 'Networked business suspended for 1–3 months' };
export function actionText(q: { graded: boolean; grade: string; action: string }): string {
  return q.graded && q.action ? L(q.action, ACTION_EN[q.grade] ?? q.action) : '—';
}

/**
 * Last quarter's C and D grades still waiting for what the grade brings, for the registry screen:
 * graded D with no suspension filed for this quarter (the hub's `consequenceFiled`, approved
 * filings only) and still active; graded C with no closer checks filed and neither under them
 * nor suspended now. A grade whose consequence is filed leaves the list for good — also once a
 * suspension's term is over and the institution is active again, when the record alone would
 * list it a second time. A request still awaiting approval keeps it listed (with the request).
 */
export function awaitingConsequence<T extends { graded: boolean; grade: string; institutionId: string; consequenceFiled: unknown }>(
  grades: readonly T[],
  filedNow: (id: string) => { status: string; closerChecks?: boolean } | undefined,
): { toSuspend: T[]; toCheck: T[] } {
  const open = grades.filter((g) => g.graded && !g.consequenceFiled && filedNow(g.institutionId)?.status === 'active');
  return {
    toSuspend: open.filter((g) => g.grade === 'D'),
    toCheck: open.filter((g) => g.grade === 'C' && !filedNow(g.institutionId)?.closerChecks),
  };
}

/**
 * Whether a C or D grade's consequence is in the register (the hub's `consequenceFiled`): its
 * first and last day, a term ending at midnight ending the day before; else not filed yet.
 */
export function filedText(t: { from: number; to: number | null } | null): string {
  if (!t) return L('尚未登记', 'not filed yet');
  const day = (ms: number) => cstTime(ms).slice(0, 10);
  if (t.to === null) return L(`已登记：${day(t.from)} 起`, `filed: from ${day(t.from)}`);
  const last = day(lastCovered(t.to));
  return L(`已登记：${day(t.from)} 至 ${last}`, `filed: ${day(t.from)} to ${last}`);
}

/** The notice the hub prints for a finished quarter, named by the grade (C a written warning, D a suspension). */
const NOTICES: Readonly<Record<string, readonly [string, string]>> = {
  C: ['书面警示通知书', 'Written warning'],
  D: ['暂停联网业务通知书', 'Suspension notice'],
};
export function noticeText(q: { graded: boolean; grade: string }): string {
  const n = q.graded ? NOTICES[q.grade] : undefined;
  return n ? L(n[0], n[1]) : L('结果通知书', 'Result notice');
}

/** Where a finished quarter's notice to the institution is printed from. */
export function noticeHref(institutionId: string, quarter: string): string {
  return `/api/v1/evaluation/institutions/${encodeURIComponent(institutionId)}/notice?quarter=${quarter}`;
}

/** The instant a quarter ends, as a form's datetime-local value: 00:00 on the first day after it. */
export function quarterEndLocal(q: string): string {
  const y = Number(q.slice(0, 4));
  const n = Number(q.slice(6));
  return n === 4 ? `${y + 1}-01-01T00:00` : `${y}-${String(n * 3 + 1).padStart(2, '0')}-01T00:00`;
}
