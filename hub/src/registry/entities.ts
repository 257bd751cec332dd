/**
 * What the registry files (事前备案): institutions, staff, devices, inspection lines and exam
 * routes, and the agent red/black lists — their schemas, their keys, the county they belong to,
 * and how a spreadsheet row (Chinese or English headers) becomes one of them, with the filing
 * dates that become its version's validity.
 */
import {
  COUNTIES,
  COUNTY_BY_CODE,
  DEVICE_KIND_LABELS,
  DeviceKind,
  DeviceSchema,
  type Device,
  INSTITUTION_TYPE_LABELS,
  InstitutionSchema,
  InstitutionType,
  LIST_LABELS,
  ListingSchema,
  ListName,
  STAFF_ROLE_LABELS,
  StaffRole,
  StaffSchema,
  parseBusinessHours,
  type Institution,
  type Listing,
  type Staff,
} from '@jianguan/rules';
import { z } from 'zod';
import { DAY_MS, fromLocal, localFields } from '../time/business-time.js';

export const ENTITIES = ['institution', 'staff', 'line', 'listing', 'device'] as const;
export const Entity = z.enum(ENTITIES);
export type Entity = z.infer<typeof Entity>;

export const ENTITY_LABELS: Readonly<Record<Entity, string>> = {
  institution: '机构',
  staff: '人员',
  line: '检测线/考试路线',
  listing: '红黑名单',
  device: '设备',
};

/** A filed staff member: the rule engine's Staff plus the pseudonymised identity number. */
export const FiledStaffSchema = StaffSchema.extend({
  /** Keyed hash of the identity number (never the number itself). */
  idHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Masked display form, e.g. 4512**********123X. */
  idMasked: z.string().max(32).optional(),
});
export type FiledStaff = z.infer<typeof FiledStaffSchema>;

/** An inspection line (检测线) or an exam route (考试路线) with its filed limits. */
export const LineSchema = z.object({
  id: z.string().min(1).max(64),
  institutionId: z.string().min(1).max(64),
  kind: z.enum(['inspection_line', 'exam_route']),
  name: z.string().min(1).max(64),
  /** Filed minimum duration of one test / exam, seconds. */
  minSeconds: z.number().int().min(0),
  /** Filed daily capacity (tests or exams per day). */
  dailyCapacity: z.number().int().min(0),
  status: z.enum(['active', 'suspended']).default('active'),
});
export type Line = z.infer<typeof LineSchema>;

export const LINE_KIND_LABELS = { inspection_line: '检测线', exam_route: '考试路线' } as const;

export type EntityData = Institution | FiledStaff | Line | Listing | Device;

export const SCHEMAS: Readonly<Record<Entity, z.ZodType>> = {
  institution: InstitutionSchema,
  staff: FiledStaffSchema,
  line: LineSchema,
  listing: ListingSchema,
  device: DeviceSchema,
};

export function keyOf(entity: Entity, data: EntityData): string {
  if (entity === 'listing') {
    const l = data as Listing;
    return `${l.list}:${l.key}`;
  }
  return (data as { id: string }).id;
}

/** The institution a record belongs to ('' for lists without an organisation). */
export function institutionOf(entity: Entity, data: EntityData): string {
  switch (entity) {
    case 'institution':
      return (data as Institution).id;
    case 'staff':
      return (data as Staff).institutionId;
    case 'line':
      return (data as Line).institutionId;
    case 'listing':
      return (data as Listing).organisationId ?? '';
    case 'device':
      return (data as Device).institutionId;
  }
}

// ---- spreadsheet rows -------------------------------------------------------------------------

