/**
 * Display masking for the wall and the workbench. Masking happens where the raw value exists (at
 * the counter, in the collector); the hub only ever sees the masked form and a keyed hash.
 */

/**
 * 公民身份号码 → first 2 and last 2 kept: `451202199001011234` → `45**************34`.
 * The first two are the province (the same for nearly everyone a detachment sees); the last two
 * are the sequence number's last digit and the check character — enough to tell two people apart
 * in a list and to match a paper file at hand, while county, birth date and sequence stay hidden
 * (the older 4+4 form showed the prefecture and three of the four sequence characters, which cut
 * an enumeration of the number to ~330k candidates; docs/security.md). A trailing check digit x
 * is upper-cased. 12+ characters keep 2+2 (the 15-digit legacy number too); 3–11 keep first and
 * last; ≤ 2 keep nothing.
 */
export const ID_MASK_KEEP = 2;

export function maskIdNumber(id: string): string {
  const s = id.trim().replace(/x$/, 'X');
  const chars = Array.from(s);
  const n = chars.length;
  if (n === 0) return '';
  if (n <= 2) return '*'.repeat(n);
  const keep = n >= 12 ? ID_MASK_KEEP : 1;
  return chars.slice(0, keep).join('') + '*'.repeat(n - 2 * keep) + chars.slice(n - keep).join('');
}

/**
 * A masked identity as any collector may send it → the current form. Older collectors send
 * 4+4 (`4512**********123X`); that form is accepted and cut to 2+2 (`45**************3X`). A
 * value without any `*` that looks like an identity number (a source that forgot to mask) is
 * masked here. Anything else (free text, already 2+2) is returned unchanged.
 */
export function remaskIdNumber(masked: string): string {
  const s = masked.trim();
  return isCurrentForm(s) ? s : remaskGeneral(masked);
}

/**
 * remaskIdNumber for any input, counting code points. Exported for the test that holds the
 * current-form shortcut (isCurrentForm) to it; not part of the package's API.
 */
export function remaskGeneral(masked: string): string {
  const s = masked.trim();
  if (!s.includes('*')) return /^(\d{17}[\dXx]|\d{15})$/.test(s) ? maskIdNumber(s) : masked;
  const m = /^([^*]*)(\*+)([^*]*)$/.exec(s);
  if (!m) return masked;
  const n = Array.from(s).length;
  const keep = n >= 12 ? ID_MASK_KEEP : 1;
  const head = Array.from(m[1]!);
  const tail = Array.from(m[3]!);
  if (head.length <= keep && tail.length <= keep) return s;
  const h = head.slice(0, keep).join('');
  const t = tail.slice(Math.max(0, tail.length - keep)).join('');
  return h + '*'.repeat(n - Array.from(h).length - Array.from(t).length) + t;
}

const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;

/**
 * `s` is already what remaskGeneral makes of it: one run of `*` with at most `keep` characters
 * before and after it. What nearly every record carries (collectors send the current form), so
 * the hub's ingest answers it without the general path's match and code-point arrays — garbage
 * made twice per record (docs/benchmarks.md). Only UTF-16 units outside the surrogate range are
 * taken here, where units and code points count alike; anything else goes the general way.
 */
function isCurrentForm(s: string): boolean {
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) !== 0x2a) i++;
  const head = i;
  if (head === n) return false;
  while (i < n && s.charCodeAt(i) === 0x2a) i++;
  const keep = n >= 12 ? ID_MASK_KEEP : 1;
  if (head > keep || n - i > keep) return false;
  // The few characters around the stars: no surrogate, and no second run of stars.
  for (let k = 0; k < head; k++) if (isSurrogate(s.charCodeAt(k))) return false;
  for (let k = i; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x2a || isSurrogate(c)) return false;
  }
  return true;
}

/**
 * 号牌号码 → province, issuing-authority letter and the first serial character kept, the last
 * character kept, the rest hidden: `桂M12345` → `桂M1***5`, `桂MD12345` → `桂MD****5`.
 * The `·` separator is dropped. Very short values keep only their first two characters.
 */
export function maskPlate(hphm: string): string {
  const chars = Array.from(hphm.trim().replace(/[·.\s]/g, ''));
  const n = chars.length;
  if (n <= 2) return chars.join('');
  if (n <= 4) return chars.slice(0, 2).join('') + '*'.repeat(n - 2);
  return chars.slice(0, 3).join('') + '*'.repeat(n - 4) + (chars[n - 1] ?? '');
}
