/** 机动车查验 (vehicle check) family. */
import { defineRule } from '../engine/definition.js';

/** A passenger-car check finished faster than a real check can be done. */
export const checkShortDuration = defineRule({
  id: 'check.short_duration',
  kind: 'duration',
  name: '查验用时过短',
  family: 'check',
  severity: 'medium',
  action: 'warn',
  description: '小型汽车（含小型新能源汽车）查验从开始到结束的用时少于阈值，疑似未实际查验',
  basis: 'domain.md §6 机动车查验：小型汽车查验用时少于约3分钟（W）；阈值180秒为建议值 [sugg]',
  when: [
    { op: 'in', field: 'kind', values: ['check'] },
    { op: 'in', field: 'vehicle.hpzl', values: ['02', '52'] },
  ],
  from: 'startedAt',
  to: 'endedAt',
  params: { minSeconds: 180 },
  explain: { too_short: '查验用时{seconds}秒，少于阈值{minSeconds}秒' },
});

/** Check or inspection done by someone who is not a filed, currently valid inspector. */
export const checkInspectorUnfiled = defineRule({
  id: 'check.inspector_unfiled',
  kind: 'registry',
  name: '查验员未备案或备案过期',
  family: 'check',
  severity: 'high',
  action: 'hold',
  description: '查验或检验业务的经办人未在备案库中备案为查验员、备案未通过审核、尚未生效或已过期，可实时拦截',
  basis: 'domain.md §6 机动车查验/检验机构：查验员未备案或备案过期（B）、人员未备案或资格过期（B）；以备案库的备案状态与有效期为准',
  when: [{ op: 'in', field: 'kind', values: ['check', 'inspection'] }],
  target: 'staff',
  field: 'staffId',
  role: 'inspector',
  explain: {
    missing: '未记录查验员',
    not_found: '查验员{staffId|staff}未备案',
    not_approved: '查验员{staffId|staff}备案未审核通过',
    wrong_role: '{staffId|staff}备案身份为{filedRoleLabel}，未备案为查验员',
    not_yet_valid: '查验员{staffId|staff}备案自{validFrom}起生效，业务发生时尚未生效',
    expired: '查验员{staffId|staff}备案已于{validTo}过期',
  },
});

/** One inspector checking on two lanes at overlapping times (check A/V events). */
export const checkInspectorTwoLanes = defineRule({
  id: 'check.inspector_two_lanes',
  kind: 'overlap',
  name: '查验员同时在两个查验通道',
  family: 'check',
  severity: 'medium',
  action: 'warn',
  description: '同一查验员在两个查验通道的查验时段重叠，疑似代签、未到场查验',
  basis: 'domain.md §6 机动车查验：一名查验员同一时段在两个通道查验（W）；以查验音视频事件（source check_av）的开始结束时间为准，重叠≥60秒为建议值 [sugg]',
  when: [
    { op: 'in', field: 'kind', values: ['check'] },
    { op: 'in', field: 'source', values: ['check_av'] },
  ],
  key: { prefix: 'inspector-lanes', fields: ['staffId'] },
  member: [['counter']],
  from: 'startedAt',
  to: 'endedAt',
  params: { minOverlapSeconds: 60 },
  explain: {
    overlapped: '查验员{staffId|staff}在通道{member}查验期间，同时在通道{otherMember}查验（{otherStart|time}–{otherEnd|time}），重叠{overlapSeconds}秒，阈值{minOverlapSeconds}秒',
  },
});

/** The same check photo (hash) used for different vehicles. */
export const checkPhotoReuse = defineRule({
  id: 'check.photo_reuse',
  kind: 'fingerprint',
  name: '查验照片套用',
  family: 'check',
  severity: 'high',
  action: 'hold',
  description: '查验照片的哈希与其他车辆查验照片相同，疑似套用照片，可实时拦截',
  basis: 'domain.md §6 机动车查验：同一照片哈希出现在不同VIN（B）；比对期365天为建议值 [sugg]',
  when: [{ op: 'in', field: 'kind', values: ['check'] }],
  key: { prefix: 'check-photos', fields: [] },
  source: { from: 'evidence' },
  owner: [['vehicle.vin'], ['vehicle.hpzl', 'vehicle.hphm']],
  params: { windowDays: 365 },
  explain: { reused: '{reused}张查验照片与另一车辆{otherAt|date}的查验照片相同，疑似套用照片' },
});

/** One business number checked three times or more. */
export const checkRepeatedChecks = defineRule({
  id: 'check.repeated_checks',
  kind: 'window_count',
  name: '同一业务多次查验',
  family: 'check',
  severity: 'low',
  action: 'warn',
  description: '同一业务流水号查验次数达到阈值，疑似反复查验直至通过',
  basis: 'domain.md §6 机动车查验：同一业务流水号查验≥3次（W）；统计周期30天为建议值 [sugg]',
  when: [{ op: 'in', field: 'kind', values: ['check'] }],
  key: { prefix: 'lsh-checks', fields: ['lsh'] },
  compare: 'gte',
  params: { windowDays: 30, threshold: 3 },
  explain: { exceeded: '业务流水号{lsh}近{windowDays}天第{count}次查验，阈值{threshold}次' },
});

/** VIN on the vehicle-check black list. */
export const checkVinBlacklisted = defineRule({
  id: 'check.vin_blacklisted',
  kind: 'registry',
  target: 'listing',
  name: '查验黑名单车辆',
  family: 'check',
  severity: 'high',
  action: 'hold',
  description: '被查验车辆的车辆识别代号在查验黑名单中，可实时拦截',
  basis: 'domain.md §6 机动车查验：VIN在查验黑名单中（B）；名单以备案库查验黑名单为准',
  when: [{ op: 'in', field: 'kind', values: ['check'] }],
  list: 'vin_check_black',
  fields: [{ field: 'vehicle.vin', label: '车辆' }],
  explain: { listed: '车辆识别代号{vehicle.vin}在{listName}中（{note}）' },
});

/** A station's remote-review rejection rate far above its peers (scheduled). */
export const checkReviewRejectionOutlier = defineRule({
  id: 'check.review_rejection_outlier',
  kind: 'peer_deviation',
  name: '查验远程审核退回率偏高',
  family: 'check',
  severity: 'medium',
  action: 'warn',
  description: '机构查验业务远程审核退回率高于同类机构平均值2个标准差以上（定时研判，计入考核）',
  basis: 'domain.md §6 机动车查验：远程审核退回率>同类均值+2σ（W，考核）；周期30天、样本≥30笔为建议值 [sugg]',
  entity: 'institutionId',
  peers: 'institution_type',
  metric: {
    type: 'rate',
    label: '远程审核退回率',
    denominator: [{ op: 'in', field: 'kind', values: ['check'] }],
    numerator: [{ op: 'in', field: 'outcome', values: ['refused'] }],
  },
  params: { periodDays: 30, method: 'sigma', k: 2, direction: 'above', minSamples: 30, minPeers: 3 },
  explain: { above: '机构{entity|institution}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，高出{z}个标准差，阈值{k}' },
});

export const CHECK_RULES = [
  checkShortDuration,
  checkInspectorUnfiled,
  checkInspectorTwoLanes,
  checkPhotoReuse,
  checkRepeatedChecks,
  checkVinBlacklisted,
  checkReviewRejectionOutlier,
] as const;
