/**
 * 检验机构 (inspection station) family. Inspection records carrying measurements.filedMinSeconds
 * are item records (18C55/58); the others are whole tests (18C52/59).
 */
import { defineRule } from '../engine/definition.js';

const inspectionKind = { op: 'in' as const, field: 'kind' as const, values: ['inspection'] };
const wholeTest = { op: 'absent' as const, field: 'measurements.filedMinSeconds' as const };

/** A whole safety test shorter than any real test can be. */
export const inspectionShortTest = defineRule({
  id: 'inspection.short_test',
  kind: 'duration',
  name: '检验用时过短',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '一次安全技术检验从开始到结束的用时少于阈值，疑似未上线检验',
  basis: 'domain.md §6 检验机构：检验用时过短（W）；整车检验少于300秒为建议值 [sugg]',
  when: [inspectionKind, wholeTest],
  from: 'startedAt',
  to: 'endedAt',
  params: { minSeconds: 300 },
  explain: { too_short: '检验用时{seconds}秒，少于阈值{minSeconds}秒' },
});

/** An inspection item shorter than the minimum filed for its line and device. */
export const inspectionItemBelowMinimum = defineRule({
  id: 'inspection.item_below_minimum',
  kind: 'field_predicate',
  name: '检验项目用时低于备案最短用时',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '检验项目用时少于该检测线、设备备案的最短用时，可实时拦截',
  basis: 'domain.md §6 检验机构：检验项目用时短于该线、该设备备案的最短用时（B/W）；最短用时取自备案 [src: 18C55/58]，比对方式为建议 [sugg]',
  when: [inspectionKind],
  cases: [
    {
      reason: 'below_minimum',
      test: { op: 'cmp', left: { derived: 'durationSeconds' }, cmp: 'lt', right: { field: 'measurements.filedMinSeconds' } },
    },
  ],
  explain: { below_minimum: '检测线{counter}检验项目用时{durationSeconds}秒，少于备案最短用时{measurements.filedMinSeconds}秒' },
});

/** Two tests overlapping on one line (18C test start/end events). */
export const inspectionLineOverlap = defineRule({
  id: 'inspection.line_overlap',
  kind: 'overlap',
  name: '同一检测线检验时段重叠',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '同一检测线上两次检验的时段重叠超过阈值，疑似虚假检验或数据拼凑',
  basis: 'domain.md §6 检验机构：同一检测线检验时段重叠（W）；以检验监管接口（source 18c）的检验开始结束为准，重叠≥120秒为建议值 [sugg]',
  when: [inspectionKind, wholeTest, { op: 'in', field: 'source', values: ['18c'] }],
  key: { prefix: 'line-tests', fields: ['institutionId', 'counter'] },
  member: [['id']],
  from: 'startedAt',
  to: 'endedAt',
  params: { minOverlapSeconds: 120 },
  explain: { overlapped: '检测线{counter}本次检验与另一次检验（{otherStart|time}–{otherEnd|time}）重叠{overlapSeconds}秒，阈值{minOverlapSeconds}秒' },
});

/** More tests on a line in one day than its filed capacity. */
export const inspectionOverCapacity = defineRule({
  id: 'inspection.over_capacity',
  kind: 'window_count',
  name: '检测线日检验量超备案能力',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '同一检测线一个自然日内的检验次数超过备案检验能力',
  basis: 'domain.md §6 检验机构：日检验量超过备案能力（W）；以检验监管接口（source 18c）的整车检验计数，每线每日120次为建议值 [sugg]，应按备案能力配置',
  when: [inspectionKind, wholeTest, { op: 'in', field: 'source', values: ['18c'] }],
  key: { prefix: 'line-day', fields: ['institutionId', 'counter'], bucket: 'local_day' },
  compare: 'gt',
  params: { windowDays: 1, threshold: 120 },
  explain: { exceeded: '检测线{counter}当日第{count}次检验，超过备案能力{threshold}次' },
});

