/**
 * Pure helpers for the warning workflow screens: labels, which actions the current user gets
 * in the current state, queue ordering (overdue first), deadline countdowns, conflict text.
 * The hub's state machine (hub/src/workflow/machine.ts) is the authority; these only decide
 * what to offer.
 */
import type { Me, Role } from './nav';
import { L, tr } from './lang';

// The workflow vocabulary comes from the hub's wire contract (a pure module, no zod).
import { CONCLUSION_LABELS as CONCLUSION_LABELS_ZH, EVENT_LABELS as EVENT_LABELS_ZH, SAMPLING_CONCLUSION_LABELS, STATE_LABELS, type Conclusion, type DisposalAction, type WarningStateName } from '@jianguan/protocol/workflow';
export {
  CONCLUSIONS,
  DISPOSAL_LABELS,
  EVENT_LABELS,
  STATE_LABELS,
  type Conclusion,
  type DisposalAction,
  type EventType,
  type WarningStateName,
} from '@jianguan/protocol/workflow';

export type Severity = 'high' | 'medium' | 'low';
export const SEVERITY_LABELS: Readonly<Record<Severity, string>> = { high: '高', medium: '中', low: '低' };

/** Open states an auditor works on (my queue). */
export const OPEN_STATES: readonly WarningStateName[] = ['assigned', 'acknowledged', 'verifying', 'concluded'];

export interface WarningState {
  seq: number;
  state: WarningStateName;
  assignee: string | null;
  conclusion: Conclusion | null;
  escalated?: boolean;
}

/** What the screen may offer. */
export type UiAction =
  | 'assign'
  | 'acknowledge'
  | 'start_verification'
  | 'conclude'
  | 'dispose'
  | 'review'
  | 'reject'
  | 'close'
  | 'reopen'
  | 'comment'
  | 'evidence';

const has = (me: Me, ...roles: Role[]) => me.roles.some((r) => roles.includes(r));

/** Event-type names (older hub answers) → the API action names the hub now lists. */
const EVENT_TO_ACTION: Readonly<Record<string, string>> = {
  assigned: 'assign',
  acknowledged: 'acknowledge',
  verification_started: 'start_verification',
  concluded: 'conclude',
  disposed: 'dispose',
  reviewed: 'review',
  review_rejected: 'review_reject',
  closed: 'close',
  reopened: 'reopen',
  commented: 'comment',
  evidence_attached: 'evidence',
};

/**
 * Actions for `me` on a warning in `s`, given the hub's `allowedActions` (the API actions the
 * caller may take now — a dry run of the state machine with their roles; older hubs listed the
 * event types legal in the state, which are mapped). The role and assignee checks here repeat
 * the machine's, so a coarser list never offers a button the hub would refuse.
 */
export function actionsFor(s: WarningState, allowed: readonly string[], me: Me): UiAction[] {
  const ok = new Set(allowed.map((a) => EVENT_TO_ACTION[a] ?? a));
  const assignee = s.assignee !== null && s.assignee === me.username;
  const worker = assignee && has(me, 'auditor', 'leader');
  const leader = has(me, 'leader');
  const out: UiAction[] = [];
  if ((leader || has(me, 'system_admin')) && ok.has('assign')) out.push('assign');
  if (worker && ok.has('acknowledge')) out.push('acknowledge');
  if (worker && ok.has('start_verification')) out.push('start_verification');
  if (worker && ok.has('conclude')) out.push('conclude');
  if (worker && ok.has('dispose') && s.conclusion === 'confirmed') out.push('dispose');
  const reviewable = s.state === 'disposed' || (s.state === 'concluded' && s.conclusion === 'false_alarm');
  if (leader && !assignee && ok.has('review') && reviewable) out.push('review');
  if (leader && (ok.has('review_reject') || ok.has('review')) && (s.state === 'concluded' || s.state === 'disposed')) out.push('reject');
  if (leader && ok.has('close')) out.push('close');
  if (leader && ok.has('reopen')) out.push('reopen');
  if (has(me, 'auditor', 'leader', 'system_admin') && ok.has('comment')) out.push('comment');
  if ((worker || leader) && ok.has('evidence')) out.push('evidence');
  return out;
}

