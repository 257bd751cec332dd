/** 互联网 (12123 online channel) family. */
import { defineRule } from '../engine/definition.js';

const onlineKind = { op: 'in' as const, field: 'kind' as const, values: ['online'] };

/** Five or more 12123 accounts from one device in a local day. */
export const onlineAccountsPerDevice = defineRule({
  id: 'online.accounts_per_device',
  kind: 'distinct_count',
  name: '同一设备登录多个12123账号',
  family: 'online',
  severity: 'medium',
  action: 'warn',
  description: '同一设备一个自然日内办理业务的12123账号数达到阈值，疑似代办或买分卖分',
  basis: 'domain.md §6 互联网：同一设备/IP一天≥5个12123账号（W）[sugg]',
  when: [onlineKind],
  key: { prefix: 'online-device-accounts', fields: ['deviceId'], bucket: 'local_day' },
  member: [['subject.idHash']],
  compare: 'gte',
  params: { windowDays: 1, threshold: 5 },
  explain: { exceeded: '设备{deviceId}当日第{count}个12123账号办理业务，阈值{threshold}个' },
});

/** Five or more 12123 accounts from one IP in a local day. */
export const onlineAccountsPerIp = defineRule({
  id: 'online.accounts_per_ip',
  kind: 'distinct_count',
  name: '同一IP登录多个12123账号',
  family: 'online',
  severity: 'medium',
  action: 'warn',
  description: '同一IP一个自然日内办理业务的12123账号数达到阈值，疑似代办或买分卖分',
  basis: 'domain.md §6 互联网：同一设备/IP一天≥5个12123账号（W）[sugg]',
  when: [onlineKind],
  key: { prefix: 'online-ip-accounts', fields: ['ip'], bucket: 'local_day' },
  member: [['subject.idHash']],
  compare: 'gte',
  params: { windowDays: 1, threshold: 5 },
  explain: { exceeded: 'IP {ip} 当日第{count}个12123账号办理业务，阈值{threshold}个' },
});

export const ONLINE_RULES = [onlineAccountsPerDevice, onlineAccountsPerIp] as const;
