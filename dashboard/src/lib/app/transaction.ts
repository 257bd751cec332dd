/** The transaction behind a warning as labelled rows (field names in the screen's language, times in CST). */
import { COUNTIES } from '$lib/domain';
import { cstTime } from './format';
import { channelLabel, kindLabel, outcomeLabel, sourceLabel, type Lookups } from './labels';
import { tr } from './lang';

const FIELDS: readonly [key: string, label: string, kind?: 'time' | 'json'][] = [
  ['id', '业务记录编号'],
  ['lsh', '业务流水号'],
  ['subLsh', '子系统流水号'],
  ['kind', '业务类别'],
  ['ywlx', '业务类型'],
  ['ywyy', '业务原因'],
  ['channel', '办理渠道'],
  ['institutionId', '办理机构'],
  ['county', '区县'],
  ['counter', '窗口/线道'],
  ['staffId', '经办人员'],
  ['deviceId', '设备'],
  ['ip', 'IP 地址'],
  ['subjectMasked', '当事人'],
  ['agentMasked', '代办人'],
  ['hpzl', '号牌种类'],
  ['hphm', '号牌号码'],
  ['vin', '车辆识别代号'],
  ['zjcx', '准驾车型'],
  ['occurredAt', '业务发生时间', 'time'],
  ['startedAt', '开始时间', 'time'],
  ['endedAt', '结束时间', 'time'],
  ['completedAt', '办结时间', 'time'],
  ['capturedAt', '采集时间', 'time'],
  ['outcome', '办理结果'],
  ['source', '来源系统'],
  ['collectorId', '采集终端'],
  ['seq', '采集序号'],
];

/** Code tables (domain.md §4) for the fields shown as codes; unknown codes show as they are. */
const HPZL: Record<string, string> = {
  '01': '大型汽车', '02': '小型汽车', '07': '普通摩托车', '08': '轻便摩托车', '13': '低速车', '14': '拖拉机', '15': '挂车',
  '16': '教练汽车', '22': '临时行驶车', '23': '警用汽车', '51': '大型新能源汽车', '52': '小型新能源汽车', '99': '其他',
};
const YWLX_VEHICLE: Record<string, string> = {
  A: '注册登记', B: '转移登记', D: '变更登记', E: '抵押登记', F: '停复驶', G: '注销登记', H: '临时入境', I: '转入', J: '校车登记',
  K: '补换牌证/合格标志', L: '补换登记证书', M: '档案更正', N: '被盗抢记录', O: '临时号牌', P: '核发检验合格标志', Q: '委托检验',
  R: '受托检验', S: '锁定', T: '解除监管', U: '转出/注销恢复', V: '变更备案', W: '电子档案补录', X: '大吨小标更正',
};
const YWLX_LICENCE: Record<string, string> = {
  A: '初次申领', B: '增驾', C: '补证换证', F: '满分学习', G: '注销', N: '注销恢复', K: '年度体检', T: '延期体检', V: '审验',
  S: '延期换证', L: '信息变更', H: '档案更正', I: '扣证还证',
};

function coded(key: string, v: string, tx: Record<string, unknown>, look?: Lookups): string {
  if (key === 'kind') return tr(kindLabel(v));
  if (key === 'outcome') return tr(outcomeLabel(v));
  if (key === 'channel') return tr(channelLabel(v));
  if (key === 'source') return tr(sourceLabel(v));
  if (key === 'county') return COUNTIES.find((c) => c.adcode === v)?.name ?? v;
  if (key === 'staffId' && look) return look.staffName(v);
  if (key === 'institutionId' && look) return look.institutionName(v);
  const table =
    key === 'hpzl' ? HPZL
    : key === 'ywlx' ? (tx.kind === 'licence' ? YWLX_LICENCE : ['vehicle', 'check', 'inspection'].includes(String(tx.kind)) ? YWLX_VEHICLE : undefined)
    : undefined;
  const label = table?.[v];
  return label ? `${tr(label)}${tr('（')}${v}${tr('）')}` : v;
}

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

/** A transaction field's label in the screen's language (flat names: 'vin', 'subjectMasked'), or undefined. */
export function transactionFieldLabel(key: string): string | undefined {
  const f = FIELDS.find(([k]) => k === key);
  return f ? tr(f[1]) : undefined;
}

export function transactionRows(record: object | null | undefined, look?: Lookups): { key: string; label: string; value: string }[] {
  if (!record) return [];
  const tx = record as Record<string, unknown>;
  return FIELDS.map(([key, label, kind]) => {
    const value = show(tx[key], kind);
    return { key, label: tr(label), value: value && !kind ? coded(key, value, tx, look) : value };
  }).filter((r) => r.value !== '');
}