export interface QueueItem {
  id: string;
  severity: string;
  raisedAt: number;
  escalated: boolean;
  /** Verification (or acknowledgement) due time when known. */
  dueAt?: number | null;
}

const SEV_RANK: Record<string, number> = { high: 0, medium: 1, low: 2 };

export function isOverdue(w: QueueItem, now: number): boolean {
  return w.escalated || (w.dueAt != null && Number.isFinite(w.dueAt) && w.dueAt < now);
}

/** My queue order: overdue first, then severity (high first), then the earliest due/raised. */
export function sortQueue<T extends QueueItem>(items: readonly T[], now: number): T[] {
  return [...items].sort((a, b) => {
    const o = Number(isOverdue(b, now)) - Number(isOverdue(a, now));
    if (o) return o;
    const s = (SEV_RANK[a.severity] ?? 3) - (SEV_RANK[b.severity] ?? 3);
    if (s) return s;
    const da = a.dueAt ?? Number.POSITIVE_INFINITY;
    const db = b.dueAt ?? Number.POSITIVE_INFINITY;
    if (da !== db) return da < db ? -1 : 1;
    return a.raisedAt - b.raisedAt;
  });
}

/** "剩余 2小时05分" / "超期 1天3小时" / "—". */
export function countdown(dueAt: number | null | undefined, now: number): { text: string; overdue: boolean } {
  if (dueAt == null || !Number.isFinite(dueAt)) return { text: '—', overdue: false };
  const diff = dueAt - now;
  const abs = Math.abs(diff);
  const mins = Math.floor(abs / 60_000);
  const d = Math.floor(mins / 1440);
  const h = Math.floor((mins % 1440) / 60);
  const m = mins % 60;
  const span = d > 0 ? L(`${d}天${h}小时`, `${d} d ${h} h`) : h > 0 ? L(`${h}小时${String(m).padStart(2, '0')}分`, `${h} h ${String(m).padStart(2, '0')} min`) : L(`${m}分钟`, `${m} min`);
  return diff >= 0 ? { text: L(`剩余 ${span}`, `${span} left`), overdue: false } : { text: L(`超期 ${span}`, `overdue ${span}`), overdue: true };
}

/** The deadline that matters now for a warning in `state`. */
export function activeDeadline(d: { acknowledgeBy: number | null; verifyBy: number } | null | undefined, state: WarningStateName): { kind: '签收' | '核查'; dueAt: number } | null {
  if (!d) return null;
  if (d.acknowledgeBy !== null && (state === 'raised' || state === 'assigned')) return { kind: '签收', dueAt: d.acknowledgeBy };
  if (['raised', 'assigned', 'acknowledged', 'verifying'].includes(state)) return { kind: '核查', dueAt: d.verifyBy };
  return null;
}

/** What an optimistic-concurrency conflict means, in the screen's language. */
export function conflictMessage(current: Partial<WarningState> | null | undefined): string {
  const state = current?.state ? (STATE_LABELS[current.state] ?? current.state) : '';
  const who = current?.assignee ? L(`，核查人：${current.assignee}`, `, auditor: ${current.assignee}`) : '';
  const st = state ? L(`当前状态为「${state}」${who}`, `now “${tr(state)}”${who}`) : L('状态已变化', 'its state has changed');
  return L(`操作未执行：该预警刚被他人更新（${st}）。请重新加载后再操作。`, `Not done: someone else has just updated this warning (${st}). Reload it and try again.`);
}

