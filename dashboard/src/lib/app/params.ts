/**
 * A rule's parameters as form fields: meaning, unit and help from the rules package's
 * PARAM_LABELS, the input type from the current value (numbers, HH:MM times, choices, lists).
 * The fields keep the Chinese of the shared table; a screen shows them in its language through
 * `paramCaption` and `tr(help)` (English in en.ts).
 * The hub validates the result with the rule kind's zod schema (rules/src/engine/definition.ts).
 */
import { PARAM_CHOICE_LABELS, PARAM_LABELS } from '@jianguan/rules';
import { L, tr } from './lang';

/** The label a parameter without an entry in PARAM_LABELS gets. */
export const UNKNOWN_PARAM = '规则参数';

export interface ParamField {
  name: string;
  label: string;
  unit: string;
  help: string;
  type: 'number' | 'time' | 'choice' | 'list' | 'text';
  value: string | number;
  choices: [string, string][];
}

export function paramFields(params: Record<string, unknown>): ParamField[] {
  return Object.entries(params).map(([name, v]) => {
    const meta = PARAM_LABELS[name] ?? { label: UNKNOWN_PARAM, unit: '', help: '' };
    const choices = PARAM_CHOICE_LABELS[name];
    const type: ParamField['type'] = Array.isArray(v) ? 'list' : typeof v === 'number' ? 'number' : choices ? 'choice' : typeof v === 'string' && /^\d{2}:\d{2}$/.test(v) ? 'time' : 'text';
    return {
      name,
      label: meta.label,
      unit: meta.unit,
      help: meta.help,
      type,
      value: Array.isArray(v) ? v.join('\n') : typeof v === 'number' ? v : String(v ?? ''),
      choices: choices ? Object.entries(choices) : [],
    };
  });
}

/**
 * A field's label with its unit, in the current language: 最短用时（秒） / Minimum time (s).
 * List fields ('list') and units without an English word (个) show no unit.
 */
export function paramCaption(f: Pick<ParamField, 'label' | 'unit'>): string {
  const unit = f.unit && f.unit !== 'list' ? tr(f.unit) : '';
  return unit ? `${tr(f.label)}${tr('（')}${unit}${tr('）')}` : tr(f.label);
}

/** Fields back to the override object; an empty number is an error in the screen's language. */
export function paramsFrom(fields: readonly ParamField[]): { params: Record<string, unknown> } | { error: string } {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.type === 'number') {
      const n = typeof f.value === 'number' ? f.value : Number(String(f.value).trim());
      if (String(f.value).trim() === '' || !Number.isFinite(n)) return { error: L(`请填写「${f.label}」（数字）`, `Fill in “${tr(f.label)}” (a number)`) };
      out[f.name] = n;
    } else if (f.type === 'list') {
      out[f.name] = String(f.value).split(/[\n,，、]/).map((x) => x.trim()).filter(Boolean);
    } else out[f.name] = String(f.value);
  }
  if (!Object.keys(out).length) return { error: L('该规则没有可调整的参数', 'This rule has no parameters to adjust') };
  return { params: out };
}