/** Test on a device whose calibration has expired. */
export const inspectionCalibrationExpired = defineRule({
  id: 'inspection.calibration_expired',
  kind: 'field_predicate',
  name: '检测设备检定过期',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '检验所用设备的检定/校准有效期已过，可实时拦截',
  basis: 'domain.md §6 检验机构：设备检定过期（B）；检定有效期以备案库中的设备备案为准，由来源系统随检验记录上传',
  when: [inspectionKind],
  cases: [
    {
      reason: 'expired',
      test: { op: 'cmp', left: { field: 'measurements.calibrationValidTo' }, cmp: 'lt', right: { field: 'occurredAt' } },
    },
  ],
  explain: { expired: '检测设备{deviceId|device}检定有效期至{measurements.calibrationValidTo|date}，检验时已过期' },
});

/**
 * Plate types (号牌种类) of large vehicles: many axles, so a result carries many values, and a
 * short vector (one axle of a fleet of identical lorries) says little. Every other plate type
 * (cars, motorcycles, low-speed vehicles, tractors) is compared from two values on.
 */
const LARGE_HPZL = ['01', '15', '51'];
const IDENTICAL_EXCLUDE = ['filedMinSeconds', 'calibrationValidTo', 'photoTakenAt', 'insuranceValidTo'] as const;

/**
 * Identical measurement vectors on different vehicles of one plate type at one station within a
 * day: whatever vector a result carries (a single axle's left/right brake force is two values).
 */
export const inspectionIdenticalMeasurements = defineRule({
  id: 'inspection.identical_measurements',
  revision: 2,
  kind: 'fingerprint',
  name: '不同车辆检验数据完全相同',
  family: 'inspection',
  severity: 'high',
  action: 'warn',
  description: '同一检验机构24小时内同一号牌种类的不同车辆检验数据（制动、灯光、侧滑、排放等，有几项比几项）完全相同，疑似数据套用',
  basis:
    'domain.md §6 检验机构：不同车辆同日检验数据完全相同（W，高）；按号牌种类分组比较，小型汽车、摩托车等至少2项数据（单轴左右制动力），' +
    '大型汽车、挂车见下一条规则；同一机构、24小时内为建议值 [sugg]',
  when: [inspectionKind, wholeTest, { op: 'not_in', field: 'vehicle.hpzl', values: LARGE_HPZL }],
  key: { prefix: 'inspection-values', fields: ['institutionId', 'vehicle.hpzl'] },
  source: { from: 'measurements', exclude: [...IDENTICAL_EXCLUDE], minValues: 2 },
  owner: [['vehicle.vin'], ['vehicle.hpzl', 'vehicle.hphm']],
  params: { windowHours: 24 },
  explain: { reused: '检验数据与同类车辆{otherAt|datetime}的检验数据完全相同' },
});

/** The same for large vehicles and trailers, whose results carry a value per axle and side. */
export const inspectionIdenticalMeasurementsLarge = defineRule({
  id: 'inspection.identical_measurements_large',
  kind: 'fingerprint',
  name: '不同大型车辆检验数据完全相同',
  family: 'inspection',
  severity: 'high',
  action: 'warn',
  description: '同一检验机构24小时内同一号牌种类的不同大型汽车、挂车检验数据完全相同，疑似数据套用',
  basis: 'domain.md §6 检验机构：不同车辆同日检验数据完全相同（W，高）；大型汽车、挂车（号牌种类01、15、51）至少4项数据，同一车队的单轴数据相近 [sugg]',
  when: [inspectionKind, wholeTest, { op: 'in', field: 'vehicle.hpzl', values: LARGE_HPZL }],
  key: { prefix: 'inspection-values-large', fields: ['institutionId', 'vehicle.hpzl'] },
  source: { from: 'measurements', exclude: [...IDENTICAL_EXCLUDE], minValues: 4 },
  owner: [['vehicle.vin'], ['vehicle.hpzl', 'vehicle.hphm']],
  params: { windowHours: 24 },
  explain: { reused: '检验数据与同类车辆{otherAt|datetime}的检验数据完全相同' },
});

