/**
 * The warning state machine as a pure reducer: every (state, event) pair is checked against the
 * transition table — legal ones land in the documented state, illegal ones throw
 * INVALID_TRANSITION — plus the actor, payload and sequence rules, and the working-hours
 * deadlines.
 */
import { describe, expect, it } from 'vitest';
import { createWorkCalendar } from '@jianguan/rules';
import { HubError } from '../src/errors.js';
import {
  applyEvent,
  EVENT_TYPES,
  foldEvents,
  initialState,
  TRANSITIONS,
  WARNING_STATES,
  type EventPayload,
  type EventType,
  type WarningState,
  type WarningStateName,
  type WorkflowEvent,
} from '../src/workflow/machine.js';
import { addWorkingMinutes, deadlinesOf, missedDeadline } from '../src/workflow/sla.js';

const AUD = 'aud-1';
const LEAD = 'lead-1';
const SHA = 'a'.repeat(64);

const DEFAULTS: Record<EventType, Pick<WorkflowEvent, 'actor' | 'role'> & { payload: EventPayload }> = {
  assigned: { actor: LEAD, role: 'leader', payload: { assignee: AUD } },
  acknowledged: { actor: AUD, role: 'auditor', payload: {} },
  verification_started: { actor: AUD, role: 'auditor', payload: {} },
  concluded: { actor: AUD, role: 'auditor', payload: { conclusion: 'confirmed' } },
  disposed: { actor: AUD, role: 'auditor', payload: { disposal: ['lock_vehicle'] } },
  reviewed: { actor: LEAD, role: 'leader', payload: {} },
  review_rejected: { actor: LEAD, role: 'leader', payload: { comment: '证据不足' } },
  closed: { actor: LEAD, role: 'leader', payload: {} },
  reopened: { actor: LEAD, role: 'leader', payload: { comment: '复查' } },
  commented: { actor: AUD, role: 'auditor', payload: { comment: '已电话联系' } },
  evidence_attached: { actor: AUD, role: 'auditor', payload: { evidence: { sha256: SHA, name: 'a.jpg', mime: 'image/jpeg', size: 3 } } },
  escalated: { actor: 'system', role: 'system', payload: { overdue: { kind: 'verify', dueAt: 1 } } },
};

function ev(s: WarningState, type: EventType, over: Partial<WorkflowEvent> = {}): WorkflowEvent {
  const d = DEFAULTS[type];
  return { warningId: s.warningId, seq: s.seq + 1, type, actor: d.actor, role: d.role, at: 1_000 + s.seq, payload: d.payload, ...over };
}

const PATH: EventType[] = ['assigned', 'acknowledged', 'verification_started', 'concluded', 'disposed', 'reviewed', 'closed'];
const STATE_AFTER: WarningStateName[] = ['raised', 'assigned', 'acknowledged', 'verifying', 'concluded', 'disposed', 'reviewed', 'closed'];

/** The state reached by the main path up to `target`. */
function reach(target: WarningStateName): WarningState {
  let s = initialState('w-1');
  for (let i = 0; STATE_AFTER[i] !== target; i++) s = applyEvent(s, ev(s, PATH[i]!));
  expect(s.state).toBe(target);
  return s;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof HubError ? e.code : `non-coded: ${String(e)}`;
  }
  return undefined;
}

describe('transition table: every state × every event', () => {
  for (const state of WARNING_STATES) {
    for (const type of EVENT_TYPES) {
      const t = TRANSITIONS[type];
      let legal = t.from === 'any' || t.from.includes(state);
      // A confirmed warning must be disposed before review (the default conclusion is confirmed).
      if (type === 'reviewed' && state === 'concluded') legal = false;
      it(`${state} --${type}--> ${legal ? (t.to ?? state) : 'INVALID_TRANSITION'}`, () => {
        const s = reach(state);
        // Re-assigning to the current assignee is no change; use another auditor.
        // Nobody is assigned yet in `raised`: evidence then comes from a leader.
        const e =
          type === 'assigned' && state !== 'raised'
            ? ev(s, type, { payload: { assignee: 'aud-2' } })
            : type === 'evidence_attached' && state === 'raised'
              ? ev(s, type, { actor: LEAD, role: 'leader' })
              : ev(s, type);
        if (legal) {
          const next = applyEvent(s, e);
          expect(next.state).toBe(t.to ?? state);
          expect(next.seq).toBe(s.seq + 1);
          expect(next.updatedAt).toBe(e.at);
        } else {
          expect(codeOf(() => applyEvent(s, e))).toBe('INVALID_TRANSITION');
        }
      });
    }
  }
});

