/**
 * Labels for everything an office screen shows from the hub's raw records: the values a rule
 * hit recorded, transaction fields and codes, measurements with units. The label tables live
 * in @jianguan/rules (one place); this module only formats.
 */
import {
  CHANNEL_LABELS,
  HIT_REASON_LABELS,
  HIT_VALUE_LABELS,
  LIST_LABELS,
  MEASUREMENT_NAMES,
  MEASUREMENT_UNITS,
  OUTCOME_LABELS,
  PARAM_CHOICE_LABELS,
  PARAM_LABELS,
  SOURCE_SYSTEMS,
  STAFF_ROLE_LABELS,
  TRANSACTION_KIND_LABELS,
} from '@jianguan/rules';
import { cstTime } from './format';
import { tr } from './lang';

export interface LabelledRow {
  key: string;
  label: string;
  value: string;
}

/** How names are resolved (the screen passes its directory). */
export interface Lookups {
  staffName(id: string): string;
  institutionName(id: string): string;
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : (Math.round(v * 100) / 100).toString());

/** A code table lookup: the label, or the value itself when it is not a code of that table. */
function codeOr(table: Readonly<Record<string, string>>, v: string): string {
  const label = table[v];
  return label === undefined ? v : tr(label);
}

/** One recorded value, formatted by what its key means. */
function hitValue(key: string, v: unknown, look: Lookups): string {
  if (v === null || v === undefined || v === '') return '';
  const meta = HIT_VALUE_LABELS[key] ?? PARAM_LABELS[key];
  if (Array.isArray(v)) return v.map(String).join(tr('、')) || tr('（空）');
  if (typeof v === 'boolean') return tr(v ? '是' : '否');
  if (meta?.unit === 'time' && typeof v === 'number') return cstTime(v);
  if (meta?.unit === 'staff') return look.staffName(String(v));
  if (meta?.unit === 'institution') return look.institutionName(String(v));
  if (meta?.unit === 'role') return codeOr(STAFF_ROLE_LABELS, String(v));
  if (key === 'reason' || key === 'status') return codeOr(HIT_REASON_LABELS, String(v));
  if (key === 'listName') return codeOr(LIST_LABELS, String(v));
  if (PARAM_CHOICE_LABELS[key]) return codeOr(PARAM_CHOICE_LABELS[key]!, String(v));
  if (typeof v === 'number') {
    const unit = meta && meta.unit !== 'list' ? meta.unit : '';
    return `${num(v)}${unit && tr(unit) ? ` ${tr(unit)}` : ''}`;
  }
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${hitLabel(k)} ${String(x)}`).join(tr('；'));
  return String(v);
}

function hitLabel(key: string): string {
  return tr(HIT_VALUE_LABELS[key]?.label ?? PARAM_LABELS[key]?.label ?? '补充信息');
}

/** The rule's recorded values (a warning's `values`) as labelled rows; the role code is shown once, by name. */
export function hitValueRows(values: Record<string, unknown> | string, look: Lookups): LabelledRow[] {
  let v: unknown = values;
  if (typeof values === 'string') {
    try {
      v = JSON.parse(values);
    } catch {
      return [];
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  const o = v as Record<string, unknown>;
  return Object.entries(o)
    .filter(([k]) => !(k === 'roleLabel' && 'role' in o))
    .map(([key, value]) => ({ key, label: hitLabel(key), value: hitValue(key, value, look) }))
    .filter((r) => r.value !== '');
}

/** Measurements as labelled rows with units (MEASUREMENT_NAMES / MEASUREMENT_UNITS). */
export function measurementRows(raw: unknown): LabelledRow[] {
  let m: unknown = raw;
  if (typeof raw === 'string') {
    try {
      m = JSON.parse(raw);
    } catch {
      return [];
    }
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return [];
  return Object.entries(m as Record<string, unknown>).map(([key, v]) => {
    const label = tr((MEASUREMENT_NAMES as Record<string, string>)[key] ?? '其他检测项目');
    const unit = MEASUREMENT_UNITS[key] ?? '';
    const n = Number(v);
    const value = unit === 'time' ? (n > 0 ? cstTime(n) : tr('未查询到')) : `${Number.isFinite(n) ? num(n) : String(v)}${unit && tr(unit) ? ` ${tr(unit)}` : ''}`;
    return { key, label, value };
  });
}

/** Evidence references (photo hashes): short, numbered, never a JSON array. */
export function evidenceList(raw: unknown): string[] {
  let a: unknown = raw;
  if (typeof raw === 'string') {
    try {
      a = JSON.parse(raw);
    } catch {
      return raw ? [raw] : [];
    }
  }
  return Array.isArray(a) ? a.map((x) => String(x)) : [];
}

export const channelLabel = (v: string) => codeOr(CHANNEL_LABELS, v);
export const outcomeLabel = (v: string) => codeOr(OUTCOME_LABELS, v);
export const kindLabel = (v: string) => codeOr(TRANSACTION_KIND_LABELS as Record<string, string>, v);
/** Source systems: the short name before the parenthesis. */
export const sourceLabel = (v: string) => tr((SOURCE_SYSTEMS[v] ?? v).replace(/（.*$/, ''));
