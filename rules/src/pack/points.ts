/** 买分卖分 (points-for-sale) family. */
import { defineRule } from '../engine/definition.js';

const violationKind = { op: 'in' as const, field: 'kind' as const, values: ['violation'] };

/**
 * One driving licence absorbing violations of several vehicles its holder does not own
 * (points-for-sale, 买分卖分). A vehicle is identified by VIN, else by plate type + plate.
 */
export const pointsLicenceMultiVehicle = defineRule({
  id: 'points.licence_multi_vehicle',
  kind: 'distinct_count',
  name: '一证多车处理违法（疑似买分卖分）',
  family: 'points',
  severity: 'high',
  action: 'warn',
  description: '同一驾驶证在统计周期内为多辆非本人所有的车辆处理交通违法并记分，疑似买分卖分',
  basis:
    'domain.md §6 买分卖分：一个记分周期内一本驾驶证为≥3辆非本人车辆处理违法（W，后续B）；阈值3辆为建议值 [sugg]，' +
    '记分周期以365天滑动窗口近似',
  when: [
    violationKind,
    { op: 'present', field: 'licence.numberHash' },
    { op: 'present', field: 'vehicle' },
    { op: 'present', field: 'subject.idHash' },
    // Owner known and not the licence holder (both present and different).
    { op: 'ne_field', field: 'vehicle.ownerIdHash', other: 'subject.idHash' },
  ],
  key: { prefix: 'licence-vehicles', fields: ['licence.numberHash'] },
  member: [['vehicle.vin'], ['vehicle.hpzl', 'vehicle.hphm']],
  // "≥3 vehicles": the 3rd distinct vehicle fires, the 2nd does not.
  compare: 'gte',
  params: { windowDays: 365, threshold: 3 },
  explain: { exceeded: '驾驶证近{windowDays}天为{count}辆非本人车辆处理违法记分，阈值{threshold}辆' },
});

/** Repeated full-points study (满分学习) on one licence. */
export const pointsRepeatFullScore = defineRule({
  id: 'points.repeat_full_score',
  kind: 'window_count',
  name: '反复满分学习',
  family: 'points',
  severity: 'medium',
  action: 'warn',
  description: '同一驾驶证在统计周期内多次记满12分并参加满分学习，疑似替他人消分',
  basis: 'domain.md §6 买分卖分：反复记满12分并满分学习（W）；365天内第2次为建议值 [sugg]',
  when: [
    { op: 'in', field: 'kind', values: ['licence'] },
    { op: 'in', field: 'ywlx', values: ['F'] },
  ],
  key: { prefix: 'licence-full-score', fields: ['licence.numberHash'] },
  compare: 'gte',
  params: { windowDays: 365, threshold: 2 },
  explain: { exceeded: '同一驾驶证近{windowDays}天第{count}次满分学习，阈值{threshold}次' },
});

/** One agent handling violations for many licences. */
export const pointsAgentManyLicences = defineRule({
  id: 'points.agent_many_licences',
  kind: 'distinct_count',
  name: '代办人为多本驾驶证处理违法',
  family: 'points',
  severity: 'high',
  action: 'warn',
  description: '同一代办人在统计周期内为多本驾驶证代办违法处理，疑似买分卖分中介',
  basis: 'domain.md §6 买分卖分：同一代办人/电话/IP 30天内为≥5本驾驶证处理违法（W）[sugg]',
  when: [violationKind],
  key: { prefix: 'agent-violation-licences', fields: ['agent.idHash'] },
  member: [['licence.numberHash']],
  compare: 'gte',
  params: { windowDays: 30, threshold: 5 },
  explain: { exceeded: '代办人{agent.masked}近{windowDays}天为{count}本驾驶证处理违法，阈值{threshold}本' },
});

/** One phone number tied to violation handling for many licences. */
export const pointsPhoneManyLicences = defineRule({
  id: 'points.phone_many_licences',
  kind: 'distinct_count',
  name: '同一电话为多本驾驶证处理违法',
  family: 'points',
  severity: 'high',
  action: 'warn',
  description: '同一联系电话在统计周期内关联多本驾驶证的违法处理，疑似买分卖分中介',
  basis: 'domain.md §6 买分卖分：同一代办人/电话/IP 30天内为≥5本驾驶证处理违法（W）[sugg]',
  when: [violationKind],
  key: { prefix: 'phone-violation-licences', fields: ['phoneHash'] },
  member: [['licence.numberHash']],
  compare: 'gte',
  params: { windowDays: 30, threshold: 5 },
  explain: { exceeded: '同一联系电话近{windowDays}天关联{count}本驾驶证的违法处理，阈值{threshold}本' },
});

/** One internet IP handling violations for many licences (online channel only: counter IPs are police terminals). */
export const pointsIpManyLicences = defineRule({
  id: 'points.ip_many_licences',
  kind: 'distinct_count',
  name: '同一IP为多本驾驶证处理违法',
  family: 'points',
  severity: 'high',
  action: 'warn',
  description: '互联网渠道同一IP在统计周期内为多本驾驶证处理违法，疑似买分卖分中介',
  basis: 'domain.md §6 买分卖分：同一代办人/电话/IP 30天内为≥5本驾驶证处理违法（W）[sugg]；IP仅统计互联网渠道（窗口IP为业务专网终端）',
  when: [violationKind, { op: 'in', field: 'channel', values: ['internet'] }],
  key: { prefix: 'ip-violation-licences', fields: ['ip'] },
  member: [['licence.numberHash']],
  compare: 'gte',
  params: { windowDays: 30, threshold: 5 },
  explain: { exceeded: 'IP {ip} 近{windowDays}天为{count}本驾驶证处理违法，阈值{threshold}本' },
});

export const POINTS_RULES = [pointsLicenceMultiVehicle, pointsRepeatFullScore, pointsAgentManyLicences, pointsPhoneManyLicences, pointsIpManyLicences] as const;