/** The action body for POST /warnings/:id/actions (without expectedSeq). */
export type ActionBody =
  | { type: 'assign'; assignee: string; comment?: string }
  | { type: 'acknowledge'; comment?: string }
  | { type: 'start_verification'; comment?: string }
  | { type: 'conclude'; conclusion: Conclusion; comment?: string }
  | { type: 'dispose'; disposal: DisposalAction[]; comment?: string }
  | { type: 'review'; approve: boolean; comment?: string }
  | { type: 'close'; comment?: string }
  | { type: 'reopen'; comment: string }
  | { type: 'comment'; comment: string };

/** Bulk actions offered on the queue, by the state every selected item must be in. */
export const BULK_ACTIONS: readonly { type: 'acknowledge' | 'start_verification'; label: string; from: WarningStateName }[] = [
  { type: 'acknowledge', label: '批量签收', from: 'assigned' },
  { type: 'start_verification', label: '批量开始核查', from: 'acknowledged' },
];

/**
 * The question before concluding selected warnings as normal in bulk: how many, how many of them
 * high-severity, and that it cannot be undone and counts in the evaluation (as the single
 * warning's page says).
 */
export function bulkConcludeQuestion(count: number, high: number, note: string): [string, string] {
  const highZh = high ? `（其中高风险 ${high} 条）` : '';
  const highEn = high ? ` (${high} of them high-severity)` : '';
  return [
    L(`批量结论：正常（${count} 条）`, `Conclude ${count} warning(s) as normal`),
    L(
      `将 ${count} 条预警${highZh}结论为正常（误报），说明：${note}。提交后不能撤回，并计入机构考核。`,
      `${count} warning(s)${highEn} will be concluded as normal (false alarm), note: ${note}. This cannot be undone and counts in the institutions' evaluation.`,
    ),
  ];
}

// ---- English for the workflow vocabulary (the Chinese comes from the hub's wire contract) ----

const STATE_EN: Readonly<Record<string, string>> = {
  raised: 'Unassigned', assigned: 'Assigned', acknowledged: 'Acknowledged', verifying: 'Verifying', concluded: 'Concluded',
  disposed: 'Disposed', reviewed: 'Reviewed', closed: 'Closed',
};
const EVENT_EN: Readonly<Record<string, string>> = {
  assigned: 'Assigned', acknowledged: 'Acknowledged', verification_started: 'Verification started', concluded: 'Concluded', disposed: 'Disposed',
  reviewed: 'Review approved', review_rejected: 'Sent back', closed: 'Closed', reopened: 'Reopened', commented: 'Comment', evidence_attached: 'Evidence attached',
  escalated: 'Escalated (overdue)',
};
const CONCLUSION_EN: Readonly<Record<string, string>> = { confirmed: 'Confirmed (abnormal)', false_alarm: 'Normal (false alarm)' };
const SEVERITY_EN: Readonly<Record<string, string>> = { high: 'High', medium: 'Medium', low: 'Low' };
const BULK_EN: Readonly<Record<string, string>> = { acknowledge: 'Acknowledge selected', start_verification: 'Start verifying selected' };

export const stateText = (s: string, zh?: string) => L(zh || (STATE_LABELS as Record<string, string>)[s] || s, STATE_EN[s] ?? s);
export const eventText = (t: string, zh?: string) => L(zh || (EVENT_LABELS_ZH as Record<string, string>)[t] || t, EVENT_EN[t] ?? t);
/** A conclusion in words; a sampling rule's draw (加强抽查) found normal is no false alarm (its English in en.ts). */
export const conclusionText = (c: string, sampling = false) => {
  if (!c) return '';
  if (sampling) return tr((SAMPLING_CONCLUSION_LABELS as Record<string, string>)[c] ?? c);
  return L((CONCLUSION_LABELS_ZH as Record<string, string>)[c] ?? c, CONCLUSION_EN[c] ?? c);
};
export const severityText = (s: string) => L((SEVERITY_LABELS as Record<string, string>)[s] ?? s, SEVERITY_EN[s] ?? s);
export const bulkText = (type: string, zh: string) => L(zh, BULK_EN[type] ?? type);
