/**
 * Rows written as UTF-8 lines straight into bytes: the hot path's insert payload.
 *
 * Building a batch's rows as one string (`text += JSON.stringify(row) + '\n'`) made a large string
 * — two bytes per character as soon as one row holds Chinese text — which the store writer then
 * flattened, concatenated with its group's other texts and converted to UTF-8 once more for the
 * engine. Written row by row into a Buffer, the bytes go to the engine as they are (chDB's raw
 * insert takes them without a copy).
 *
 * `jsonLine` goes one step further and writes a value's JSON text into the bytes without making
 * the JSON string first. `JSON.stringify` of a transaction row allocated about 3.4 KB (the row's
 * text, built one-byte and copied to two-byte at its first Chinese character), the whole round
 * trip through a string about 6 KB per row; written value by value, 1.1 KB (mostly the short
 * strings numbers print as) at the same CPU, and the hub allocates 12.1 instead of 15.5 KB per
 * record at saturation (docs/benchmarks.md, "Rows written as JSON without the string").
 * The text is exactly `JSON.stringify(value)`: anything this writer does not handle itself
 * (a string that needs escaping, an object with `toJSON` or a prototype of its own, a BigInt)
 * goes through `JSON.stringify` for that value alone, so the two never differ (hub/test/line-buffer.test.ts
 * compares them on generated values full of such cases).
 */

/** Strings that need no escaping and are ASCII: written byte for byte. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Strings that need no escaping (no control character, quote, backslash or lone surrogate). */
const PLAIN = /^[^\x00-\x1f"\\\ud800-\udfff]*$/;
/** Below this length a string is checked and copied in one JavaScript loop (cheaper than a native call). */
const SHORT = 24;

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const NEWLINE = 10;
const MINUS = 45;
const ZERO = 48;
/** 10^0 … 10^15: a safe integer has at most 16 digits. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** What JSON.stringify leaves out of an object and writes as null in an array. */
const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

export class LineBuffer {
  private buf: Buffer;
  private off = 0;
  private count = 0;

  constructor(expectedBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(256, expectedBytes));
  }

  /** Appends `line` and a newline. `line` must not contain one (JSON text never does). */
  line(line: string): void {
    this.text(line);
    this.byte(NEWLINE);
    this.count++;
  }

  /** Appends `JSON.stringify(value)` and a newline, without making that string. */
  jsonLine(value: unknown): void {
    const start = this.off;
    try {
      this.value(value);
    } catch (e) {
      // A value JSON.stringify refuses (a BigInt; a cycle, which here overflows the stack where
      // JSON.stringify names it): no half-written line stays behind.
      this.off = start;
      throw e;
    }
    this.byte(NEWLINE);
    this.count++;
  }

  /** Lines written so far. */
  get lines(): number {
    return this.count;
  }

  /** The bytes written (a view: write no more lines once taken). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  private room(n: number): void {
    if (this.buf.length - this.off >= n) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(grown, 0, 0, this.off);
    this.buf = grown;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.off++] = b;
  }

  /** Any text as UTF-8 (a UTF-8 character takes at most 3 bytes per UTF-16 code unit). */
  private text(s: string): void {
    this.room(s.length * 3);
    this.off += this.buf.write(s, this.off, 'utf8');
  }

  /** Text known to be ASCII (numbers, literals). */
  private ascii(s: string): void {
    const len = s.length;
    this.room(len);
    const buf = this.buf;
    let o = this.off;
    for (let i = 0; i < len; i++) buf[o++] = s.charCodeAt(i);
    this.off = o;
  }

  /** A safe integer as String prints it (no exponent below 1e21; -0 as 0). */
  private integer(v: number): void {
    this.room(17); // a sign and at most 16 digits
    const buf = this.buf;
    let o = this.off;
    if (v < 0) {
      buf[o++] = MINUS;
      v = -v;
    }
    let len = 1;
    while (len < POW10.length && v >= POW10[len]!) len++;
    o += len;
    this.off = o;
    // Exact: for v < 2^53, v / 10 is never rounded up to the next integer.
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--o] = ZERO + (v - q * 10);
      v = q;
    }
    buf[--o] = ZERO + v;
  }

  private string(s: string): void {
    const len = s.length;
    this.room(len * 3 + 2);
    const buf = this.buf;
    let o = this.off;
    if (len < SHORT) {
      buf[o++] = QUOTE;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c === QUOTE || c === 92 || c >= 0x80) return this.longString(s);
        buf[o++] = c;
      }
      buf[o++] = QUOTE;
      this.off = o;
      return;
    }
    this.longString(s);
  }

  /** Room for the quoted string is made by `string`. */
  private longString(s: string): void {
    const buf = this.buf;
    let o = this.off;
    if (PLAIN_ASCII.test(s)) {
      buf[o++] = QUOTE;
      o += buf.write(s, o, 'latin1');
      buf[o++] = QUOTE;
      this.off = o;
    } else if (PLAIN.test(s)) {
      buf[o++] = QUOTE;
      o += buf.write(s, o, 'utf8');
      buf[o++] = QUOTE;
      this.off = o;
    } else {
      this.text(JSON.stringify(s));
    }
  }

  private value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        // JSON.stringify prints a finite number as String does (-0 as 0) and the others as null.
        // Integers (times, sequence numbers, counts) are written digit by digit: String(v) made
        // a string per value that V8's number-string cache then kept alive past a scavenge.
        if (Number.isSafeInteger(v)) return this.integer(v);
        return this.ascii(Number.isFinite(v) ? String(v) : 'null');
      case 'boolean':
        return this.ascii(v ? 'true' : 'false');
      case 'object':
        if (v === null) return this.ascii('null');
        if (typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
          if (Array.isArray(v)) return this.array(v);
          if (Object.getPrototypeOf(v) === Object.prototype) return this.object(v as Record<string, unknown>);
        }
        return this.text(JSON.stringify(v) ?? 'null');
      default:
        // BigInt throws as JSON.stringify does; undefined, functions and symbols at the top
        // level have no JSON text (JSON.stringify answers undefined): written as null.
        return this.text(JSON.stringify(v) ?? 'null');
    }
  }

  private array(a: readonly unknown[]): void {
    this.byte(OPEN_ARRAY);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(COMMA);
      const x = a[i];
      if (skipped(x)) this.ascii('null');
      else this.value(x);
    }
    this.byte(CLOSE_ARRAY);
  }

  private object(o: Record<string, unknown>): void {
    this.byte(OPEN_OBJECT);
    let first = true;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (skipped(x)) continue;
      if (!first) this.byte(COMMA);
      first = false;
      this.string(k);
      this.byte(COLON);
      this.value(x);
    }
    this.byte(CLOSE_OBJECT);
  }
}
