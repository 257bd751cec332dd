/**
 * The life of a warning, as a pure reducer. Design note:
 *
 * The event log (ClickHouse `warning_events`) is the only record; the current state is derived
 * by folding the events in `seq` order with `applyEvent`. The same fold validates a new event
 * before it is appended, so an illegal transition can never be stored. A warning with no event is
 * `raised` at seq 0; every event has seq = previous seq + 1 (the service appends under a
 * per-warning lock after checking the caller's `expectedSeq`).
 *
 *   raised ─assigned→ assigned ─acknowledged→ acknowledged ─verification_started→ verifying
 *   verifying ─concluded(confirmed|false_alarm)→ concluded
 *   concluded(confirmed) ─disposed(actions)→ disposed
 *   concluded(false_alarm) | disposed ─reviewed→ reviewed ─closed→ closed
 *   concluded | disposed ─review_rejected→ verifying        (leader sends it back)
 *   closed ─reopened→ verifying                             (leader; conclusion kept until re-concluded)
 *   raised | assigned | acknowledged | verifying ─assigned→ assigned   (re-assignment)
 *   any state: commented; any but closed: evidence_attached — state unchanged
 *   raised … verifying ─escalated→ same state, once (超期督办, by the system)
 *
 * Who may do what is part of the transition: the assignee works the warning (acknowledge,
 * verify, conclude, dispose); a leader assigns, reviews (not their own work), closes, reopens;
 * only the system escalates.
 */
import { HubError } from '../errors.js';
import type { Role } from '../http/access.js';

// The vocabulary (states, events, conclusions, disposals and their Chinese labels) is part of
// the wire contract, shared with the dashboard.
export * from '../protocol/workflow.js';
import { CONCLUSIONS, DISPOSAL_ACTIONS, UNVERIFIED_STATES, WARNING_STATES, type Conclusion, type DisposalAction, type EventType, type WarningStateName } from '../protocol/workflow.js';

export type ActorRole = Role | 'system';

export interface EvidenceRef {
  sha256: string;
  name: string;
  mime: string;
  size: number;
}

export interface EventPayload {
  assignee?: string;
  conclusion?: Conclusion;
  disposal?: DisposalAction[];
  comment?: string;
  evidence?: EvidenceRef;
  /** References (sha256) to evidence already attached, cited by a conclusion or disposal. */
  refs?: string[];
  /** escalated: which deadline was missed and when it fell due. */
  overdue?: { kind: 'acknowledge' | 'verify'; dueAt: number };
}

export interface WorkflowEvent {
  warningId: string;
  seq: number;
  type: EventType;
  actor: string;
  role: ActorRole;
  at: number;
  payload: EventPayload;
}

export interface WarningState {
  warningId: string;
  seq: number;
  state: WarningStateName;
  assignee: string | null;
  conclusion: Conclusion | null;
  disposal: DisposalAction[];
  escalated: boolean;
  acknowledgedAt: number | null;
  concludedAt: number | null;
  closedAt: number | null;
  updatedAt: number | null;
  evidence: EvidenceRef[];
  comments: number;
}

export function initialState(warningId: string): WarningState {
  return {
    warningId,
    seq: 0,
    state: 'raised',
    assignee: null,
    conclusion: null,
    disposal: [],
    escalated: false,
    acknowledgedAt: null,
    concludedAt: null,
    closedAt: null,
    updatedAt: null,
    evidence: [],
    comments: 0,
  };
}

type Who = 'leader' | 'assignee' | 'assignee_or_leader' | 'system' | 'anyone';

interface Transition {
  from: readonly WarningStateName[] | 'any';
  /** Target state; undefined = unchanged. */
  to?: WarningStateName;
  who: Who;
}

const ALL_BUT_CLOSED = WARNING_STATES.filter((s) => s !== 'closed');

export const TRANSITIONS: Readonly<Record<EventType, Transition>> = {
  assigned: { from: ['raised', 'assigned', 'acknowledged', 'verifying'], to: 'assigned', who: 'leader' },
  acknowledged: { from: ['assigned'], to: 'acknowledged', who: 'assignee' },
  verification_started: { from: ['acknowledged'], to: 'verifying', who: 'assignee' },
  concluded: { from: ['verifying'], to: 'concluded', who: 'assignee' },
  disposed: { from: ['concluded'], to: 'disposed', who: 'assignee' },
  reviewed: { from: ['concluded', 'disposed'], to: 'reviewed', who: 'leader' },
  review_rejected: { from: ['concluded', 'disposed'], to: 'verifying', who: 'leader' },
  closed: { from: ['reviewed'], to: 'closed', who: 'leader' },
  reopened: { from: ['closed'], to: 'verifying', who: 'leader' },
  commented: { from: 'any', who: 'anyone' },
  evidence_attached: { from: ALL_BUT_CLOSED, who: 'assignee_or_leader' },
  escalated: { from: UNVERIFIED_STATES, who: 'system' },
};

/** Roles a human actor needs for an event type (the service picks the event's `role` from these). */
export const ROLES_FOR: Readonly<Record<EventType, readonly ActorRole[]>> = {
  assigned: ['leader', 'system_admin', 'system'],
  acknowledged: ['auditor', 'leader'],
  verification_started: ['auditor', 'leader'],
  concluded: ['auditor', 'leader'],
  disposed: ['auditor', 'leader'],
  reviewed: ['leader'],
  review_rejected: ['leader'],
  closed: ['leader'],
  reopened: ['leader'],
  commented: ['auditor', 'leader', 'system_admin'],
  evidence_attached: ['auditor', 'leader'],
  escalated: ['system'],
};

