/** The transaction behind a warning as labelled rows (Chinese field names, times in CST). */
import { cstTime } from './format';

const FIELDS: readonly [key: string, label: string, kind?: 'time' | 'json'][] = [
  ['id', '业务记录编号'],
  ['lsh', '业务流水号'],
  ['sub_lsh', '子系统流水号'],
  ['kind', '业务类别'],
  ['ywlx', '业务类型'],
  ['ywyy', '业务原因'],
  ['channel', '办理渠道'],
  ['institution_id', '机构编号'],
  ['county', '区县代码'],
  ['counter', '窗口/线道'],
  ['staff_id', '经办人员'],
  ['device_id', '设备'],
  ['ip', 'IP 地址'],
  ['subject_masked', '当事人'],
  ['agent_masked', '代办人'],
  ['hpzl', '号牌种类'],
  ['hphm', '号牌号码'],
  ['vin', '车辆识别代号'],
  ['zjcx', '准驾车型'],
  ['occurred_at', '业务发生时间', 'time'],
  ['started_at', '开始时间', 'time'],
  ['ended_at', '结束时间', 'time'],
  ['completed_at', '办结时间', 'time'],
  ['captured_at', '采集时间', 'time'],
  ['outcome', '办理结果'],
  ['measurements', '检测数据', 'json'],
  ['evidence', '证据引用', 'json'],
  ['source', '来源系统'],
  ['collector_id', '采集终端'],
  ['batch_id', '批次'],
  ['seq', '采集序号'],
  ['rule_set', '规则版本'],
];

function show(v: unknown, kind?: 'time' | 'json'): string {
  if (v === null || v === undefined || v === '') return '';
  if (kind === 'time') return cstTime(Number(v));
  if (kind === 'json' || typeof v === 'object') {
    if (typeof v === 'string') {
      try {
        const parsed: unknown = JSON.parse(v);
        if (parsed === null || (Array.isArray(parsed) && parsed.length === 0) || (typeof parsed === 'object' && Object.keys(parsed).length === 0)) return '';
        return JSON.stringify(parsed);
      } catch {
        return v;
      }
    }
    const s = JSON.stringify(v);
    return s === '{}' || s === '[]' ? '' : s;
  }
  return String(v);
}

export function transactionRows(tx: Record<string, unknown> | null | undefined): { key: string; label: string; value: string }[] {
  if (!tx) return [];
  return FIELDS.map(([key, label, kind]) => ({ key, label, value: show(tx[key], kind) })).filter((r) => r.value !== '');
}

/** The rule's recorded values (`values_json`) as rows. */
export function valueRows(json: string): { key: string; value: string }[] {
  try {
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== 'object') return [];
    return Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: typeof value === 'object' ? JSON.stringify(value) : String(value) }));
  } catch {
    return [];
  }
}