/** Header aliases: Chinese (as exported) and English field names. */
const HEADERS: Readonly<Record<Entity, Readonly<Record<string, string>>>> = {
  institution: { 编号: 'id', 名称: 'name', 类型: 'type', 区县: 'county', 经度: 'lon', 纬度: 'lat', 状态: 'status', 营业时间: 'hours', 营业时段: 'hours', 加强抽查: 'closerChecks' },
  staff: {
    编号: 'id', 机构: 'institutionId', 机构编号: 'institutionId', 角色: 'role', 姓名: 'name', 备案: 'filed', 已备案: 'filed',
    有效期起: 'validFrom', 有效期止: 'validTo', 准驾车型: 'classes', 身份证哈希: 'idHash', 身份证: 'idMasked',
    // The raw number, filed as its hub-form hash and masked form (pseudonyms.ts), never stored.
    身份证号码: 'idNumber', 身份证号: 'idNumber',
  },
  line: { 编号: 'id', 机构: 'institutionId', 机构编号: 'institutionId', 类型: 'kind', 名称: 'name', 最短用时秒: 'minSeconds', 日能力: 'dailyCapacity', 状态: 'status' },
  listing: { 名单: 'list', 标识: 'key', 所属机构: 'organisationId', 范围: 'scope', 有效期起: 'validFrom', 有效期止: 'validTo', 备注: 'note' },
  device: {
    编号: 'id', 设备编号: 'id', 机构: 'institutionId', 机构编号: 'institutionId', 类别: 'kind', 设备类别: 'kind', 名称: 'name',
    检测线: 'lineId', 线道: 'lineId', 备案: 'filed', 已备案: 'filed', 有效期起: 'validFrom', 有效期止: 'validTo', 检定有效期至: 'calibrationValidTo',
  },
};

/** A field by its import header (the first Chinese one), for sheets that name fields; else the field. */
export function fieldHeader(entity: Entity, field: string): string {
  for (const [header, f] of Object.entries(HEADERS[entity])) if (f === field && /[^\x00-\x7f]/.test(header)) return header;
  return field;
}

/**
 * Columns an import reads past: the names the export (export.ts) writes beside the codes for the
 * person reading the sheet. The code decides; a name that disagrees with it changes nothing.
 */
const IGNORED_HEADERS: ReadonlySet<string> = new Set(['机构名称', '所属机构名称']);

/**
 * Columns clerks add to their own sheets — a row number, their notes — read past wherever the
 * entity has no field of that name (a list's 备注 is its note). Any other unknown column is still
 * refused: a misspelt header must not be read past as if it were empty.
 */
const CLERKS_COLUMNS: ReadonlySet<string> = new Set(['序号', '编号序号', '备注', '说明', '附注']);

/** The field a header names, '' for a column read past. */
function headerField(header: string, aliases: Readonly<Record<string, string>>, known: ReadonlySet<string>): string {
  const t = header.trim();
  if (IGNORED_HEADERS.has(t)) return '';
  const f = aliases[t] ?? t;
  return CLERKS_COLUMNS.has(t) && !known.has(f) ? '' : f;
}

/**
 * Entities whose records carry no filing dates of their own: an import may still give 有效期起 /
 * 有效期止 columns, which become the version's validity only.
 */
const VERSION_ONLY_DATES: Readonly<Partial<Record<Entity, Readonly<Record<string, string>>>>> = {
  institution: { 有效期起: 'validFrom', 有效期止: 'validTo', 备案日期: 'validFrom' },
  line: { 有效期起: 'validFrom', 有效期止: 'validTo', 备案日期: 'validFrom' },
};

const invert = <K extends string>(m: Readonly<Record<K, string>>): Record<string, K> => Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<string, K>;
/**
 * Institution types as registers name them besides the system's own labels: a 检测站 is the
 * 机动车检验机构 the schema calls inspection_station, and so on.
 */
const TYPE_SYNONYMS: Readonly<Record<string, string>> = {
  车辆管理所: 'vehicle_office',
  机动车登记服务站: 'registration_station',
  登记服务站: 'registration_station',
  汽车4S店: 'dealer',
  '4S店': 'dealer',
  汽车销售公司: 'dealer',
  检验机构: 'inspection_station',
  检测站: 'inspection_station',
  机动车检测站: 'inspection_station',
  机动车检验站: 'inspection_station',
  机动车安全技术检验机构: 'inspection_station',
  驾驶培训学校: 'driving_school',
  驾培机构: 'driving_school',
  驾驶员培训学校: 'driving_school',
  驾驶人考场: 'exam_venue',
  考试场: 'exam_venue',
  医院: 'hospital',
  体检机构: 'hospital',
  邮政: 'post_office',
};
const TYPE_BY_LABEL = { ...TYPE_SYNONYMS, ...invert(INSTITUTION_TYPE_LABELS) };
const ROLE_BY_LABEL = invert(STAFF_ROLE_LABELS);
const LIST_BY_LABEL = invert(LIST_LABELS);
/**
 * Counties by the names clerks write: the full name (巴马瑶族自治县), the short one (巴马县 — an
 * autonomous county's first two characters and 县), either after the city's name (河池市宜州区).
 */
