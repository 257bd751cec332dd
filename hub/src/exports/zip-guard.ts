/**
 * Zip-bomb and oversized-sheet guard for XLSX imports, run before exceljs sees the file.
 *
 * An XLSX is a zip of XML parts, so a 94 KB upload can inflate to gigabytes, or hold a single
 * cell in column XFD that makes every row 16,384 cells wide. exceljs materialises the whole
 * workbook model, so the only safe moment to say no is before it starts. We therefore:
 *
 *  1. read the zip central directory ourselves (entry count, declared sizes, methods) and refuse
 *     when the declared total exceeds the unzipped-byte limit;
 *  2. inflate every entry with a hard output cap (`maxOutputLength`): a declared size is only a
 *     claim, and an entry that inflates past its claim or the remaining budget is refused;
 *  3. scan each worksheet's XML text (bounded by step 2) for its `<dimension>` claim, the widest
 *     cell reference and the number of `<row>` elements, and refuse sheets over the row or
 *     column limit with the cell that breaks it.
 *
 * Everything here is linear in the file's inflated size, which step 1 and 2 bound.
 */
import zlib from 'node:zlib';
import { HubError } from '../errors.js';
import type { ImportLimits } from './limits.js';

const EOCD_SIG = 0x06054b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
/** An XLSX written by Excel, LibreOffice or exceljs has a few dozen parts. */
const MAX_ENTRIES = 1_000;

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function tooLarge(detail: string): HubError {
  return new HubError('IMPORT_TOO_LARGE', detail);
}

function notZip(detail: string): HubError {
  return new HubError('BODY_INVALID', `not a readable XLSX (zip): ${detail}`);
}

function centralDirectory(buf: Buffer): ZipEntry[] {
  // The end-of-central-directory record is the last 22 bytes plus an optional comment (≤ 65,535).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  // Zip64 markers: no import within the byte limit needs them, and they would let sizes escape
  // the 32-bit fields checked below.
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw notZip('zip64 archives are not accepted');
  if (count > MAX_ENTRIES) throw tooLarge(`zip has ${count} parts (limit ${MAX_ENTRIES})`);
  if (cdOffset + cdSize > buf.length) throw notZip('central directory out of range');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CDIR_SIG) throw notZip('bad central directory record');
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    entries.push({
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function inflateEntry(buf: Buffer, e: ZipEntry, budget: number): Buffer {
  const h = e.localOffset;
  if (h + 30 > buf.length || buf.readUInt32LE(h) !== LOCAL_SIG) throw notZip(`bad local header for ${e.name}`);
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const end = start + e.compressedSize;
  if (end > buf.length) throw notZip(`${e.name} runs past the end of the file`);
  const raw = buf.subarray(start, end);
  if (e.method === 0) {
    if (raw.length !== e.size) throw notZip(`${e.name}: stored size mismatch`);
    return raw;
  }
  if (e.method !== 8) throw notZip(`${e.name}: compression method ${e.method} is not supported`);
  // The cap is the smaller of the entry's own claim and what is left of the budget, so neither a
  // lying header nor many honest parts can push the total past the limit.
  const cap = Math.min(e.size, budget);
  if (cap === 0) return Buffer.alloc(0);
  try {
    // Past the cap zlib stops and throws ERR_BUFFER_TOO_LARGE instead of allocating more.
    return zlib.inflateRawSync(raw, { maxOutputLength: cap });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(`${e.name} inflates to more than ${cap < e.size ? `the ${budget} bytes left of the unzipped limit` : `its declared ${e.size} bytes`}`);
    }
    throw notZip(`${e.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Column letters → 1-based index ('A' → 1, 'XFD' → 16384). */
export function columnIndex(letters: string): number {
  let n = 0;
  for (let i = 0; i < letters.length; i++) n = n * 26 + (letters.charCodeAt(i) - 64);
  return n;
}

export interface SheetScan {
  part: string;
  /** Widest column referenced by any cell, and the first cell that reaches it. */
  maxColumn: number;
  maxColumnCell: string;
  /** `<row>` elements (rows with content or formatting). */
  rowElements: number;
}

/**
 * Applies the row and column limits to one worksheet's XML, before any parsing.
 * `limits.maxRows` counts data rows, so the header row is allowed on top.
 */
export function scanSheetXml(part: string, xml: string, limits: ImportLimits): SheetScan {
  const dim = /<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"/.exec(xml);
  if (dim) {
    const cols = columnIndex(dim[3] ?? dim[1]!);
    const rows = Number(dim[4] ?? dim[2]);
    if (cols > limits.maxColumns) {
      throw new HubError('IMPORT_TOO_MANY_COLUMNS', `${part} declares the range ${dim[0].slice(dim[0].indexOf('"') + 1, -1)}: ${cols} columns, limit ${limits.maxColumns}`);
    }
    if (rows > limits.maxRows + 1) {
      throw new HubError('IMPORT_TOO_MANY_ROWS', `${part} declares the range ${dim[0].slice(dim[0].indexOf('"') + 1, -1)}: ${rows - 1} data rows, limit ${limits.maxRows}`);
    }
  }
  let maxColumn = 0;
  let maxColumnCell = '';
  // `r="B12"` only appears on <c> elements (rows carry digits only, ranges use `ref=`/`sqref=`).
  const cellRef = /\br="([A-Z]{1,3})(\d+)"/g;
  for (let m = cellRef.exec(xml); m; m = cellRef.exec(xml)) {
    const c = columnIndex(m[1]!);
    if (c > maxColumn) {
      maxColumn = c;
      maxColumnCell = `${m[1]}${m[2]}`;
      if (c > limits.maxColumns) {
        throw new HubError('IMPORT_TOO_MANY_COLUMNS', `${part} has a cell at ${maxColumnCell} (row ${m[2]}, column ${c}), limit ${limits.maxColumns} columns`);
      }
    }
  }
  let rowElements = 0;
  const rowTag = /<(?:\w+:)?row[\s>]/g;
  while (rowTag.exec(xml)) {
    if (++rowElements > limits.maxRows + 1) {
      throw new HubError('IMPORT_TOO_MANY_ROWS', `${part} has more than ${limits.maxRows} data rows, limit ${limits.maxRows}`);
    }
  }
  return { part, maxColumn, maxColumnCell, rowElements };
}

/**
 * Checks an XLSX upload against the byte, unzipped-byte, row and column limits without building
 * any workbook model. Throws a coded HubError naming the limit and where it was broken.
 */
export function guardXlsx(buf: Buffer, limits: ImportLimits): SheetScan[] {
  if (buf.length > limits.maxBytes) throw tooLarge(`file is ${buf.length} bytes, limit ${limits.maxBytes}`);
  const entries = centralDirectory(buf);
  let declared = 0;
  for (const e of entries) declared += e.size;
  if (declared > limits.maxUnzippedBytes) throw tooLarge(`parts declare ${declared} bytes unzipped, limit ${limits.maxUnzippedBytes}`);
  let budget = limits.maxUnzippedBytes;
  const scans: SheetScan[] = [];
  for (const e of entries) {
    if (e.name.endsWith('/')) continue;
    const data = inflateEntry(buf, e, budget);
    budget -= data.length;
    // exceljs loads every worksheet, not just the first, so every one must be within limits.
    if (/^xl\/worksheets\/[^/]+\.xml$/.test(e.name)) scans.push(scanSheetXml(e.name, data.toString('utf8'), limits));
  }
  return scans;
}
