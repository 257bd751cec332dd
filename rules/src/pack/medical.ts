/** 体检 (driver medicals) family. */
import { defineRule } from '../engine/definition.js';

const medicalKind = { op: 'in' as const, field: 'kind' as const, values: ['medical'] };

/** More than 20 certificates per doctor per hour (hospital upload feed). */
export const medicalDoctorHourly = defineRule({
  id: 'medical.doctor_hourly',
  kind: 'window_count',
  name: '体检医生出具证明过快',
  family: 'medical',
  severity: 'medium',
  action: 'warn',
  description: '同一体检医生1小时内出具的驾驶人体检证明超过阈值，疑似未实际体检',
  basis: 'domain.md §6 体检：一名医生1小时内出具>20份体检证明（W）[sugg]；以医院体检上传（source medical）计数',
  when: [medicalKind, { op: 'in', field: 'source', values: ['medical'] }],
  key: { prefix: 'doctor-hour', fields: ['staffId'] },
  compare: 'gt',
  params: { windowHours: 1, threshold: 20 },
  explain: { exceeded: '体检医生{staffId|staff}近{windowHours}小时出具第{count}份体检证明，阈值{threshold}份' },
});

/** Medical certificates issued outside working time. */
export const medicalOffHours = defineRule({
  id: 'medical.off_hours',
  kind: 'calendar',
  name: '非工作时间出具体检证明',
  family: 'medical',
  severity: 'low',
  action: 'warn',
  description: '体检医生在工作时间以外、休息日或法定节假日出具驾驶人体检证明',
  basis: 'domain.md §6 体检：非工作时间出具体检证明（W）；工作时间同窗口工作时间 [sugg]',
  when: [medicalKind],
  explain: {
    outside_hours: '体检证明出具时间{date} {time}（{weekday}），不在工作时间{period}内',
    holiday: '体检证明出具时间{date} {time}（{weekday}）为法定节假日',
    rest_day: '体检证明出具时间{date} {time}（{weekday}）为休息日',
  },
});

/** Certificate by someone who is not a filed, valid doctor. */
export const medicalDoctorUnfiled = defineRule({
  id: 'medical.doctor_unfiled',
  kind: 'registry',
  target: 'staff',
  name: '体检医生未备案',
  family: 'medical',
  severity: 'high',
  action: 'warn',
  description: '出具体检证明的医生未在备案库中备案为体检医生、备案未通过、未生效或已过期',
  basis: 'domain.md §1/§6 事前备案：未备案或过期人员办理业务即为异常；以备案库为准',
  when: [medicalKind],
  field: 'staffId',
  role: 'doctor',
  explain: {
    missing: '体检记录未记录体检医生',
    not_found: '体检医生{staffId|staff}未备案',
    not_approved: '体检医生{staffId|staff}备案未审核通过',
    wrong_role: '{staffId|staff}备案身份为{filedRoleLabel}，未备案为体检医生',
    not_yet_valid: '体检医生{staffId|staff}备案自{validFrom}起生效，出具证明时尚未生效',
    expired: '体检医生{staffId|staff}备案已于{validTo}过期',
  },
});

export const MEDICAL_RULES = [medicalDoctorHourly, medicalOffHours, medicalDoctorUnfiled] as const;
