/** 申请人与代办 (agent) family. */
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

export const AGENT_RULES = [agentFrequent] as const;
