/** 机动车登记 (vehicle registration) family. Vehicles are identified by VIN only: plates are reused. */
import { defineRule } from '../engine/definition.js';

const vehicleKind = { op: 'in' as const, field: 'kind' as const, values: ['vehicle'] };

/** Three or more transfers of one VIN in 12 months. */
export const vehicleFrequentTransfer = defineRule({
  id: 'vehicle.frequent_transfer',
  kind: 'window_count',
  name: '车辆频繁转移登记',
  family: 'vehicle',
  severity: 'medium',
  action: 'warn',
  description: '同一车辆（车辆识别代号）12个月内转移登记次数达到阈值',
  basis: 'domain.md §6 机动车登记：同一VIN 12个月内转移登记≥3次（W）[sugg]',
  when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['B'] }],
  key: { prefix: 'vin-transfers', fields: ['vehicle.vin'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 3 },
  explain: { exceeded: '同一车辆近{windowDays}天第{count}次转移登记，阈值{threshold}次' },
});

/** Transfer within 90 days of first registration. */
export const vehicleTransferAfterRegistration = defineRule({
  id: 'vehicle.transfer_after_registration',
  kind: 'sequence',
  name: '新车注册后短期内转移',
  family: 'vehicle',
  severity: 'medium',
  action: 'warn',
  description: '车辆注册登记后在阈值天数内即办理转移登记，疑似借名购车、套取补贴或倒卖',
  basis: 'domain.md §6 机动车登记：注册登记后90天内转移登记（W）[sugg]',
  mode: 'present',
  key: { prefix: 'vin-reg-transfer', fields: ['vehicle.vin'] },
  first: { event: 'registered', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['A'] }] },
  then: { event: 'transferred', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['B'] }] },
  params: { windowDays: 90 },
  explain: { followed: '车辆于{firstAt|date}注册登记，{elapsedDays}天后即办理转移登记，阈值{windowDays}天' },
});

/** Two or more plate/licence/certificate replacements of one VIN in 12 months. */
export const vehicleFrequentReplacement = defineRule({
  id: 'vehicle.frequent_replacement',
  kind: 'window_count',
  name: '频繁补换牌证',
  family: 'vehicle',
  severity: 'medium',
  action: 'warn',
  description: '同一车辆12个月内补换号牌、行驶证、合格标志或登记证书的次数达到阈值',
  basis: 'domain.md §6 机动车登记：12个月内补换牌证≥2次（W）[sugg]',
  when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['K', 'L'] }],
  key: { prefix: 'vin-replacements', fields: ['vehicle.vin'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 2 },
  explain: { exceeded: '同一车辆近{windowDays}天第{count}次补换牌证，阈值{threshold}次' },
});

/** First registration of a vehicle whose type approval has been revoked. */
export const vehicleApprovalRevoked = defineRule({
  id: 'vehicle.approval_revoked',
  kind: 'field_predicate',
  name: '公告撤销车辆注册登记',
  family: 'vehicle',
  severity: 'high',
  action: 'hold',
  description: '为产品公告（型式批准）已撤销的车辆办理注册登记，可实时拦截',
  basis: 'domain.md §6 机动车登记：为公告已撤销的车辆注册登记（B）；以来源系统查询的公告状态为准 [sugg]',
  when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['A'] }],
  cases: [{ reason: 'revoked', test: { op: 'in', field: 'vehicle.approvalRevoked', values: [true] } }],
  explain: { revoked: '车辆产品公告已撤销，不得办理注册登记' },
});

/** Deregistration followed by restoration of the same VIN. */
export const vehicleDeregRestored = defineRule({
  id: 'vehicle.dereg_restored',
  kind: 'sequence',
  name: '注销后又恢复',
  family: 'vehicle',
  severity: 'medium',
  action: 'warn',
  description: '车辆注销登记后又办理注销恢复，须核查注销与恢复的理由',
  basis: 'domain.md §6 机动车登记：注销后恢复（W，核查）；追溯期2年为建议值 [sugg]',
  mode: 'present',
  key: { prefix: 'vin-dereg-restore', fields: ['vehicle.vin'] },
  first: { event: 'deregistered', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['G'] }] },
  then: { event: 'restored', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['U'] }] },
  params: { windowDays: 730 },
  explain: { followed: '车辆于{firstAt|date}注销登记，{elapsedDays}天后办理注销恢复，须核查' },
});

