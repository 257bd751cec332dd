/** 机动车查验 (check) family. */
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
    not_found: '查验员{staffId}未备案',
    not_approved: '查验员{staffId}备案未审核通过',
    wrong_role: '{staffId}备案身份为{filedRoleLabel}，未备案为查验员',
    not_yet_valid: '查验员{staffId}备案自{validFrom}起生效，业务发生时尚未生效',
    expired: '查验员{staffId}备案已于{validTo}过期',
  },
});

export const CHECK_RULES = [checkShortDuration, checkInspectorUnfiled] as const;
