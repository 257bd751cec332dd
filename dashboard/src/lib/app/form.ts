/**
 * Forms generated from the zod schemas the API validates: the field list and input types come
 * from the schema (strings, numbers, booleans, enums, optional / nullable), the Chinese label,
 * help text, unit and special input (date picker, institution or county choice) from FIELD_TEXT,
 * one table keyed by entity and schema field. Dates are edited as days and sent as epoch ms.
 */
import { z } from 'zod';
import { DAY_MS, DEVICE_KIND_LABELS, DeviceSchema, formatBusinessHours, fromLocal, localDate, INSTITUTION_TYPE_LABELS, InstitutionSchema, LIST_LABELS, ListingSchema, parseBusinessHours, STAFF_ROLE_LABELS, StaffSchema } from '@jianguan/rules';
import { hoursErrorText, hoursOf } from './hours';
import { L, tr } from './lang';
import type { Entity } from './registry';

/**
 * Inspection lines and exam routes: the hub's LineSchema (hub/src/registry/entities.ts) is not
 * in a package the browser may import, so its shape is repeated here; the hub validates again.
 */
export const LineFormSchema = z.object({
  id: z.string().min(1).max(64),
  institutionId: z.string().min(1).max(64),
  kind: z.enum(['inspection_line', 'exam_route']),
  name: z.string().min(1).max(64),
  minSeconds: z.number().int().min(0),
  dailyCapacity: z.number().int().min(0),
  status: z.enum(['active', 'suspended']).default('active'),
});

export const FORM_SCHEMAS: Readonly<Record<Entity, z.ZodObject>> = {
  institution: InstitutionSchema,
  staff: StaffSchema,
  line: LineFormSchema,
  listing: ListingSchema,
  device: DeviceSchema,
};

export interface FieldText {
  label: string;
  help?: string;
  unit?: string;
  /**
   * Input override: a day picker, the institution list, the county list, or business hours
   * (an object in the record, edited as the words people file them in: 周一至周五 8:00-17:00).
   */
  input?: 'date-from' | 'date-to' | 'institution' | 'county' | 'hours';
  /** Labels of enum values. */
  choices?: Readonly<Record<string, string>>;
}

const STATUS = { active: '正常', suspended: '暂停' };

export const FIELD_TEXT: Readonly<Record<Entity, Readonly<Record<string, FieldText>>>> = {
  institution: {
    id: { label: '机构编号', help: '唯一编号，备案后不可更改' },
    name: { label: '机构名称' },
    type: { label: '机构类型', choices: INSTITUTION_TYPE_LABELS },
    county: { label: '所属区县', input: 'county' },
    lon: { label: '经度', unit: '°E', help: '地图定位，如 108.06；与纬度同填或都不填（不填时大屏画在县城旁）' },
    lat: { label: '纬度', unit: '°N', help: '地图定位，如 24.69；与经度同填或都不填' },
    status: { label: '状态', choices: STATUS, help: '暂停后该机构的业务将触发预警' },
    hours: { label: '营业时间', input: 'hours', help: '本机构备案的营业时间，如“周一至周六 08:30–12:00、14:00–17:30；法定节假日休息”或“周一至周五 08:00–17:00；周六 08:00–12:00”；留空则按机构类型（或全市）的工作时间' },
    closerChecks: { label: '加强抽查', help: '季度考核 C 级的处理：按比例抽取该机构办理的业务供核查；可填截止时间，期满自动恢复' },
  },
  staff: {
    id: { label: '人员编号', help: '业务系统中的工号' },
    institutionId: { label: '所属机构', input: 'institution' },
    role: { label: '岗位', choices: STAFF_ROLE_LABELS },
    name: { label: '姓名' },
    filed: { label: '备案已审核通过' },
    validFrom: { label: '备案有效期起', input: 'date-from' },
    validTo: { label: '备案有效期至', input: 'date-to', help: '留空表示长期有效' },
    classes: { label: '准考车型', help: '考试员可考的准驾车型，如 C1、C2；以顿号或逗号分隔' },
    idHash: { label: '身份证哈希', help: '采集端以同一密钥计算的身份证号摘要（不是身份证号本身）；用于识别经办人办理本人或代办本人业务' },
  },
  line: {
    id: { label: '编号' },
    institutionId: { label: '所属机构', input: 'institution' },
    kind: { label: '类别', choices: { inspection_line: '检测线', exam_route: '考试路线' } },
    name: { label: '名称' },
    minSeconds: { label: '备案最短用时', unit: '秒', help: '一次检验或考试不得短于该时长' },
    dailyCapacity: { label: '日检测/考试能力', unit: '次/天' },
    status: { label: '状态', choices: STATUS },
  },
  listing: {
    list: { label: '名单', choices: LIST_LABELS },
    key: { label: '标识', help: '人员名单为身份证号的加密摘要；查验黑名单为车辆识别代号' },
    organisationId: { label: '授权机构', input: 'institution', help: '红名单：代办人所属机构' },
    scope: { label: '代办范围', choices: { any: '不限', own_org: '仅本机构' } },
    validFrom: { label: '有效期起', input: 'date-from' },
    validTo: { label: '有效期至', input: 'date-to', help: '留空表示长期有效' },
    note: { label: '说明', help: '列入原因，不含个人信息（60 字以内）' },
  },
  device: {
    id: { label: '设备编号', help: '业务系统上传的设备编号（工位设备编号、考试车号等）' },
    institutionId: { label: '所属机构', input: 'institution' },
    kind: { label: '设备类别', choices: DEVICE_KIND_LABELS },
    name: { label: '名称' },
    lineId: { label: '检测线/通道', help: '设备所在的检测线、查验通道或窗口' },
    filed: { label: '备案已审核通过' },
    validFrom: { label: '备案有效期起', input: 'date-from' },
    validTo: { label: '备案有效期至', input: 'date-to', help: '留空表示长期有效' },
    calibrationValidTo: { label: '检定有效期至', input: 'date-to', help: '检定/校准证书有效期；留空表示无需检定' },
  },
};

