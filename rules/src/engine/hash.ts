/**
 * Pure-JS hashing for identifiers that must be identical in Node and in the browser (the package
 * may not use node:crypto). FNV-1a 64-bit over the UTF-8 bytes: not cryptographic, only stable
 * and well spread — used for warning ids and rule-set versions, never for personal data
 * (identity numbers are keyed-hashed at the counter, before they reach us).
 */

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * FNV-1a 64-bit, as 16 lower-case hex digits. The 64-bit state is kept in four 16-bit limbs so
 * every intermediate stays well inside 2^53 (no BigInt on the hot path). The prime is
 * 2^40 + 0x1b3, so h·p = h·0x1b3 + (h << 40): limb k gets h[k]·0x1b3 + h[k-2]·0x100.
 */
export function fnv1a64(input: string): string {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  // One byte into the state (the multiply of the doc comment above).
  const step = (b: number): void => {
    h0 ^= b;
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + h0 * 0x100;
    let t3 = h3 * 0x1b3 + h1 * 0x100;
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    t3 += t2 >>> 16;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  };
  // The UTF-8 bytes are fed as they are produced (no TextEncoder in the ES lib this package
  // compiles against, and no byte array: fingerprints hash on every record).
  for (let i = 0; i < input.length; i++) {
    let cp = input.codePointAt(i) ?? 0;
    if (cp > 0xffff) i++; // consumed a surrogate pair
    else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate → U+FFFD, as TextEncoder does
    if (cp < 0x80) step(cp);
    else if (cp < 0x800) {
      step(0xc0 | (cp >> 6));
      step(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      step(0xe0 | (cp >> 12));
      step(0x80 | ((cp >> 6) & 0x3f));
      step(0x80 | (cp & 0x3f));
    } else {
      step(0xf0 | (cp >> 18));
      step(0x80 | ((cp >> 12) & 0x3f));
      step(0x80 | ((cp >> 6) & 0x3f));
      step(0x80 | (cp & 0x3f));
    }
  }
  return hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);
}

/**
 * JSON with object keys sorted at every level, so the same definitions always hash the same
 * whatever order their keys were written in. `undefined` members are dropped, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
