/**
 * Explanation templates: Chinese text with `{name}` placeholders, filled from the values a rule
 * computed (`{count}`, `{threshold}` …) or from transaction fields (`{agent.masked}`). Parsed
 * once at compile time; placeholder names are validated against what the rule kind provides.
 *
 * A placeholder may carry a format for epoch-millisecond values: `{otherAt|date}` → 2026-11-26,
 * `{otherStart|time}` → 09:05, `{x|datetime}` → 2026-11-26 09:05 (local time of the calendar).
 * `{staffId|staff}` names a staff code by its filing: 韦明（DL-JYZ-I01）, the code alone when the
 * registry has no name for it — an auditor reads a name, the code finds the person in the register.
 * `{entity|institution}` names an institution code the same way: 东兰县机动车检测站（DL-JYZ）, and
 * `{deviceId|device}` a filed device: 制动台（YZ-JYZ-L1-D01）.
 */

export const TEMPLATE_FORMATS = ['date', 'time', 'datetime', 'staff', 'institution', 'device'] as const;
/** Formats that name a code by the registry rather than format a time. */
export type NameFormat = 'staff' | 'institution' | 'device';
/** The name the registry files for a code of that kind; '' or undefined when it has none. */
export type NameOf = (format: NameFormat, code: string) => string | undefined;
export type TemplateFormat = (typeof TEMPLATE_FORMATS)[number];

export type TemplatePart = { text: string } | { ref: string; format?: TemplateFormat | string };

const PLACEHOLDER = /\{([^{}]*)\}/g;

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    const [ref, format] = (m[1] ?? '').split('|').map((s) => s.trim()) as [string, string | undefined];
    parts.push(format === undefined ? { ref } : { ref, format });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

export function templateRefs(template: string): string[] {
  return parseTemplate(template).flatMap((p) => ('ref' in p ? [p.ref] : []));
}

/** Formats named in a template that are not known (for validation). */
export function unknownTemplateFormats(template: string): string[] {
  return parseTemplate(template).flatMap((p) =>
    'ref' in p && p.format !== undefined && !(TEMPLATE_FORMATS as readonly string[]).includes(p.format) ? [p.format] : [],
  );
}

/**
 * Numbers are shown as integers when they are, otherwise with one decimal rounded *down*: a
 * duration of 179.96 s must read 179.9, never "180秒，少于阈值180秒".
 */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.floor(v * 10) / 10);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '是' : '否';
  return '未知';
}

/** Local date/time text of an epoch ms value at a fixed UTC offset. */
export function formatEpoch(at: number, format: Exclude<TemplateFormat, NameFormat>, utcOffsetMinutes: number): string {
  const iso = new Date(at + utcOffsetMinutes * 60_000).toISOString();
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 16);
  return format === 'date' ? date : format === 'time' ? time : `${date} ${time}`;
}

/** A code as the register names it: '韦明（DL-JYZ-I01）', or the code when no name is filed. */
export function namedCode(format: NameFormat, code: string, nameOf: NameOf | undefined): string {
  const name = nameOf?.(format, code);
  return name ? `${name}（${code}）` : code;
}

export function renderTemplate(parts: readonly TemplatePart[], lookup: (ref: string) => unknown, utcOffsetMinutes = 480, nameOf?: NameOf): string {
  let out = '';
  for (const p of parts) {
    if ('text' in p) out += p.text;
    else {
      const v = lookup(p.ref);
      if (v === undefined || v === null || v === '') out += '未知';
      else if (p.format === 'staff' || p.format === 'institution' || p.format === 'device') out += typeof v === 'string' ? namedCode(p.format, v, nameOf) : formatValue(v);
      else if (p.format !== undefined && typeof v === 'number' && Number.isFinite(v)) out += formatEpoch(v, p.format as Exclude<TemplateFormat, NameFormat>, utcOffsetMinutes);
      else out += formatValue(v);
    }
  }
  return out;
}