const COUNTY_BY_NAME: Readonly<Record<string, string>> = Object.fromEntries(
  COUNTIES.flatMap((c) => {
    const names = [c.name, ...(c.name.endsWith('自治县') ? [`${c.name.slice(0, 2)}县`] : [])];
    return names.flatMap((n) => [[n, c.adcode] as const, [`河池市${n}`, c.adcode] as const]);
  }),
);
const LINE_KIND_BY_LABEL = invert(LINE_KIND_LABELS);
const DEVICE_KIND_BY_LABEL = invert(DEVICE_KIND_LABELS);
const STATUS_BY_LABEL: Record<string, string> = { 正常: 'active', 暂停: 'suspended' };

/** Each coded field's values by label: what a refused value's report offers instead of codes. */
const VALUE_LABELS: Readonly<Record<Entity, Readonly<Record<string, Readonly<Record<string, string>>>>>> = {
  institution: { type: INSTITUTION_TYPE_LABELS, status: invert(STATUS_BY_LABEL) },
  staff: { role: STAFF_ROLE_LABELS },
  line: { kind: LINE_KIND_LABELS, status: invert(STATUS_BY_LABEL) },
  listing: { list: LIST_LABELS, scope: { own_org: '本机构', any: '不限' } },
  device: { kind: DEVICE_KIND_LABELS },
};

/**
 * Dates as people and other systems write them, in the form parseLocalDate reads: 2019年3月1日
 * (with a time after it or not), and the compact 20190301 and 20190301083000 of the traffic
 * police's own systems.
 */
