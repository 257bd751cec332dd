/**
 * Splitting bytes into records and records into fields, for JSONL and CSV (RFC 4180 with a header
 * row). Works on bytes so that read positions stay byte offsets: '\n' (0x0A) and '"' (0x22) never
 * occur inside a multi-byte character in UTF-8 or GB18030/GBK, so a byte scan finds the same
 * boundaries as a character scan.
 *
 * A record ends at a '\n' outside quotes (CSV) or at any '\n' (JSONL). The bytes after the last
 * such '\n' are an incomplete record and are left for later — unless the caller says the input is
 * final (a complete file in a drop folder, or a file that was rotated away).
 */
import { TextDecoder } from 'node:util';

export type Encoding = 'utf8' | 'gb18030';

export interface RawRecord {
  /** Byte offset of the record's first byte in the file. */
  start: number;
  /** Byte offset just past the record (after its newline). */
  end: number;
  /** 1-based number of the record's first physical line. */
  line: number;
  /** Physical lines the record spans (a quoted CSV field may hold newlines). */
  lines: number;
  bytes: Buffer;
}

export interface SplitResult {
  records: RawRecord[];
  /** Bytes consumed from the start of the buffer (a record boundary). */
  consumed: number;
  /** Physical lines consumed. */
  lines: number;
}

const NL = 0x0a;
const QUOTE = 0x22;

/**
 * Splits `buf` (starting at file offset `offset`, physical line `line` + 1) into complete records.
 * Blank records are returned too (the caller skips them) so that line numbers stay exact.
 */
export function splitRecords(buf: Buffer, at: { offset: number; line: number }, opts: { csv: boolean; final: boolean }): SplitResult {
  const records: RawRecord[] = [];
  let recStart = 0;
  let recLine = at.line + 1;
  let lines = 0;
  let inQuotes = false;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (opts.csv && b === QUOTE) {
      inQuotes = !inQuotes;
      continue;
    }
    if (b !== NL) continue;
    lines += 1;
    if (inQuotes) continue;
    const span = lines - (recLine - at.line - 1);
    records.push({ start: at.offset + recStart, end: at.offset + i + 1, line: recLine, lines: span, bytes: buf.subarray(recStart, i + 1) });
    recStart = i + 1;
    recLine = at.line + lines + 1;
  }
  if (opts.final && recStart < buf.length) {
    const tailLines = lines - (recLine - at.line - 1) + 1;
    records.push({ start: at.offset + recStart, end: at.offset + buf.length, line: recLine, lines: tailLines, bytes: buf.subarray(recStart) });
    lines += 1;
    recStart = buf.length;
  }
  return { records, consumed: recStart, lines };
}

/**
 * Nesting depth allowed in one JSON text (an HTTP body or one JSON line). Real records are three or
 * four levels deep; the limit is far above that and far below what the recursive walks after
 * parsing (JSON.stringify, structuredClone, schema checks) survive — 10,000 levels overflow the
 * stack there even though JSON.parse itself copes.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether `text`, read as JSON, opens more than `max` arrays/objects inside one another. A linear
 * scan without recursion (it must not fall over on the input it guards against); brackets inside
 * strings do not count. Run it before JSON.parse so a bomb costs one pass over the bytes.
 */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return false;
}

const decoders = new Map<Encoding, TextDecoder>();

/** Decodes one record (strict: invalid bytes throw), without its line ending and a leading BOM. */
export function decodeRecord(bytes: Buffer, encoding: Encoding): string {
  let d = decoders.get(encoding);
  if (!d) {
    d = new TextDecoder(encoding === 'utf8' ? 'utf-8' : 'gb18030', { fatal: true, ignoreBOM: false });
    decoders.set(encoding, d);
  }
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === NL) end -= 1;
  if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
  try {
    return d.decode(bytes.subarray(0, end)).replace(/^\uFEFF/, '');
  } catch {
    throw new Error(`not valid ${encoding === 'utf8' ? 'UTF-8' : 'GB18030'} text`);
  }
}

/**
 * Parses one CSV record into fields (RFC 4180: quoted fields may hold the delimiter, newlines and
 * doubled quotes). Throws on a stray quote.
 */
export function parseCsvRecord(text: string, delimiter = ','): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (i < n && text[i] === '"') {
      let v = '';
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new Error(`unterminated quoted field ${out.length + 1}`);
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < n && text[i] !== delimiter) throw new Error(`unexpected text after the closing quote of field ${out.length + 1}`);
      out.push(v);
    } else {
      const d = text.indexOf(delimiter, i);
      const v = d === -1 ? text.slice(i) : text.slice(i, d);
      if (v.includes('"')) throw new Error(`stray quote in unquoted field ${out.length + 1}`);
      out.push(v);
      i = d === -1 ? n : d;
    }
    if (i >= n) break;
    i += 1; // the delimiter
    if (i === n) {
      out.push('');
      break;
    }
  }
  return out;
}

/** Header cells → column names as adapters read them (trimmed, upper-cased). */
export function headerColumns(fields: readonly string[]): string[] {
  return fields.map((f) => f.trim().toUpperCase());
}

/** A CSV row as an object keyed by the header's column names. */
export function rowObject(header: readonly string[], fields: readonly string[]): Record<string, string> {
  if (fields.length !== header.length) throw new Error(`expected ${header.length} fields (as the header), got ${fields.length}`);
  const o: Record<string, string> = {};
  header.forEach((h, i) => {
    o[h] = fields[i]!;
  });
  return o;
}

/**
 * Identity numbers in a text, masked (reject reports must not store raw ids): 18 characters whose
 * digits 7–14 are a birth date, check digit or not — business numbers such as jylsh are left alone.
 */
export function maskIdentityNumbers(text: string): string {
  return text.replace(/(?<![0-9A-Za-z])(\d{4})(\d{2})((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(\d{3}[0-9Xx])(?![0-9A-Za-z])/g, (_m, a: string, _b, _y, _mo, _d, tail: string) => `${a.slice(0, 2)}**************${tail.slice(-2).toUpperCase()}`);
}
