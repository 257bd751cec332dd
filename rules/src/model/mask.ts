/**
 * Display masking for the wall and the workbench. Masking happens where the raw value exists (at
 * the counter, in the collector); the hub only ever sees the masked form and a keyed hash.
 */

/**
 * 公民身份号码 → first 4 and last 4 kept: `451202199001011234` → `4512**********1234`.
 * A trailing check digit x is upper-cased. Shorter values keep less so that at least half is
 * hidden: 9–17 characters keep 4+4 only when that hides something, ≤ 8 keep first and last.
 */
export function maskIdNumber(id: string): string {
  const s = id.trim().replace(/x$/, 'X');
  const chars = Array.from(s);
  const n = chars.length;
  if (n === 0) return '';
  if (n <= 2) return '*'.repeat(n);
  const keep = n >= 12 ? 4 : 1;
  return chars.slice(0, keep).join('') + '*'.repeat(n - 2 * keep) + chars.slice(n - keep).join('');
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
