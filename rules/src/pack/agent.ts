/** 申请人与代办 (applicants and agents) family. */
import { defineRule } from '../engine/definition.js';

/** One agent (代办人) acting in more than `threshold` vehicle/licence transactions in the window. */
export const agentFrequent = defineRule({
  id: 'agent.frequent',
  kind: 'window_count',
  name: '代办人频繁代办',
  family: 'agent',
  severity: 'medium',
  action: 'warn',
  description: '同一代办人在统计周期内代办机动车或驾驶证业务次数超过阈值，疑似职业代办（黄牛）',
  basis: 'domain.md §6 申请人与代办：代办超过5次为实际系统默认值 [src]（4次提醒、5次自动列入黑名单）；统计周期30天为建议值 [sugg]',
  when: [
    { op: 'present', field: 'agent.idHash' },
    { op: 'in', field: 'kind', values: ['vehicle', 'licence'] },
  ],
  key: { prefix: 'agent', fields: ['agent.idHash'] },
  // "more than 5": the 6th business in the window fires, the 5th does not.
  compare: 'gt',
  params: { windowDays: 30, threshold: 5 },
  explain: { exceeded: '代办人{agent.masked}近{windowDays}天第{count}次代办，阈值{threshold}次' },
});

/** First registration or transfer to an applicant aged 80 or more (nominee owner, 挂名车主). */
export const agentElderlyApplicant = defineRule({
  id: 'agent.elderly_applicant',
  kind: 'field_predicate',
  name: '高龄申请人办理注册或转移登记',
  family: 'agent',
  severity: 'medium',
  action: 'warn',
  description: '注册登记或转移登记的申请人年龄达到阈值，疑似挂名车主',
  basis: 'domain.md §6 申请人与代办：申请人年满80周岁办理注册登记/转移登记为实际系统规则 [src]（W）；年龄按业务发生年份减出生年份计算',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle'] },
    { op: 'in', field: 'ywlx', values: ['A', 'B'] },
  ],
  cases: [{ reason: 'elderly', test: { op: 'cmp', left: { derived: 'subjectAge' }, cmp: 'gte', right: { param: 'minAge' } } }],
  params: { minAge: 80 },
  explain: { elderly: '申请人{subject.masked}办理{ywlx}类业务时{subjectAge}岁，达到阈值{minAge}岁，疑似挂名车主' },
});

/** Applicant or agent on the person black list. */
export const agentBlacklisted = defineRule({
  id: 'agent.blacklisted',
  kind: 'registry',
  target: 'listing',
  name: '黑名单人员办理业务',
  family: 'agent',
  severity: 'high',
  action: 'hold',
  description: '申请人或代办人在黑名单中，可实时拦截',
  basis: 'domain.md §5/§6 申请人与代办：黑名单人员为申请人或代办人（B）；名单以备案库的黑名单及其有效期为准',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'online'] }],
  list: 'person_black',
  fields: [
    { field: 'agent.idHash', label: '代办人' },
    { field: 'subject.idHash', label: '申请人' },
  ],
  explain: { listed: '{who}{masked}在{listName}中（{note}）' },
});

/** Red-listed agent limited to its own organisation acting elsewhere. */
export const agentRedListOutsideOrg = defineRule({
  id: 'agent.red_list_outside_org',
  kind: 'registry',
  target: 'red_list',
  name: '红名单代办人超范围代办',
  family: 'agent',
  severity: 'high',
  action: 'hold',
  description: '限本单位代办的红名单代办人在其他单位（机构）代办业务，可实时拦截',
  basis: 'domain.md §5/§6 申请人与代办：红名单代办人超出所属单位代办（B）；以备案库红名单的所属单位与代办范围为准',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence'] }],
  field: 'agent.idHash',
  explain: { outside_org: '红名单代办人{agent.masked}限在{organisationId|institution}代办，却在{institutionId|institution}代办业务' },
});

/** One contact phone tied to many different applicants. */
export const agentPhoneShared = defineRule({
  id: 'agent.phone_shared',
  kind: 'distinct_count',
  name: '同一电话关联多名申请人',
  family: 'agent',
  severity: 'medium',
  action: 'warn',
  description: '同一联系电话在统计周期内关联的不同申请人数达到阈值，疑似代办黄牛',
  basis: 'domain.md §6 申请人与代办：一个电话号码30天内关联≥5名不相关申请人（W）[sugg]',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence'] }],
  key: { prefix: 'phone-applicants', fields: ['phoneHash'] },
  member: [['subject.idHash']],
  compare: 'gte',
  params: { windowDays: 30, threshold: 5 },
  explain: { exceeded: '同一联系电话近{windowDays}天关联{count}名申请人，阈值{threshold}名' },
});

export const AGENT_RULES = [agentFrequent, agentElderlyApplicant, agentBlacklisted, agentRedListOutsideOrg, agentPhoneShared] as const;