function normaliseDate(t: string): string {
  const cn = /^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(\S.*))?$/.exec(t);
  if (cn) return `${cn[1]}-${cn[2]}-${cn[3]}${cn[4] ? ` ${cn[4]}` : ''}`;
  const compact = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$/.exec(t);
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}${compact[4] ? ` ${compact[4]}:${compact[5]}:${compact[6]}` : ''}`;
  return t;
}

/**
 * 'YYYY-MM-DD' (local start of day) or 'YYYY-MM-DD HH:MM[:SS]' local (also with / or . between,
 * and the forms of normaliseDate), or epoch ms → epoch ms.
 */
function parseLocalDate(s: string, endOfDay: boolean): number | string {
  const t = s.trim();
  if (/^\d{10,13}$/.test(t)) return Number(t);
  const n = normaliseDate(t);
  // The whole text: a date with anything after it ("2019-03-01 后") is not a date.
  const m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?$/.exec(n);
  // A date cell whose format was lost shows Excel's serial day (43525 = 2019-03-01).
  if (!m && /^\d{5}(\.\d+)?$/.test(t)) return `不是日期：${t}（像是 Excel 的日期序号：请把该列设为日期格式，或写作 2019-03-01）`;
  if (!m) return `不是日期：${t}`;
  const [, y, mo, d, h, mi, sec] = m;
  const base = fromLocal(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0));
  if (Number.isNaN(base)) return `不是日期：${t}`;
  // Date.UTC rolls 2023-02-30 over to March: a filing date that does not exist is an error.
  const back = localFields(base);
  if (back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d)) return `不是日期：${t}`;
  return h === undefined && endOfDay ? base + DAY_MS - 1 : base;
}

function bool(s: string): boolean | string {
  const t = s.trim().toLowerCase();
  // √ and × as a clerk ticks a column.
  if (['是', 'true', '1', 'y', 'yes', '已备案', '√', '✓', '✔'].includes(t)) return true;
  if (['否', 'false', '0', 'n', 'no', '未备案', '×', '✗', '✘'].includes(t)) return false;
  return `不是是/否：${s}`;
}

/**
 * The validity an imported row gives its version: from the row's filing start (有效期起) — years
 * back for a detachment going live — so business before the import is judged against the filing
 * of its time. The row's end date stays in the record (staff, devices, list entries), where the
 * rules read it as "expired" rather than "unknown"; for institutions and lines, whose records
 * have no dates, it ends the version.
 */
export interface RowValidity {
  validFrom?: number;
  validTo?: number | null;
}

export interface RowError {
  /** 1-based row number in the file, header = row 1. */
  row: number;
  field: string;
  message: string;
}

/** Per entity, its header aliases (Chinese and English → field) and the fields they name. */
const COLUMN_NAMES = Object.fromEntries(
  (Object.keys(HEADERS) as Entity[]).map((e) => {
    const aliases: Readonly<Record<string, string>> = { ...HEADERS[e], ...VERSION_ONLY_DATES[e] };
    return [e, { aliases, known: new Set(Object.values(aliases)) as ReadonlySet<string> }];
  }),
) as Readonly<Record<Entity, { aliases: Readonly<Record<string, string>>; known: ReadonlySet<string> }>>;

/** The fields a sheet's header row names (by Chinese or English header); names it ignores left out. */
export function sheetFields(entity: Entity, header: readonly string[]): Set<string> {
  const { aliases, known } = COLUMN_NAMES[entity];
  const out = new Set<string>();
  for (const h of header) {
    const f = headerField(h, aliases, known);
    if (f && known.has(f)) out.add(f);
  }
  return out;
}

/**
 * Optional fields (and fields with a default) an import keeps from the record on file when the
 * sheet has no column for them at all — a register kept in an older template, or another
 * system's export that leaves columns out. Without this, re-importing names would lift a
 * suspension (状态 defaults to 正常), end a staff member's expiry (有效期止 defaults to open-ended),
 * and drop an identity, permitted classes, hours or a place. A column present but left empty
 * still clears the field: that is the sheet saying so.
 *
 * `columns`: the fields whose columns speak for the group (an identity number column files the
 * hash and masked form anew). `sameFiling`: kept only while the row is the filing on file — an
 * end date belongs to its start, so a row with a new 有效期起 (a renewal) does not inherit the
 * old filing's 有效期止.
 */
export interface KeptGroup {
  fields: readonly string[];
  columns?: readonly string[];
  sameFiling?: 'validFrom';
}
export const KEPT_WHEN_NO_COLUMN: Readonly<Record<Entity, readonly KeptGroup[]>> = {
  institution: [{ fields: ['hours'] }, { fields: ['lon', 'lat'] }, { fields: ['status'] }, { fields: ['closerChecks'] }],
  staff: [
    { fields: ['name'] },
    { fields: ['validTo'], sameFiling: 'validFrom' },
    { fields: ['classes'] },
    { fields: ['idHash', 'idMasked'], columns: ['idHash', 'idMasked', 'idNumber'] },
  ],
  line: [{ fields: ['status'] }],
  listing: [{ fields: ['organisationId'] }, { fields: ['scope'] }, { fields: ['validFrom', 'validTo'] }, { fields: ['validTo'], sameFiling: 'validFrom' }, { fields: ['note'] }],
  device: [{ fields: ['name'] }, { fields: ['lineId'] }, { fields: ['validTo'], sameFiling: 'validFrom' }, { fields: ['calibrationValidTo'] }],
};

/** The groups of KEPT_WHEN_NO_COLUMN a sheet naming `named` (sheetFields) has no column for. */
export function keptGroups(entity: Entity, named: ReadonlySet<string>): KeptGroup[] {
  return KEPT_WHEN_NO_COLUMN[entity].filter((g) => (g.columns ?? g.fields).every((f) => !named.has(f)));
}

/**
 * `row` with the kept groups' fields as `filed` has them (absent on file = absent); `row` itself
 * when nothing is on file or nothing is kept. Pure: the import route gives the record on file.
 */
export function withFiledFields(row: EntityData, groups: readonly KeptGroup[], filed: EntityData | undefined): EntityData {
  if (!filed || !groups.length) return row;
  const from = filed as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { ...(row as unknown as Record<string, unknown>) };
  for (const g of groups) {
    if (g.sameFiling && out[g.sameFiling] !== from[g.sameFiling]) continue;
    for (const f of g.fields) {
      if (from[f] === undefined) delete out[f];
      else out[f] = from[f];
    }
  }
  return out as unknown as EntityData;
}

/** Rows searched for the header: a sheet's title and notes sit above it, a few rows at most. */
const HEADER_SEARCH_ROWS = 10;

/**
 * The 0-based index of the header row: the first of the first few rows naming at least two of
 * the entity's columns. Registers kept in Excel often carry a title row ("河池市机动车检验机构人员
 * 备案表", merged across the sheet) or a note above the header; such rows are not data. 0 when no
 * row qualifies, so the report names the first row's columns as unknown.
 */
export function locateHeader(entity: Entity, table: readonly (readonly string[])[]): number {
  const { aliases, known } = COLUMN_NAMES[entity];
  for (let i = 0; i < Math.min(table.length, HEADER_SEARCH_ROWS); i++) {
    let named = 0;
    for (const cell of table[i]!) {
      const t = cell.trim();
      if (t && (aliases[t] !== undefined || known.has(t))) named++;
    }
    if (named >= 2) return i;
  }
  return 0;
}

/**
 * Converts spreadsheet rows (first row = headers) into records of `entity`. Returns the records,
 * the row number of each (1-based, header = row 1; blank rows count, as in the sheet) and one
 * error per bad field; a file with any error must not be imported.
 */
export function rowsToRecords(entity: Entity, table: string[][]): { records: EntityData[]; rows: number[]; validity: RowValidity[]; errors: RowError[] } {
  const errors: RowError[] = [];
  const records: EntityData[] = [];
  const rowNumbers: number[] = [];
  const validity: RowValidity[] = [];
  const [header, ...rows] = table;
  if (!header) return { records, rows: rowNumbers, validity, errors: [{ row: 1, field: '', message: '文件为空' }] };
  const { aliases, known } = COLUMN_NAMES[entity];
  const fields = header.map((h) => headerField(h, aliases, known));
  fields.forEach((f, i) => {
    if (f && !known.has(f)) errors.push({ row: 1, field: header[i] ?? f, message: `未知列：${header[i]}` });
  });
  rows.forEach((cells, idx) => {
    const rowNo = idx + 2;
    if (cells.every((c) => c.trim() === '')) return;
    const raw: Record<string, unknown> = {};
    const fail = (field: string, message: string) => errors.push({ row: rowNo, field, message });
    fields.forEach((f, i) => {
      const v = (cells[i] ?? '').trim();
      if (!f || v === '' || !known.has(f)) return;
      switch (f) {
        case 'type':
          raw.type = TYPE_BY_LABEL[v] ?? v;
          break;
        case 'county':
          if (COUNTY_BY_NAME[v] === undefined && !/^\d{6}$/.test(v)) fail(f, `取值无效：${v}（可选：${COUNTIES.map((c) => c.name).join('、')}）`);
          else raw.county = COUNTY_BY_NAME[v] ?? v;
          break;
        case 'lon':
        case 'lat':
        case 'minSeconds':
        case 'dailyCapacity': {
          // Full-width digits (１０８．２６), as a Chinese input method types them, read as digits.
          const n = Number(v.normalize('NFKC'));
          if (Number.isNaN(n)) fail(f, `不是数字：${v}`);
          else raw[f] = n;
          break;
        }
        case 'status':
          raw.status = STATUS_BY_LABEL[v] ?? v;
          break;
        case 'role':
          raw.role = ROLE_BY_LABEL[v] ?? v;
          break;
        case 'filed':
        case 'closerChecks': {
          const b = bool(v);
          if (typeof b === 'string') fail(f, b);
          else raw[f] = b;
          break;
        }
        case 'validFrom':
        case 'validTo': {
          const t = parseLocalDate(v.normalize('NFKC'), f === 'validTo');
          if (typeof t === 'string') fail(f, t);
          else raw[f] = t;
          break;
        }
        case 'calibrationValidTo': {
          const t = parseLocalDate(v.normalize('NFKC'), true);
          if (typeof t === 'string') fail(f, t);
          else raw[f] = t;
          break;
        }
        case 'hours': {
          // Words as people write them (周一至周六 8:30-17:30，节假日照常营业); empty = the type's hours.
          const h = parseBusinessHours(v);
          if ('error' in h) fail(f, h.error);
          else raw.hours = h.hours;
          break;
        }
        case 'classes':
          raw.classes = v.split(/[,，、\s]+/).filter(Boolean);
          break;
        case 'kind':
          raw.kind = (entity === 'device' ? DEVICE_KIND_BY_LABEL[v] : LINE_KIND_BY_LABEL[v]) ?? v;
          break;
        case 'list':
          raw.list = LIST_BY_LABEL[v] ?? v;
          break;
        case 'scope':
          raw.scope = v === '本机构' ? 'own_org' : v === '不限' ? 'any' : v;
          break;
        default:
          raw[f] = v;
      }
    });
    if (entity === 'staff' || entity === 'device') {
      raw.validTo ??= null;
      raw.name ??= '';
    }
    // Dates that belong to the version only (institutions, lines) are not part of the record.
    const own: RowValidity = {};
    if (VERSION_ONLY_DATES[entity]) {
      if (typeof raw.validFrom === 'number') own.validFrom = raw.validFrom;
      if (typeof raw.validTo === 'number') own.validTo = raw.validTo;
      delete raw.validFrom;
      delete raw.validTo;
    }
    const from = own.validFrom ?? raw.validFrom;
    const to = own.validTo ?? raw.validTo;
    if (typeof from === 'number' && typeof to === 'number' && to <= from) {
      fail('validTo', '有效期止须晚于有效期起');
      return;
    }
    const parsed = SCHEMAS[entity].safeParse(raw);
    if (!parsed.success) {
      const already = new Set(errors.filter((e) => e.row === rowNo).map((e) => e.field));
      // An unreadable 经度 or 纬度 is reported as such, not again as half of the pair missing.
      if (already.has('lon') || already.has('lat')) for (const x of ['lon', 'lat']) already.add(x);
      for (const i of parsed.error.issues) {
        const field = String(i.path[0] ?? '');
        if (!already.has(field)) fail(field, zhIssue(i, raw[field], { labels: VALUE_LABELS[entity][field] }));
        already.add(field);
      }
      return;
    }
    const data = parsed.data as EntityData;
    // The raw identity number (身份证号码) is no field of the filed record: the change request
    // files it as its hash and masked form (pseudonyms.ts fileRegistryRecord). The schema would
    // drop it, and the import would file the person without an identity, so it is carried on.
    if (entity === 'staff' && typeof raw.idNumber === 'string') (data as Record<string, unknown>).idNumber = raw.idNumber;
    records.push(data);
    rowNumbers.push(rowNo);
    const dated = data as { validFrom?: number };
    validity.push(VERSION_ONLY_DATES[entity] ? own : dated.validFrom !== undefined ? { validFrom: dated.validFrom } : {});
  });
  return { records, rows: rowNumbers, validity, errors };
}

/**
 * A zod issue in Chinese, for people reading an import report. `labels`: the field's values by
 * label, offered instead of the codes (a spreadsheet gives labels).
 */
export function zhIssue(i: z.core.$ZodIssue, value: unknown, say: { labels?: Readonly<Record<string, string>> } = {}): string {
  const v = value === undefined ? '' : String(value);
  switch (i.code) {
    case 'invalid_value':
      return `取值无效：${v}（可选：${say.labels ? Object.values(say.labels).join('、') : i.values.map(String).join('、')}）`;
    case 'invalid_type':
      return value === undefined ? '缺少必填项' : `类型错误：${v}`;
    case 'too_small':
      return `过短或过小：${v}`;
    case 'too_big':
      return `过长或过大：${v}`;
    case 'invalid_format':
      return `格式错误：${v}`;
    default:
      return i.message;
  }
}

export { COUNTY_BY_CODE, DeviceKind, InstitutionType, ListName, StaffRole };
