/** 驾驶人考试 (driving exams) family. Exam records: ywlx = subject '1'–'4'; bookings carry no examiner. */
import { defineRule } from '../engine/definition.js';

const examKind = { op: 'in' as const, field: 'kind' as const, values: ['exam'] };

/** Exam run by an examiner who is not filed, expired, or not permitted for the licence class. */
export const examExaminerUnfiled = defineRule({
  id: 'exam.examiner_unfiled',
  kind: 'registry',
  target: 'staff',
  name: '考试员未备案或超准考车型',
  family: 'exam',
  severity: 'high',
  action: 'hold',
  description: '考试的考试员未备案为考试员、备案未通过、未生效或已过期，或考试车型不在其准考车型内，可实时拦截',
  basis: 'domain.md §6 驾驶人考试：考试员未备案、过期或超出准考车型（B）；以备案库的备案状态、有效期与准考车型为准（未登记准考车型时不判车型）',
  when: [examKind],
  field: 'staffId',
  role: 'examiner',
  classField: 'licence.zjcx',
  // Bookings and other records without an examiner are not judged here.
  ifMissing: 'skip',
  explain: {
    not_found: '考试员{staffId|staff}未备案',
    not_approved: '考试员{staffId|staff}备案未审核通过',
    wrong_role: '{staffId|staff}备案身份为{filedRoleLabel}，未备案为考试员',
    not_yet_valid: '考试员{staffId|staff}备案自{validFrom}起生效，考试时尚未生效',
    expired: '考试员{staffId|staff}备案已于{validTo}过期',
    class_not_permitted: '考试员{staffId|staff}准考车型为{permittedClasses}，不含本次考试车型{licenceClass}',
  },
});

/** Sign-in photo does not match the archive photo (impersonation, 替考). */
export const examIdentityMismatch = defineRule({
  id: 'exam.identity_mismatch',
  kind: 'field_predicate',
  name: '考生身份比对不一致',
  family: 'exam',
  severity: 'high',
  action: 'hold',
  description: '考生签到照片与档案照片的人脸比对相似度低于阈值，疑似替考，可实时拦截',
  basis: 'domain.md §6 驾驶人考试：签到照片与档案身份不一致（B）；相似度阈值70（0–100）为建议值 [sugg]',
  when: [examKind],
  cases: [{ reason: 'mismatch', test: { op: 'cmp', left: { field: 'measurements.faceMatchScore' }, cmp: 'lt', right: { param: 'minScore' } } }],
  params: { minScore: 70 },
  explain: { mismatch: '考生{subject.masked}签到人脸比对相似度{measurements.faceMatchScore}，低于阈值{minScore}，疑似替考' },
});

/** Field exams (subjects 2 and 3) shorter than a fixed minimum when no route minimum is known. */
export const examShortDuration = defineRule({
  id: 'exam.short_duration',
  kind: 'duration',
  name: '考试用时过短',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '科目二、科目三考试从开始到结束的用时少于阈值（未上报路线最短用时时适用）',
  basis: 'domain.md §6 驾驶人考试：考试用时短于路线最短用时（W）；无路线数据时以300秒为建议值 [sugg]',
  when: [examKind, { op: 'in', field: 'ywlx', values: ['2', '3'] }, { op: 'absent', field: 'measurements.routeMinSeconds' }],
  from: 'startedAt',
  to: 'endedAt',
  params: { minSeconds: 300 },
  explain: { too_short: '科目{ywlx}考试用时{seconds}秒，少于阈值{minSeconds}秒' },
});

/** Exam or exam item shorter than the route's minimum. */
export const examBelowRouteMinimum = defineRule({
  id: 'exam.below_route_minimum',
  kind: 'field_predicate',
  name: '考试用时低于路线最短用时',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '考试或考试项目用时少于考试路线（项目）规定的最短用时',
  basis: 'domain.md §6 驾驶人考试：考试或项目用时短于路线最短用时（W）；最短用时由考试系统随记录上报 [sugg]',
  when: [examKind],
  cases: [
    {
      reason: 'below_route_minimum',
      test: { op: 'cmp', left: { derived: 'durationSeconds' }, cmp: 'lt', right: { field: 'measurements.routeMinSeconds' } },
    },
  ],
  explain: { below_route_minimum: '考试线路{counter}用时{durationSeconds}秒，少于路线最短用时{measurements.routeMinSeconds}秒' },
});

/** Frequent manual scoring / misjudgment retests by one examiner in a day. */
export const examManualScoring = defineRule({
  id: 'exam.manual_scoring',
  kind: 'window_count',
  name: '频繁人工评判',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '同一考试员一个自然日内人工评判或以误判为由复考的次数达到阈值',
  basis: 'domain.md §6 驾驶人考试：频繁人工评判或误判复考（W）；每名考试员每日≥5次为建议值 [sugg]',
  when: [examKind, { op: 'in', field: 'measurements.manualJudgement', values: [1] }],
  key: { prefix: 'examiner-manual-day', fields: ['staffId'], bucket: 'local_day' },
  compare: 'gte',
  params: { windowDays: 1, threshold: 5 },
  explain: { exceeded: '考试员{staffId|staff}当日第{count}次人工评判/误判复考，阈值{threshold}次' },
});