function fail(code: 'INVALID_TRANSITION' | 'FORBIDDEN' | 'CONFLICT' | 'BODY_INVALID', detail: string): never {
  throw new HubError(code, detail);
}

function checkActor(t: Transition, type: EventType, s: WarningState, e: WorkflowEvent): void {
  if (!ROLES_FOR[type].includes(e.role)) fail('FORBIDDEN', `${type} needs role ${ROLES_FOR[type].join('/')}, got ${e.role}`);
  const isAssignee = s.assignee !== null && e.actor === s.assignee;
  switch (t.who) {
    case 'system':
      if (e.role !== 'system') fail('FORBIDDEN', `${type} is done by the system only`);
      return;
    case 'leader':
      if (e.role !== 'leader' && e.role !== 'system_admin' && e.role !== 'system') fail('FORBIDDEN', `${type} needs a leader`);
      return;
    case 'assignee':
      if (!isAssignee) fail('FORBIDDEN', `${type} may only be done by the assignee (${s.assignee ?? 'none'})`);
      return;
    case 'assignee_or_leader':
      if (!isAssignee && e.role !== 'leader') fail('FORBIDDEN', `${type} needs the assignee or a leader`);
      return;
    case 'anyone':
      return;
  }
}

/**
 * Applies one event to a state, validating sequence, transition, actor and payload. Pure:
 * returns a new state or throws a HubError (CONFLICT, INVALID_TRANSITION, FORBIDDEN,
 * BODY_INVALID).
 */
export function applyEvent(s: WarningState, e: WorkflowEvent): WarningState {
  if (e.warningId !== s.warningId) fail('BODY_INVALID', `event of ${e.warningId} applied to ${s.warningId}`);
  if (e.seq !== s.seq + 1) fail('CONFLICT', `expected seq ${s.seq + 1}, got ${e.seq}`);
  const t = TRANSITIONS[e.type];
  if (!t) fail('BODY_INVALID', `unknown event type ${String(e.type)}`);
  if (t.from !== 'any' && !t.from.includes(s.state)) fail('INVALID_TRANSITION', `${e.type} is not allowed in state ${s.state}`);
  checkActor(t, e.type, s, e);

  const next: WarningState = { ...s, seq: e.seq, state: t.to ?? s.state, updatedAt: e.at };
  const p = e.payload;
  switch (e.type) {
    case 'assigned':
      if (!p.assignee) fail('BODY_INVALID', 'assigned needs payload.assignee');
      if (p.assignee === s.assignee && s.state === 'assigned') fail('INVALID_TRANSITION', `already assigned to ${p.assignee}`);
      next.assignee = p.assignee;
      break;
    case 'acknowledged':
      next.acknowledgedAt = e.at;
      break;
    case 'concluded':
      if (!p.conclusion || !CONCLUSIONS.includes(p.conclusion)) fail('BODY_INVALID', 'concluded needs payload.conclusion (confirmed | false_alarm)');
      next.conclusion = p.conclusion;
      next.concludedAt = e.at;
      next.disposal = [];
      break;
    case 'disposed':
      if (s.conclusion !== 'confirmed') fail('INVALID_TRANSITION', 'only a confirmed warning is disposed; a false alarm goes to review');
      if (!p.disposal?.length || !p.disposal.every((d) => DISPOSAL_ACTIONS.includes(d))) fail('BODY_INVALID', `disposed needs payload.disposal ⊆ ${DISPOSAL_ACTIONS.join(',')}`);
      next.disposal = [...new Set(p.disposal)];
      break;
    case 'reviewed':
      if (s.state === 'concluded' && s.conclusion !== 'false_alarm') fail('INVALID_TRANSITION', 'a confirmed warning must be disposed before review');
      if (e.actor === s.assignee) fail('FORBIDDEN', 'a leader may not review their own verification');
      break;
    case 'review_rejected':
      if (!p.comment) fail('BODY_INVALID', 'review_rejected needs payload.comment (why)');
      break;
    case 'closed':
      next.closedAt = e.at;
      break;
    case 'reopened':
      if (!p.comment) fail('BODY_INVALID', 'reopened needs payload.comment (why)');
      next.closedAt = null;
      break;
    case 'commented':
      if (!p.comment?.trim()) fail('BODY_INVALID', 'commented needs payload.comment');
      next.comments = s.comments + 1;
      break;
    case 'evidence_attached':
      if (!p.evidence || !/^[0-9a-f]{64}$/.test(p.evidence.sha256)) fail('BODY_INVALID', 'evidence_attached needs payload.evidence.sha256');
      next.evidence = [...s.evidence, p.evidence];
      break;
    case 'escalated':
      if (s.escalated) fail('INVALID_TRANSITION', 'already escalated');
      next.escalated = true;
      break;
    default:
      break;
  }
  return next;
}

/** Folds events (in seq order) into the current state. Throws if the log is inconsistent. */
export function foldEvents(warningId: string, events: readonly WorkflowEvent[]): WarningState {
  return events.reduce(applyEvent, initialState(warningId));
}