/** A device (instrument, line equipment) not filed for the station, not valid or past calibration. */
export const inspectionDeviceUnfiled = defineRule({
  id: 'inspection.device_unfiled',
  kind: 'registry',
  target: 'device',
  name: '检测设备未备案或检定过期',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '检验项目所用设备未在本机构备案、备案未生效或已过期，或备案库中的检定有效期已过，可实时拦截',
  basis: 'domain.md §6 检验机构：设备检定过期、机构/检测线/设备须备案（B）；以备案库中业务发生时的设备备案版本为准，未录入任何设备备案的机构不判断 [sugg]',
  when: [inspectionKind],
  field: 'deviceId',
  explain: {
    not_found: '检测设备{deviceId|device}未备案',
    not_approved: '检测设备{deviceId|device}备案未通过',
    other_institution: '检测设备{deviceId|device}备案于其他机构{filedInstitution|institution}',
    not_yet_valid: '检测设备{deviceId|device}备案自{validFrom}起生效，检验时尚未生效',
    expired: '检测设备{deviceId|device}备案有效期至{validTo}，检验时已过期',
    calibration_expired: '检测设备{deviceId|device}备案的检定有效期至{calibrationValidTo}，检验时已过期',
  },
});

/** The same inspection photo (hash) used for different vehicles. */
export const inspectionPhotoReuse = defineRule({
  id: 'inspection.photo_reuse',
  kind: 'fingerprint',
  name: '检验照片套用',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '检验照片的哈希与其他车辆检验照片相同，疑似套用照片，可实时拦截',
  basis: 'domain.md §6 机动车查验/检验机构：同一照片哈希出现在不同车辆（B）；比对期365天为建议值 [sugg]',
  when: [inspectionKind],
  key: { prefix: 'inspection-photos', fields: [] },
  source: { from: 'evidence' },
  owner: [['vehicle.vin'], ['vehicle.hpzl', 'vehicle.hphm']],
  params: { windowDays: 365 },
  explain: { reused: '{reused}张检验照片与另一车辆{otherAt|date}的检验照片相同，疑似套用照片' },
});

/** Tests at night, whatever the day. */
export const inspectionNightTest = defineRule({
  id: 'inspection.night_test',
  kind: 'calendar',
  mode: 'night',
  name: '夜间检验',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '在夜间时段进行机动车安全技术检验',
  basis: 'domain.md §6 检验机构：夜间检验（W）；夜间时段22:00–06:00为建议值 [sugg]',
  when: [inspectionKind],
  params: { nightStart: '22:00', nightEnd: '06:00' },
  explain: { night: '检验时间{date} {time}（{weekday}）处于夜间时段{nightBand}' },
});

/** Photo taken outside the item's start–end window. */
export const inspectionPhotoOutsideWindow = defineRule({
  id: 'inspection.photo_outside_window',
  kind: 'field_predicate',
  name: '检验照片拍摄时间异常',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '检验照片的拍摄时间早于检验开始或晚于检验结束',
  basis: 'domain.md §6 检验机构：照片时间不在检验项目时段内（W）；以照片拍摄时间与检验开始结束时间直接比较 [sugg]',
  when: [inspectionKind],
  cases: [
    { reason: 'before_start', test: { op: 'cmp', left: { field: 'measurements.photoTakenAt' }, cmp: 'lt', right: { field: 'startedAt' } } },
    { reason: 'after_end', test: { op: 'cmp', left: { field: 'measurements.photoTakenAt' }, cmp: 'gt', right: { field: 'endedAt' } } },
  ],
  explain: {
    before_start: '照片拍摄于{measurements.photoTakenAt|time}，早于检验开始{startedAt|time}',
    after_end: '照片拍摄于{measurements.photoTakenAt|time}，晚于检验结束{endedAt|time}',
  },
});