describe('transition details', () => {
  it('a false alarm skips disposal and goes straight to review, then closes', () => {
    let s = reach('verifying');
    s = applyEvent(s, ev(s, 'concluded', { payload: { conclusion: 'false_alarm' } }));
    expect(codeOf(() => applyEvent(s, ev(s, 'disposed')))).toBe('INVALID_TRANSITION');
    s = applyEvent(s, ev(s, 'reviewed'));
    s = applyEvent(s, ev(s, 'closed'));
    expect(s).toMatchObject({ state: 'closed', conclusion: 'false_alarm', disposal: [] });
  });

  it('review rejection sends the warning back to verifying and a new conclusion replaces the old', () => {
    let s = reach('disposed');
    s = applyEvent(s, ev(s, 'review_rejected'));
    expect(s.state).toBe('verifying');
    expect(s.conclusion).toBe('confirmed');
    s = applyEvent(s, ev(s, 'concluded', { payload: { conclusion: 'false_alarm' } }));
    expect(s).toMatchObject({ state: 'concluded', conclusion: 'false_alarm', disposal: [] });
  });

  it('a closed warning can be reopened by a leader with a reason, keeping its conclusion until re-concluded', () => {
    let s = reach('closed');
    expect(codeOf(() => applyEvent(s, ev(s, 'reopened', { payload: {} })))).toBe('BODY_INVALID');
    s = applyEvent(s, ev(s, 'reopened'));
    expect(s).toMatchObject({ state: 'verifying', conclusion: 'confirmed', closedAt: null });
  });

  it('re-assignment from assigned, acknowledged and verifying returns to assigned with the new assignee', () => {
    for (const st of ['assigned', 'acknowledged', 'verifying'] as const) {
      const s = reach(st);
      const next = applyEvent(s, ev(s, 'assigned', { payload: { assignee: 'aud-2' } }));
      expect(next).toMatchObject({ state: 'assigned', assignee: 'aud-2' });
    }
    const s = reach('assigned');
    expect(codeOf(() => applyEvent(s, ev(s, 'assigned')))).toBe('INVALID_TRANSITION');
  });

  it('escalation happens once and does not change the state', () => {
    let s = reach('acknowledged');
    s = applyEvent(s, ev(s, 'escalated'));
    expect(s).toMatchObject({ state: 'acknowledged', escalated: true });
    expect(codeOf(() => applyEvent(s, ev(s, 'escalated')))).toBe('INVALID_TRANSITION');
  });

  it('comments and evidence accumulate; evidence is refused once closed', () => {
    let s = reach('verifying');
    s = applyEvent(s, ev(s, 'commented'));
    s = applyEvent(s, ev(s, 'evidence_attached'));
    expect(s.comments).toBe(1);
    expect(s.evidence.map((e) => e.sha256)).toEqual([SHA]);
    const c = reach('closed');
    expect(applyEvent(c, ev(c, 'commented')).comments).toBe(1);
    expect(codeOf(() => applyEvent(c, ev(c, 'evidence_attached')))).toBe('INVALID_TRANSITION');
  });
});

describe('actors', () => {
  it('only the assignee works the warning', () => {
    const s = reach('assigned');
    expect(codeOf(() => applyEvent(s, ev(s, 'acknowledged', { actor: 'aud-2' })))).toBe('FORBIDDEN');
    const v = reach('verifying');
    expect(codeOf(() => applyEvent(v, ev(v, 'concluded', { actor: LEAD, role: 'leader' })))).toBe('FORBIDDEN');
  });

  it('only leaders (or the system) assign; auditors and wall viewers may not', () => {
    const s = initialState('w-1');
    expect(codeOf(() => applyEvent(s, ev(s, 'assigned', { actor: AUD, role: 'auditor' })))).toBe('FORBIDDEN');
    expect(codeOf(() => applyEvent(s, ev(s, 'assigned', { actor: 'w', role: 'wall_viewer' })))).toBe('FORBIDDEN');
    expect(applyEvent(s, ev(s, 'assigned', { actor: 'system', role: 'system' })).assignee).toBe(AUD);
  });

  it('review and close need a leader, and a leader may not review their own verification', () => {
    const d = reach('disposed');
    expect(codeOf(() => applyEvent(d, ev(d, 'reviewed', { actor: AUD, role: 'auditor' })))).toBe('FORBIDDEN');
    // A leader who was the assignee.
    let s = initialState('w-1');
    s = applyEvent(s, ev(s, 'assigned', { payload: { assignee: LEAD } }));
    for (const t of ['acknowledged', 'verification_started'] as const) s = applyEvent(s, ev(s, t, { actor: LEAD, role: 'leader' }));
    s = applyEvent(s, ev(s, 'concluded', { actor: LEAD, role: 'leader', payload: { conclusion: 'false_alarm' } }));
    expect(codeOf(() => applyEvent(s, ev(s, 'reviewed')))).toBe('FORBIDDEN');
    expect(applyEvent(s, ev(s, 'reviewed', { actor: 'lead-2' })).state).toBe('reviewed');
  });

  it('only the system escalates', () => {
    const s = reach('assigned');
    expect(codeOf(() => applyEvent(s, ev(s, 'escalated', { actor: LEAD, role: 'leader' })))).toBe('FORBIDDEN');
  });
});

