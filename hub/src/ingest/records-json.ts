/**
 * A batch's records read from their bytes one record at a time.
 *
 * Design note
 * -----------
 * A collector sends a batch's records as the UTF-8 JSON text of their array (records as bytes,
 * hub/protocol materialiseBatch). Decoding that text whole made one string of the batch — twice
 * its bytes as soon as one record holds Chinese text (a plate number does), 0.5–0.6 MB for 200
 * records — which V8 allocates among its large objects: outside the young generation, freed only
 * by a full collection. At 14,000 records a second that was tens of megabytes a second of old
 * garbage, and decoding into freshly mapped pages cost the hub thread 0.5 s per 200,000 records
 * on a fresh hub and 1.35 s after a few minutes of traffic (docs/benchmarks.md).
 *
 * The collector writes the array as `JSON.stringify(records)`: `[{…},{…},…]`, no whitespace. The
 * bytes are split where `},{` occurs and each piece is decoded and parsed alone — small strings
 * that die young. A split is only a candidate: `},{` can also stand inside a string or close a
 * nested object. Each piece must parse as exactly one JSON object; a piece that ends at a `}`
 * which does not close its own opening `{` (one inside a string, or a nested object's) leaves a
 * string or an object open and does not parse. So when every piece parses, every split was
 * between two records, and the pieces' values are exactly the elements JSON.parse of the whole
 * text gives (the same parser, object by object). Anything else — whitespace, a piece that does
 * not parse, something other than objects, bytes that are not UTF-8 — returns undefined and the
 * batch is read as one text, which also words the error.
 */
import { Buffer, isUtf8 } from 'node:buffer';

const SPLIT = Buffer.from('},{');
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const BRACE_OPEN = 0x7b; // {
const BRACE_CLOSE = 0x7d; // }
const BACKSLASH = 0x5c;

export function readRecordsJson(b: Uint8Array): { records: unknown[]; noEscapes: boolean } | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const n = buf.length;
  if (n < 4 || buf[0] !== OPEN || buf[1] !== BRACE_OPEN || buf[n - 2] !== BRACE_CLOSE || buf[n - 1] !== CLOSE) return undefined;
  if (!isUtf8(buf)) return undefined;
  const records: unknown[] = [];
  // Pieces run from a `{` to the `}` before the next `,{` (the last one to the `}` before `]`).
  let start = 1;
  for (;;) {
    const split = buf.indexOf(SPLIT, start);
    const end = split === -1 ? n - 1 : split + 1;
    let value: unknown;
    try {
      // The bytes of the split are ASCII, so every piece of UTF-8 is UTF-8.
      value = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    records.push(value);
    if (split === -1) break;
    start = split + 2;
  }
  // JSON carries a control character or a lone surrogate only as an escape: see materialiseBatch.
  return { records, noEscapes: buf.indexOf(BACKSLASH) === -1 };
}
