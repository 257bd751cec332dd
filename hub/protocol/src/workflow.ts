/**
 * The warning workflow's vocabulary (domain.md §7): states, event types, conclusions and
 * disposal actions with their Chinese labels. The hub's state machine (workflow/machine.ts)
 * enforces the transitions; the dashboard shows the same words.
 */

export const WARNING_STATES = ['raised', 'assigned', 'acknowledged', 'verifying', 'concluded', 'disposed', 'reviewed', 'closed'] as const;
export type WarningStateName = (typeof WARNING_STATES)[number];

export const STATE_LABELS: Readonly<Record<WarningStateName, string>> = {
  raised: '待分派',
  assigned: '已分派',
  acknowledged: '已签收',
  verifying: '核查中',
  concluded: '已出结论',
  disposed: '已处置',
  reviewed: '已审核',
  closed: '已办结',
};

/** States in which the warning is still awaiting verification (deadlines apply). */
export const UNVERIFIED_STATES: readonly WarningStateName[] = ['raised', 'assigned', 'acknowledged', 'verifying'];

export const EVENT_TYPES = [
  'assigned',
  'acknowledged',
  'verification_started',
  'concluded',
  'disposed',
  'reviewed',
  'review_rejected',
  'closed',
  'reopened',
  'commented',
  'evidence_attached',
  'escalated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_LABELS: Readonly<Record<EventType, string>> = {
  assigned: '分派',
  acknowledged: '签收',
  verification_started: '开始核查',
  concluded: '核查结论',
  disposed: '处置',
  reviewed: '领导审核通过',
  review_rejected: '审核退回',
  closed: '办结',
  reopened: '重新核查',
  commented: '备注',
  evidence_attached: '上传证据',
  escalated: '超期督办',
};

export const CONCLUSIONS = ['confirmed', 'false_alarm'] as const;
export type Conclusion = (typeof CONCLUSIONS)[number];
export const CONCLUSION_LABELS: Readonly<Record<Conclusion, string>> = { confirmed: '异常属实', false_alarm: '正常（误报）' };
/**
 * The same conclusions for a sampling rule's draw (加强抽查): a drawn record found normal is the
 * expected outcome, not a false alarm.
 */
export const SAMPLING_CONCLUSION_LABELS: Readonly<Record<Conclusion, string>> = { confirmed: '异常属实（抽查发现问题）', false_alarm: '正常（抽查无异常）' };

/** domain.md §7 disposal actions. */
export const DISPOSAL_ACTIONS = [
  'correct_record',
  'lock_vehicle',
  'lock_licence',
  'revoke',
  'blacklist_agent',
  'suspend_account',
  'suspend_institution',
  'refer_discipline',
  'refer_other',
] as const;
export type DisposalAction = (typeof DISPOSAL_ACTIONS)[number];
export const DISPOSAL_LABELS: Readonly<Record<DisposalAction, string>> = {
  correct_record: '更正记录',
  lock_vehicle: '锁定机动车',
  lock_licence: '锁定驾驶证',
  revoke: '撤销业务',
  blacklist_agent: '代办人列入黑名单',
  suspend_account: '停用账号',
  suspend_institution: '暂停机构业务',
  refer_discipline: '移交纪检',
  refer_other: '移交其他部门',
};