/** One examiner examining at two venues at the same time. */
export const examExaminerTwoVenues = defineRule({
  id: 'exam.examiner_two_venues',
  revision: 2,
  kind: 'overlap',
  name: '考试员同时在两个考场',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '同一考试员在两个考场的考试时段重叠，疑似考试员未到岗',
  basis: 'domain.md §6 驾驶人考试：一名考试员同时在两个考场（W）；重叠≥60秒为建议值 [sugg]',
  when: [examKind],
  // An exam centre (one institution) runs several venues (考场): the member is the venue when the
  // feed names it, so one examiner in two venues of the same centre is caught too.
  key: { prefix: 'examiner-venues', fields: ['staffId'] },
  member: [['institutionId', 'venue'], ['institutionId']],
  from: 'startedAt',
  to: 'endedAt',
  params: { minOverlapSeconds: 60 },
  explain: {
    overlapped: '考试员{staffId|staff}在{member|institution}考试期间同时在{otherMember|institution}考试（{otherStart|time}–{otherEnd|time}），重叠{overlapSeconds}秒，阈值{minOverlapSeconds}秒',
  },
});

/** Exam booked with fewer training hours than required. */
export const examInsufficientTraining = defineRule({
  id: 'exam.insufficient_training',
  kind: 'field_predicate',
  name: '培训学时不足预约考试',
  family: 'exam',
  severity: 'high',
  action: 'hold',
  description: '考生已完成的培训学时少于预约科目应完成的学时，可实时拦截',
  basis: 'domain.md §6 驾驶人考试：培训学时不足预约考试（B）；学时由驾培监管系统随预约记录上报 [sugg]',
  when: [examKind],
  cases: [
    {
      reason: 'insufficient',
      test: { op: 'cmp', left: { field: 'measurements.trainingHours' }, cmp: 'lt', right: { field: 'measurements.requiredHours' } },
    },
  ],
  explain: { insufficient: '考生{subject.masked}已完成培训{measurements.trainingHours}学时，少于规定的{measurements.requiredHours}学时' },
});

/** A venue's (or school's) pass rate far from its peers' (scheduled). */
export const examVenuePassRate = defineRule({
  id: 'exam.venue_pass_rate',
  kind: 'peer_deviation',
  name: '考场合格率偏离同类',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '考场（驾校）统计周期内的考试合格率与同类平均值相差超过阈值百分点（定时研判，计入考核）',
  basis: 'domain.md §6 驾驶人考试：按驾校/考场/考试员/考车合格率偏离>±15个百分点（W，考核）；周期30天、样本≥50次为建议值 [sugg]',
  entity: 'institutionId',
  peers: 'institution_type',
  metric: {
    type: 'rate',
    label: '考试合格率',
    denominator: [examKind, { op: 'in', field: 'outcome', values: ['pass', 'fail'] }],
    numerator: [{ op: 'in', field: 'outcome', values: ['pass'] }],
  },
  params: { periodDays: 30, method: 'pp', pp: 15, direction: 'both', minSamples: 50, minPeers: 2 },
  explain: {
    above: '考场{entity|institution}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，高出{deviationPpAbs}个百分点，阈值±{pp}',
    below: '考场{entity|institution}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，低{deviationPpAbs}个百分点，阈值±{pp}',
  },
});

/** An examiner's pass rate far from other examiners' (scheduled). */
export const examExaminerPassRate = defineRule({
  id: 'exam.examiner_pass_rate',
  kind: 'peer_deviation',
  name: '考试员合格率偏离同类',
  family: 'exam',
  severity: 'medium',
  action: 'warn',
  description: '考试员统计周期内评判的考试合格率与同类机构考试员平均值相差超过阈值百分点（定时研判）',
  basis: 'domain.md §6 驾驶人考试：考试员合格率偏离>±15个百分点（W，考核）；周期30天、样本≥30次为建议值 [sugg]',
  entity: 'staffId',
  peers: 'institution_type',
  metric: {
    type: 'rate',
    label: '考试合格率',
    denominator: [examKind, { op: 'in', field: 'outcome', values: ['pass', 'fail'] }],
    numerator: [{ op: 'in', field: 'outcome', values: ['pass'] }],
  },
  params: { periodDays: 30, method: 'pp', pp: 15, direction: 'both', minSamples: 30, minPeers: 3 },
  explain: {
    above: '考试员{entity|staff}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，高出{deviationPpAbs}个百分点，阈值±{pp}',
    below: '考试员{entity|staff}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，低{deviationPpAbs}个百分点，阈值±{pp}',
  },
});

export const EXAM_RULES = [
  examExaminerUnfiled,
  examIdentityMismatch,
  examShortDuration,
  examBelowRouteMinimum,
  examManualScoring,
  examExaminerTwoVenues,
  examInsufficientTraining,
  examVenuePassRate,
  examExaminerPassRate,
] as const;