export type FieldKind = 'text' | 'number' | 'boolean' | 'choice' | 'date-from' | 'date-to' | 'institution' | 'county' | 'list' | 'hours';

export interface FormField {
  name: string;
  label: string;
  help: string;
  unit: string;
  kind: FieldKind;
  required: boolean;
  choices: [string, string][];
}

/**
 * A change request's effective time (its start, or its end) from the form's datetime-local value
 * (China time), as the ISO string the hub takes; undefined for '' (on approval, open-ended).
 */
export function effectiveFromOf(local: string): string | undefined {
  const t = local.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(t)) return undefined;
  return `${t.length === 16 ? `${t}:00` : t.slice(0, 19)}+08:00`;
}

/**
 * A `datetime-local` value `n` months on, at the same time of day (the last day of a shorter
 * month when the day does not exist there: a suspension from 31 January for a month ends on
 * 28 or 29 February). '' for a value that is not one.
 */
export function monthsLater(local: string, n: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2})?)/.exec(local.trim());
  if (!m) return '';
  const months = Number(m[1]) * 12 + Number(m[2]) - 1 + n;
  const y = Math.floor(months / 12);
  const mo = (months % 12) + 1;
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const d = Math.min(Number(m[3]), last);
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}${m[4]}`;
}

/** Peels optional / nullable / default wrappers off a zod field. */
function unwrap(t: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let cur = t;
  let optional = false;
  for (;;) {
    const def = (cur as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) {
      if (def.type !== 'default') optional = true;
      else optional = true; // a default fills it in
      cur = def.innerType;
    } else return { inner: cur, optional };
  }
}

export function formFields(entity: Entity): FormField[] {
  const schema = FORM_SCHEMAS[entity];
  const text = FIELD_TEXT[entity];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, t]) => {
    const { inner, optional } = unwrap(t);
    const def = (inner as unknown as { _zod: { def: { type: string; entries?: Record<string, string> } } })._zod.def;
    const tx = text[name] ?? { label: name };
    let kind: FieldKind = def.type === 'number' ? 'number' : def.type === 'boolean' ? 'boolean' : def.type === 'enum' ? 'choice' : def.type === 'array' ? 'list' : 'text';
    if (tx.input) kind = tx.input;
    const values = def.type === 'enum' && def.entries ? Object.values(def.entries) : [];
    return {
      name,
      label: tx.label,
      help: tx.help ?? '',
      unit: tx.unit ?? '',
      kind,
      required: !optional,
      choices: values.map((v) => [v, tx.choices?.[v] ?? v] as [string, string]),
    };
  });
}

/** 'YYYY-MM-DD' of an epoch ms (Asia/Shanghai). */
export const dayOf = localDate;
/** Start (00:00) or end (23:59:59.999) of a local day, epoch ms. */
export function msOfDay(day: string, end: boolean): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return fromLocal(y, m, d) + (end ? DAY_MS - 1 : 0);
}

/** Record → form values (strings for inputs, booleans for checkboxes). */
export function toForm(entity: Entity, data: Record<string, unknown>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of formFields(entity)) {
    const v = data[f.name];
    if (f.kind === 'boolean') out[f.name] = v === true;
    else if ((f.kind === 'date-from' || f.kind === 'date-to') && typeof v === 'number') out[f.name] = dayOf(v);
    else if (f.kind === 'list') out[f.name] = Array.isArray(v) ? v.join('、') : '';
    else if (f.kind === 'hours') {
      // Written as the hub exports them, so an unchanged record reads back to the same hours.
      const h = hoursOf(v);
      out[f.name] = h ? formatBusinessHours(h) : '';
    } else out[f.name] = v === undefined || v === null ? (f.kind === 'choice' ? (f.choices[0]?.[0] ?? '') : '') : String(v);
  }
  return out;
}

/**
 * Form values → the record, validated with the same schema as the API. Fields outside the form
 * (e.g. a staff member's masked identity number) are kept from `base`. Hours are read from the
 * words typed; words it cannot read are an error (营业时间：…), empty removes them.
 */
export function fromForm(entity: Entity, values: Readonly<Record<string, string | number | boolean | null | undefined>>, base: Record<string, unknown> = {}): { data: Record<string, unknown> } | { errors: string[] } {
  const fields = formFields(entity);
  const data: Record<string, unknown> = { ...base };
  /** Hours that cannot be read: said in the rules' words (they quote what was typed), the rest still checked. */
  const unread: string[] = [];
  for (const f of fields) {
    // A number input bound with bind:value holds a number once typed in (null when emptied).
    const typed = values[f.name];
    const v = typeof typed === 'number' ? (Number.isFinite(typed) ? String(typed) : '') : typed;
    if (f.kind === 'boolean') {
      // An optional flag left unticked on a record that never had it stays absent: a change of
      // something else must not read as a change of the flag.
      if (v === true || f.required || base[f.name] !== undefined) data[f.name] = v === true;
      else delete data[f.name];
    } else if (typeof v !== 'string' || v.trim() === '') {
      if (f.kind === 'date-to' && f.name === 'validTo' && (entity === 'staff' || entity === 'device')) data[f.name] = null;
      else delete data[f.name];
    } else if (f.kind === 'number') data[f.name] = Number(v);
    else if (f.kind === 'date-from' || f.kind === 'date-to') data[f.name] = msOfDay(v, f.kind === 'date-to');
    else if (f.kind === 'list') data[f.name] = v.split(/[、,，\s]+/).filter(Boolean);
    else if (f.kind === 'hours') {
      const h = parseBusinessHours(v);
      if ('error' in h) {
        unread.push(`${tr(f.label)}${L('：', ': ')}${hoursErrorText(h.error)}`);
        delete data[f.name];
      } else data[f.name] = h.hours;
    } else data[f.name] = v.trim();
  }
  const r = FORM_SCHEMAS[entity].safeParse(data);
  // Fields outside the form come from `base`; the form's own fields only from what was validated,
  // so a field emptied in the form (hours, coordinates) is removed rather than kept from `base`.
  const outside = Object.fromEntries(Object.entries(base).filter(([k]) => !fields.some((f) => f.name === k)));
  if (r.success && !unread.length) return { data: { ...outside, ...(r.data as Record<string, unknown>) } };
  const label = (path: PropertyKey[]) => tr(fields.find((f) => f.name === String(path[0]))?.label ?? '内容');
  const says = (code: string) =>
    code === 'invalid_type'
      ? L('必填或格式不正确', 'required, or not in the right form')
      : code === 'too_small'
        ? L('不能为空或过小', 'empty or too small')
        : code === 'too_big'
          ? L('过长或过大', 'too long or too large')
          : L('格式不正确', 'not in the right form');
  const issues = r.success ? [] : r.error.issues.map((i) => `${label(i.path)}${L('：', ': ')}${says(i.code)}`);
  return { errors: [...unread, ...issues] };
}

/** Filing status of a staff record now: 有效 / 已过期 / 未生效 / 未审核. */
export function filingState(s: { filed?: unknown; validFrom?: unknown; validTo?: unknown }, now = Date.now()): { key: 'ok' | 'expired' | 'not_yet' | 'unfiled'; label: string } {
  if (s.filed !== true) return { key: 'unfiled', label: '未审核' };
  if (typeof s.validFrom === 'number' && now < s.validFrom) return { key: 'not_yet', label: '未生效' };
  if (typeof s.validTo === 'number' && now > s.validTo) return { key: 'expired', label: '已过期' };
  return { key: 'ok', label: '有效' };
}