/** Inspection sticker without valid compulsory insurance. */
export const inspectionInsuranceMissing = defineRule({
  id: 'inspection.insurance_missing',
  kind: 'field_predicate',
  name: '无有效交强险核发合格标志',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '核发检验合格标志时车辆无有效交强险，可实时拦截',
  basis: 'domain.md §6 检验机构：交强险缺失不得核发合格标志（B）；以来源系统查询的交强险有效期为准，0表示未查询到保单 [sugg]',
  when: [inspectionKind, { op: 'in', field: 'ywlx', values: ['P'] }],
  cases: [
    { reason: 'none', test: { op: 'cmp', left: { field: 'measurements.insuranceValidTo' }, cmp: 'lte', right: { value: 0 } } },
    { reason: 'expired', test: { op: 'cmp', left: { field: 'measurements.insuranceValidTo' }, cmp: 'lt', right: { field: 'occurredAt' } } },
  ],
  explain: {
    none: '未查询到有效交强险保单，不得核发检验合格标志',
    expired: '交强险已于{measurements.insuranceValidTo|date}到期，不得核发检验合格标志',
  },
});

/** Inspection or check business by an unfiled or suspended institution. */
export const inspectionStationSuspended = defineRule({
  id: 'inspection.station_suspended',
  kind: 'registry',
  target: 'institution',
  name: '暂停或未备案机构上传数据',
  family: 'inspection',
  severity: 'high',
  action: 'hold',
  description: '未备案或已被暂停业务的检验机构、登记服务站仍在上传检验或查验数据，可实时拦截',
  basis: 'domain.md §6 检验机构：被暂停的机构/检测线仍在上传（B）；以备案库机构状态为准',
  when: [{ op: 'in', field: 'kind', values: ['inspection', 'check'] }],
  explain: {
    not_found: '机构{institutionId}未备案，仍在上传检验/查验数据',
    suspended: '机构{institutionName}（{institutionId}）已暂停业务，仍在上传检验/查验数据',
  },
});

/** A station's pass rate far from its peers' (scheduled). */
export const inspectionPassRateDeviation = defineRule({
  id: 'inspection.pass_rate_deviation',
  kind: 'peer_deviation',
  name: '检验合格率偏离同类机构',
  family: 'inspection',
  severity: 'medium',
  action: 'warn',
  description: '检验机构统计周期内的检验合格率偏离同类机构平均值2个标准差以上（定时研判，计入考核）',
  basis: 'domain.md §6 检验机构：合格率远离区域均值（W，考核）；2σ、周期30天、样本≥50次为建议值 [sugg]',
  entity: 'institutionId',
  peers: 'institution_type',
  metric: {
    type: 'rate',
    label: '检验合格率',
    denominator: [inspectionKind, wholeTest, { op: 'in', field: 'outcome', values: ['pass', 'fail'] }],
    numerator: [{ op: 'in', field: 'outcome', values: ['pass'] }],
  },
  params: { periodDays: 30, method: 'sigma', k: 2, direction: 'both', minSamples: 50, minPeers: 3 },
  explain: {
    above: '机构{entity|institution}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，高出{z}个标准差，阈值{k}',
    below: '机构{entity|institution}近{periodDays}天{metric}{value}%，同类平均{peerMean}%，低{zAbs}个标准差，阈值{k}',
  },
});

export const INSPECTION_RULES = [
  inspectionShortTest,
  inspectionItemBelowMinimum,
  inspectionLineOverlap,
  inspectionOverCapacity,
  inspectionCalibrationExpired,
  inspectionIdenticalMeasurements,
  inspectionIdenticalMeasurementsLarge,
  inspectionDeviceUnfiled,
  inspectionPhotoReuse,
  inspectionNightTest,
  inspectionPhotoOutsideWindow,
  inspectionInsuranceMissing,
  inspectionStationSuspended,
  inspectionPassRateDeviation,
] as const;
