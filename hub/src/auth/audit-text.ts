/**
 * The audit log in words, for its exports: the action and object kinds by name (the shared list in
 * @jianguan/protocol) and a row's detail as `键：值` lines instead of the stored JSON. Nothing is
 * dropped: a key without a Chinese name keeps its own, a value that is not a known code is written
 * as it is (nested values as compact JSON), and a detail that is not JSON is returned unchanged.
 */
import { COUNTY_BY_CODE } from '@jianguan/rules';
import { auditActionName, AUDIT_TARGET_TYPES, CONCLUSION_LABELS, DISPOSAL_LABELS, ROLE_LABELS, WARNING_STEP_NAMES } from '../protocol/index.js';

export function auditActionText(code: string): string {
  return auditActionName(code)[0];
}

export function auditTargetTypeText(type: string): string {
  return AUDIT_TARGET_TYPES[type]?.[0] ?? type;
}

/** Chinese names of the keys the hub puts in audit details. */
const KEYS: Readonly<Record<string, string>> = {
  type: '动作',
  expectedSeq: '预期版本号',
  assignee: '分派给',
  comment: '说明',
  conclusion: '结论',
  disposal: '处置措施',
  refs: '关联文书',
  approve: '审核通过',
  count: '条数',
  name: '名称',
  size: '大小（字节）',
  keyFingerprint: '密钥指纹',
  reason: '原因',
  displayName: '姓名',
  roles: '角色',
  scope: '范围',
  institutions: '机构',
  active: '启用',
  passwordReset: '重置密码',
  version: '版本',
  live: '现行版本',
  base: '基于版本',
  diff: '变更',
  from: '起',
  to: '止',
  state: '状态',
  month: '月份',
  raised: '产生预警',
  findings: '发现',
  items: '条目数',
  counties: '区县',
  effectiveFrom: '生效时间',
  effectiveTo: '失效时间',
  entity: '备案类别',
  rows: '行数',
  encoding: '编码',
  headerRow: '表头行',
  decision: '判定',
  institutionId: '机构编号',
  requestId: '请求编号',
  code: '代码',
  message: '信息',
  error: '错误',
};

const STEP: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(WARNING_STEP_NAMES).map(([k, [zh]]) => [k, zh]));
const DECISIONS: Readonly<Record<string, string>> = { allow: '放行', hold: '拦截', warn: '预警放行' };

function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function valueText(key: string, v: unknown): string {
  const many = (f: (x: string) => string) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? f(x) : scalar(x))).join('、') : typeof v === 'string' ? f(v) : scalar(v));
  switch (key) {
    case 'type':
      return many((x) => STEP[x] ?? x);
    case 'conclusion':
      return many((x) => CONCLUSION_LABELS[x as keyof typeof CONCLUSION_LABELS] ?? x);
    case 'disposal':
      return many((x) => DISPOSAL_LABELS[x as keyof typeof DISPOSAL_LABELS] ?? x);
    case 'roles':
      return many((x) => ROLE_LABELS[x as keyof typeof ROLE_LABELS] ?? x);
    case 'scope':
    case 'counties':
      return v === null ? '全市' : many((x) => COUNTY_BY_CODE.get(x)?.name ?? x);
    case 'decision':
      return many((x) => DECISIONS[x] ?? x);
    case 'effectiveFrom':
      return v === 'approval' ? '审批通过时' : scalar(v);
    case 'error': {
      // The coded error body of a refused request: its code and message, not the JSON around them.
      const e = v as { code?: unknown; message?: unknown } | null;
      if (e && typeof e === 'object' && !Array.isArray(e)) return [e.code, e.message].filter((x) => x !== undefined && x !== '').map(scalar).join('：') || scalar(v);
      return scalar(v);
    }
    default:
      return Array.isArray(v) ? v.map(scalar).join('、') : scalar(v);
  }
}

/** A stored detail (JSON text) as one `键：值` line per key. */
export function auditDetailText(detail: string): string {
  if (!detail) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return detail;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return detail;
  return Object.entries(parsed as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${KEYS[k] ?? k}：${valueText(k, v)}`)
    .join('\n');
}
