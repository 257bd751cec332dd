/** 买分卖分 (points) family. */
import { defineRule } from '../engine/definition.js';

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
    { op: 'in', field: 'kind', values: ['violation'] },
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

export const POINTS_RULES = [pointsLicenceMultiVehicle] as const;