describe('sequence and payload', () => {
  it('an event must carry seq = current + 1 (CONFLICT otherwise)', () => {
    const s = reach('assigned');
    expect(codeOf(() => applyEvent(s, ev(s, 'acknowledged', { seq: s.seq })))).toBe('CONFLICT');
    expect(codeOf(() => applyEvent(s, ev(s, 'acknowledged', { seq: s.seq + 2 })))).toBe('CONFLICT');
  });

  it('payloads are validated', () => {
    const r = initialState('w-1');
    expect(codeOf(() => applyEvent(r, ev(r, 'assigned', { payload: {} })))).toBe('BODY_INVALID');
    const v = reach('verifying');
    expect(codeOf(() => applyEvent(v, ev(v, 'concluded', { payload: {} })))).toBe('BODY_INVALID');
    const c = reach('concluded');
    expect(codeOf(() => applyEvent(c, ev(c, 'disposed', { payload: { disposal: [] } })))).toBe('BODY_INVALID');
    expect(codeOf(() => applyEvent(c, ev(c, 'disposed', { payload: { disposal: ['shoot' as never] } })))).toBe('BODY_INVALID');
    expect(codeOf(() => applyEvent(c, ev(c, 'commented', { payload: { comment: '  ' } })))).toBe('BODY_INVALID');
  });

  it('folding the log reproduces the state', () => {
    const events: WorkflowEvent[] = [];
    let s = initialState('w-1');
    for (const t of PATH) {
      const e = ev(s, t);
      events.push(e);
      s = applyEvent(s, e);
    }
    expect(foldEvents('w-1', events)).toEqual(s);
    expect(s).toMatchObject({ state: 'closed', assignee: AUD, conclusion: 'confirmed', disposal: ['lock_vehicle'], acknowledgedAt: 1_001 });
  });
});

describe('working-hours deadlines', () => {
  const cal = createWorkCalendar();
  const cst = (y: number, m: number, d: number, h: number, min = 0) => Date.UTC(y, m - 1, d, h - 8, min);

  it('adds working minutes within a day and across a weekend', () => {
    // Wednesday 2026-11-25 10:00 + 60 min = 11:00.
    expect(addWorkingMinutes(cal, cst(2026, 11, 25, 10), 60)).toBe(cst(2026, 11, 25, 11));
    // Friday 2026-11-27 17:30 + 60 min = Monday 2026-11-30 08:30.
    expect(addWorkingMinutes(cal, cst(2026, 11, 27, 17, 30), 60)).toBe(cst(2026, 11, 30, 8, 30));
    // Raised at night: the clock starts at 08:00.
    expect(addWorkingMinutes(cal, cst(2026, 11, 25, 22), 60)).toBe(cst(2026, 11, 26, 9));
  });

  it('skips holidays and counts adjusted working Saturdays', () => {
    // 2026-09-30 (Wed) 17:00 + 120 min: 1 h on 09-30, then the National Day holiday 10-01..07,
    // and 10-08 (Thu) is the next working day → 09:00.
    expect(addWorkingMinutes(cal, cst(2026, 9, 30, 17), 120)).toBe(cst(2026, 10, 8, 9));
    // Friday 2026-10-09 17:00 + 120 min: Saturday 10-10 is an adjusted working day → 09:00.
    expect(addWorkingMinutes(cal, cst(2026, 10, 9, 17), 120)).toBe(cst(2026, 10, 10, 9));
  });

  it('gives high severity an acknowledgement limit and 1 working day to verify; others 3 working days', () => {
    const sla = { highAckMinutes: 60, highVerifyMinutes: 600, verifyMinutes: 1800 };
    const raised = cst(2026, 11, 25, 10);
    const high = deadlinesOf(cal, sla, 'high', raised);
    expect(high).toEqual({ acknowledgeBy: cst(2026, 11, 25, 11), verifyBy: cst(2026, 11, 26, 10) });
    const low = deadlinesOf(cal, sla, 'medium', raised);
    expect(low).toEqual({ acknowledgeBy: null, verifyBy: cst(2026, 11, 30, 10) });
    expect(missedDeadline(high, 'assigned', cst(2026, 11, 25, 11, 1))).toEqual({ kind: 'acknowledge', dueAt: high.acknowledgeBy });
    expect(missedDeadline(high, 'acknowledged', cst(2026, 11, 25, 11, 1))).toBeNull();
    expect(missedDeadline(high, 'verifying', cst(2026, 11, 26, 10, 1))).toEqual({ kind: 'verify', dueAt: high.verifyBy });
    expect(missedDeadline(high, 'concluded', cst(2026, 12, 26, 10))).toBeNull();
  });
});