/** One person taking "good" plate numbers repeatedly. */
export const vehicleGoodPlateRepeat = defineRule({
  id: 'vehicle.good_plate_repeat',
  kind: 'window_count',
  name: '同一人多次选取靓号',
  family: 'vehicle',
  severity: 'high',
  action: 'hold',
  description: '同一申请人在统计周期内多次在注册登记时选得靓号（尾号三同、四连同号），疑似号牌倒卖',
  basis: 'domain.md §6 机动车登记：同一人/商户/IP反复选取靓号（B）；靓号规则与阈值（365天内第2次）为建议值 [sugg]',
  when: [
    vehicleKind,
    { op: 'in', field: 'ywlx', values: ['A'] },
    { op: 'matches', field: 'vehicle.hphm', pattern: '(\\d)\\1\\1$|(\\d)\\2\\2\\2' },
  ],
  key: { prefix: 'good-plates', fields: ['subject.idHash'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 2 },
  explain: { exceeded: '申请人{subject.masked}近{windowDays}天第{count}次选得靓号，阈值{threshold}次' },
});

/** Three or more temporary plates for one VIN. */
export const vehicleTempPlateRepeat = defineRule({
  id: 'vehicle.temp_plate_repeat',
  kind: 'window_count',
  name: '同一车辆多次核发临时号牌',
  family: 'vehicle',
  severity: 'high',
  action: 'hold',
  description: '同一车辆在统计周期内申领临时号牌的次数达到阈值，可实时拦截',
  basis: 'domain.md §6 机动车登记：同一VIN临时号牌≥3次（B）；统计周期365天为建议值 [sugg]',
  when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['O'] }],
  key: { prefix: 'vin-temp-plates', fields: ['vehicle.vin'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 3 },
  explain: { exceeded: '同一车辆近{windowDays}天第{count}次申领临时号牌，阈值{threshold}次' },
});

/** Temporary plate for a vehicle that has already been registered. */
export const vehicleTempPlateRegistered = defineRule({
  id: 'vehicle.temp_plate_registered',
  kind: 'sequence',
  name: '已注册车辆申领临时号牌',
  family: 'vehicle',
  severity: 'high',
  action: 'hold',
  description: '已办理注册登记的车辆又申领临时号牌，可实时拦截',
  basis: 'domain.md §6 机动车登记：为已登记车辆核发临时号牌（B）；以本系统记录的注册登记为准，追溯10年 [sugg]',
  mode: 'present',
  key: { prefix: 'vin-reg-temp', fields: ['vehicle.vin'] },
  first: { event: 'registered', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['A'] }] },
  then: { event: 'temp_plate', when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['O'] }] },
  params: { windowDays: 3650 },
  explain: { followed: '车辆已于{firstAt|date}注册登记，仍申领临时号牌' },
});

/** Frequent change registrations (colour, engine, body…) of one VIN. */
export const vehicleFrequentChanges = defineRule({
  id: 'vehicle.frequent_changes',
  kind: 'window_count',
  name: '车辆频繁变更登记',
  family: 'vehicle',
  severity: 'low',
  action: 'warn',
  description: '同一车辆12个月内变更登记（颜色、发动机、车身等）次数达到阈值',
  basis: 'domain.md §6 机动车登记：频繁变更颜色/发动机/车身（W）；12个月内≥3次为建议值 [sugg]',
  when: [vehicleKind, { op: 'in', field: 'ywlx', values: ['D'] }],
  key: { prefix: 'vin-changes', fields: ['vehicle.vin'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 3 },
  explain: { exceeded: '同一车辆近{windowDays}天第{count}次变更登记，阈值{threshold}次' },
});

export const VEHICLE_RULES = [
  vehicleFrequentTransfer,
  vehicleTransferAfterRegistration,
  vehicleFrequentReplacement,
  vehicleApprovalRevoked,
  vehicleDeregRestored,
  vehicleGoodPlateRepeat,
  vehicleTempPlateRepeat,
  vehicleTempPlateRegistered,
  vehicleFrequentChanges,
] as const;
