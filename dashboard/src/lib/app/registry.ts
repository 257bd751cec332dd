/** Pure helpers of the registry (备案管理) screen. */
import { COUNTIES, INSTITUTION_TYPE_LABELS, localDate } from '@jianguan/rules';
import type { RegistryRequest, RegistryVersion } from '@jianguan/protocol/registry';
import { filingState } from './form';
import { hoursOf, hoursText } from './hours';
import { L, tr } from './lang';

export const ENTITIES = ['institution', 'staff', 'line', 'listing', 'device'] as const;
export type Entity = (typeof ENTITIES)[number];

export const ENTITY_LABELS: Readonly<Record<Entity, string>> = { institution: '机构', staff: '人员', line: '检测线/考试路线', listing: '红黑名单', device: '设备' };
export const ENTITY_PATHS: Readonly<Record<Entity, string>> = { institution: 'institutions', staff: 'staff', line: 'lines', listing: 'listings', device: 'devices' };
export const STATUS_LABELS = { pending: '待审批', approved: '已通过', rejected: '已驳回' } as const;
export type RequestStatus = keyof typeof STATUS_LABELS;

/** A change request as the hub answers it: its schema is in @jianguan/protocol (RegistryRequestSchema). */
export type { RegistryRequest };

/** The columns shown per entity (the rest is in the JSON). */
export const COLUMNS: Readonly<Record<Entity, readonly [key: string, label: string][]>> = {
  institution: [['id', '编号'], ['name', '名称'], ['type', '类型'], ['county', '区县'], ['status', '状态'], ['hours', '营业时间']],
  staff: [['id', '编号'], ['institutionId', '机构'], ['role', '岗位'], ['name', '姓名'], ['filed', '备案状态'], ['validTo', '有效期至']],
  line: [['id', '编号'], ['institutionId', '机构'], ['kind', '类别'], ['name', '名称'], ['minSeconds', '最短用时(秒)'], ['dailyCapacity', '日检测能力'], ['status', '状态']],
  listing: [['list', '名单'], ['key', '标识'], ['organisationId', '机构'], ['scope', '范围'], ['validTo', '有效期至'], ['note', '说明']],
  device: [['id', '设备编号'], ['institutionId', '机构'], ['kind', '类别'], ['name', '名称'], ['lineId', '检测线/通道'], ['filed', '备案状态'], ['validTo', '有效期至'], ['calibrationValidTo', '检定有效期至']],
};

const VALUE_LABELS: Record<string, string> = {
  active: '正常',
  suspended: '暂停',
  clerk: '业务员',
  inspector: '查验员',
  examiner: '考试员',
  doctor: '体检医生',
  agent: '代办人',
  inspection_line: '检测线',
  exam_route: '考试路线',
  person_black: '黑名单',
  agent_red: '代办人红名单',
  vin_check_black: '查验黑名单',
  any: '不限',
  own_org: '仅本机构',
  inspection_instrument: '检测仪器',
  line_equipment: '检测线设备',
  check_camera: '查验摄像设备',
  counter_pc: '窗口计算机',
  exam_vehicle: '考试车辆',
};

export function cell(key: string, v: unknown): string {
  if (v === null || v === undefined || v === '') return key === 'validTo' ? '长期' : '—';
  if (typeof v === 'boolean') return v ? '是' : '否';
  if ((key === 'validTo' || key === 'validFrom' || key === 'calibrationValidTo') && typeof v === 'number') return localDate(v);
  return VALUE_LABELS[String(v)] ?? String(v);
}

/**
 * One cell of a filed record as the registry screens show it, in the current language:
 * institutions and counties by their names (data, never translated), institution types, filing
 * states and other codes by their labels, an institution's own business hours in words.
 */
export function recordCell(entity: Entity, key: string, row: Record<string, unknown>, institutionName: (id: string) => string): string {
  const v = row[key];
  if (key === 'county') return COUNTIES.find((c) => c.adcode === v)?.name ?? String(v ?? '');
  if (key === 'institutionId' || key === 'organisationId') return v ? institutionName(String(v)) : '—';
  if (key === 'type' && entity === 'institution') return tr((INSTITUTION_TYPE_LABELS as Record<string, string>)[String(v)] ?? String(v));
  if (key === 'filed') return tr(filingState(row).label);
  // Hours in words (English on the English screen, so not data); none = the type's (or city's).
  if (key === 'hours') {
    const h = hoursOf(v);
    return h ? hoursText(h) : L('按机构类型', 'By institution type');
  }
  return tr(cell(key, v));
}

/** Columns whose cells are recorded data (names, codes people typed), marked for the screens' checks. */
export const DATUM_COLUMNS: ReadonlySet<string> = new Set(['name', 'county', 'institutionId', 'organisationId', 'note', 'key', 'id']);

/** The row key the hub uses (registry/entities.ts keyOf): id, or list:key for listings. */
export function keyOf(entity: Entity, data: Record<string, unknown>): string {
  return entity === 'listing' ? `${String(data.list)}:${String(data.key)}` : String(data.id ?? '');
}

/** Parses the JSON editor; returns an object or a Chinese error. */
export function parseData(text: string): { data: Record<string, unknown> } | { error: string } {
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: '内容须为一个 JSON 对象，例如 {"id": "…"}' };
    return { data: v as Record<string, unknown> };
  } catch (e) {
    return { error: `JSON 格式错误：${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * The end of the record's version in force at `now` when that version is for a term (a
 * suspension till a set day: the filing before it answers again then), else null. As the hub
 * reads "as of": the highest version whose [validFrom, validTo) holds `now`.
 */
export function termInForce(versions: readonly Pick<RegistryVersion, 'version' | 'validFrom' | 'validTo'>[], now = Date.now()): number | null {
  let best: Pick<RegistryVersion, 'version' | 'validFrom' | 'validTo'> | undefined;
  for (const v of versions) if (v.validFrom <= now && (v.validTo === null || now < v.validTo) && (!best || v.version > best.version)) best = v;
  return best?.validTo ?? null;
}

/** Can `me` decide this request? (maker-checker: never one's own). */
export function canDecide(r: Pick<RegistryRequest, 'status' | 'requestedBy'>, username: string): boolean {
  return r.status === 'pending' && r.requestedBy !== username;
}
