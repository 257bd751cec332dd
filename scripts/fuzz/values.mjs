// Seeded randomness and hostile values shared by every generator of the hostile-input suite.
// Everything is derived from one seed so that a failing input can be reproduced with `--seed`.

/** mulberry32: small, fast, good enough to pick cases; not for anything secret. */
export function rng(seed) {
  let a = hashSeed(seed);
  const next = () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
    /** A derived generator, so that one stream's draws do not shift another's. */
    fork: (label) => rng(`${seed}/${label}/${Math.floor(next() * 1e9)}`),
  };
  return r;
}

function hashSeed(seed) {
  const s = String(seed);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export const LONE_SURROGATES = ['A\ud800', '\udc00', 'x\ud83dy', '\ud800\ud800', '\udfff桂M'];
export const CONTROL_CHARS = ['\u0000', 'a\u0000b', '\u0007\u001b[31m', '\r\n\r\n', '\u2028\u2029', '\ufeff', '\u202e', '\uffff', '\t\v\f'];

/** Strings that have broken parsers, decoders, SQL or log lines elsewhere. */
export function hostileString(r) {
  switch (r.int(0, 17)) {
    case 0:
      return r.pick(LONE_SURROGATES);
    case 1:
      return r.pick(CONTROL_CHARS);
    case 2:
      return 'x'.repeat(r.pick([65, 129, 257, 4097, 70_000]));
    case 3:
      return "' OR 1=1 --";
    case 4:
      return '{name:String}';
    case 5:
      return '%ZZ%00%';
    case 6:
      return '../../../../etc/passwd';
    case 7:
      return '__proto__';
    case 8:
      return 'constructor';
    case 9:
      return '';
    case 10:
      return ' ';
    case 11:
      return '桂M'.repeat(r.int(1, 40));
    case 12:
      return '\\u0000\\';
    case 13:
      return '<script>alert(1)</script>';
    case 14:
      return String(r.int(-1e9, 1e9));
    case 15:
      return '1e309';
    case 16:
      return 'NaN';
    default:
      return Array.from({ length: r.int(1, 30) }, () => String.fromCharCode(r.int(0, 0xffff))).join('');
  }
}

/** A JSON value nested `depth` levels deep (arrays or objects). */
export function deep(depth, kind = 'array', leaf = 1) {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** The same as text, without building the value (for depths JSON.stringify cannot reach). */
export function deepText(depth, kind = 'array') {
  return kind === 'array' ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Values of every wrong shape, JSON-representable (they travel as JSON over the wire). */
export function hostileValue(r, depthBudget = 2) {
  switch (r.int(0, 21)) {
    case 0:
      return null;
    case 1:
      return true;
    case 2:
      return r.pick([0, -1, 1.5, -0.0, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MIN_VALUE]);
    case 3:
      return hostileString(r);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return { toString: 1 };
    case 7:
      return { valueOf: {} , toString: {} };
    case 8:
      return { toString: 'x', valueOf: 'y', toJSON: 1 };
    case 9:
      return JSON.parse('{"__proto__":{"polluted":1}}');
    case 10:
      return { constructor: { prototype: { polluted: 1 } } };
    case 11:
      return deep(r.pick([50, 500, 3000]), r.pick(['array', 'object']));
    case 12:
      return Array.from({ length: r.pick([10, 1000, 6000]) }, (_, i) => i);
    case 13:
      return { length: 1e9 };
    case 14:
      return [null];
    case 15:
      return depthBudget > 0 ? { a: hostileValue(r, depthBudget - 1), b: [hostileValue(r, depthBudget - 1)] } : 'leaf';
    case 16:
      return r.pick(['true', 'false', 'null', '0', '[]', '{}']);
    case 17:
      return Object.fromEntries(Array.from({ length: r.pick([50, 2000]) }, (_, i) => [`k${i}`, i]));
    case 18:
      return r.pick([Date.UTC(2099, 0, 1), Date.UTC(1970, 0, 1), 0, -1, 8.64e15, 8.64e15 + 1]);
    case 19:
      return r.pick(['2026-11-25T10:00:00+08:00', '2099-01-01', '1970-01-01T00:00:00Z', 'yesterday']);
    case 20:
      return { $gt: '' };
    default:
      return [hostileString(r), 1, null, {}];
  }
}

/** A random JSON-ish body text: valid JSON of a hostile value, or broken JSON. */
export function hostileJsonText(r) {
  switch (r.int(0, 11)) {
    case 0:
      return deepText(r.pick([1000, 10_000, 100_000]), r.pick(['array', 'object']));
    case 1:
      return '{"a":';
    case 2:
      return '\u0000\u0001\u0002';
    case 3:
      return '{"a":1,"a":2,"__proto__":{"x":1}}';
    case 4:
      return "{'single':'quotes'}";
    case 5:
      return '[' + '1,'.repeat(r.pick([100, 100_000])) + '1]';
    case 6:
      return '"' + 'x'.repeat(r.pick([10, 200_000])) + '"';
    case 7:
      return '{"x":"\\ud800"}';
    case 8:
      return 'NaN';
    case 9:
      return '';
    case 10:
      return '\ufeff{"a":1}';
    default:
      return safeStringify(hostileValue(r));
  }
}

/** JSON.stringify that never throws (deep values exceed the stack). */
export function safeStringify(v) {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return '"unserialisable"';
  }
}

/**
 * encodeURIComponent that also encodes lone surrogates (as the bytes a careless encoder would
 * send, ED A0 80), where the built-in one throws.
 */
export function enc(s) {
  return String(s)
    .split(/([\ud800-\udfff])/)
    .map((part) => (/^[\ud800-\udfff]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');
}
