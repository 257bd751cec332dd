/**
 * Pure-JS hashing for identifiers that must be identical in Node and in the browser (the package
 * may not use node:crypto). FNV-1a 64-bit over the UTF-8 bytes: not cryptographic, only stable
 * and well spread — used for warning ids and rule-set versions, never for personal data
 * (identity numbers are keyed-hashed at the counter, before they reach us).
 */

/** Lower-case hex digit codes. */
const HEX = '0123456789abcdef';

// The 64-bit state of the hash being computed, in four 16-bit limbs. Module-level rather than
// per call: every hash is computed synchronously from reset to digest, so none can interleave,
// and a call then allocates no state object and no closure context — fingerprints hash on every
// record.
let h0 = 0;
let h1 = 0;
let h2 = 0;
let h3 = 0;

/**
 * One byte into the state. The prime is 2^40 + 0x1b3, so h·p = h·0x1b3 + (h << 40): limb k gets
 * h[k]·0x1b3 + h[k-2]·0x100, and every intermediate stays well inside 2^53 (no BigInt).
 */
function step(b: number): void {
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
}

/** Starts a hash (the FNV-1a 64 offset basis). */
export function fnvReset(): void {
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4;
  h3 = 0xcbf2;
}

/**
 * Feeds the UTF-8 bytes of `input` as they are produced (no TextEncoder in the ES lib this package
 * compiles against, and no byte array). Feeding a string in pieces hashes their concatenation as
 * long as no surrogate pair is split between two pieces.
 */
export function fnvFeed(input: string): void {
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
}

/** The hex digit code of bits [shift, shift + 4) of a limb. */
const d = (limb: number, shift: number): number => HEX.charCodeAt((limb >>> shift) & 0xf);

/** The hash fed since fnvReset(), as 16 lower-case hex digits (one string, no padded pieces). */
export function fnvDigest(): string {
  return String.fromCharCode(
    d(h3, 12), d(h3, 8), d(h3, 4), d(h3, 0),
    d(h2, 12), d(h2, 8), d(h2, 4), d(h2, 0),
    d(h1, 12), d(h1, 8), d(h1, 4), d(h1, 0),
    d(h0, 12), d(h0, 8), d(h0, 4), d(h0, 0),
  );
}

/** FNV-1a 64-bit of the UTF-8 bytes of `input`, as 16 lower-case hex digits. */
export function fnv1a64(input: string): string {
  fnvReset();
  fnvFeed(input);
  return fnvDigest();
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
