/**
 * Explanation templates: Chinese text with `{name}` placeholders, filled from the values a rule
 * computed (`{count}`, `{threshold}` …) or from transaction fields (`{agent.masked}`). Parsed
 * once at compile time; placeholder names are validated against what the rule kind provides.
 */

export type TemplatePart = { text: string } | { ref: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push({ ref: (m[1] ?? '').trim() });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

export function templateRefs(template: string): string[] {
  return parseTemplate(template).flatMap((p) => ('ref' in p ? [p.ref] : []));
}

/**
 * Numbers are shown as integers when they are, otherwise with one decimal rounded *down*: a
 * duration of 179.96 s must read 179.9, never "180秒，少于阈值180秒".
 */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.floor(v * 10) / 10);
  if (typeof v === 'string') return v;
  return '未知';
}

export function renderTemplate(parts: readonly TemplatePart[], lookup: (ref: string) => unknown): string {
  let out = '';
  for (const p of parts) {
    if ('text' in p) out += p.text;
    else {
      const v = lookup(p.ref);
      out += v === undefined || v === null || v === '' ? '未知' : formatValue(v);
    }
  }
  return out;
}
