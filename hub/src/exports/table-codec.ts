/**
 * The CPU-heavy half of table imports and exports: XLSX and CSV parsing, XLSX building. This
 * module runs inside the table worker thread (table-worker.ts); it has no hub state and returns
 * rows in chunks so the receiving side never deserialises one huge message.
 *
 * Every parser is linear in its input and checks the import limits while it reads, so a file
 * over a limit fails on the first row, column or cell that breaks it.
 */
import { PassThrough } from 'node:stream';
import { parse as parseCsvSync, CsvError } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { HubError } from '../errors.js';
import type { CsvEncoding } from '../protocol/index.js';
import type { ImportLimits } from './limits.js';
import { guardXlsx } from './zip-guard.js';

/** Rows per chunk handed back to the caller. */
export const ROW_CHUNK = 2_000;

export type RowSink = (rows: string[][]) => void;

/** 1-based column number → letters (1 → 'A'). */
export function columnLetters(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

/**
 * An Excel date cell as the wall-clock text it shows: `YYYY-MM-DD`, with ` HH:MM:SS` when it has a
 * time of day. Excel stores a date as a serial day with no time zone; exceljs hands it over as
 * the Date whose UTC fields are that wall clock. The registry reads such text as local time, as
 * it reads a date typed into a CSV; an ISO instant ("…T00:00:00.000Z") was refused as no date,
 * and read as UTC it would have started a filing at 08:00.
 */
export function excelDateText(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString();
  const time = iso.slice(11, 19);
  return time === '00:00:00' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${time}`;
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return excelDateText(v);
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return String(v.text);
    // A formula's cached result: a date (=DATE(…), =EDATE(…)) as a date cell, an error value
    // (#REF!) as its text for the row report to name, anything else as text.
    if ('result' in v) {
      const r = v.result;
      if (r instanceof Date) return excelDateText(r);
      if (typeof r === 'object' && r !== null) return 'error' in r ? String(r.error) : '';
      return typeof r === 'number' ? numberText(r) : String(r ?? '');
    }
    return '';
  }
  return typeof v === 'number' ? numberText(v) : String(v);
}

/**
 * A number cell as text. One of 16 digits or more is as Excel shows it in a narrow column,
 * 4.51202199811111E+17, not as a run of digits: Excel keeps 15 significant digits, so an
 * 18-digit identity number typed into a number cell has lost its last three, and written out as
 * 451202199811110000 it could pass for a real number (one such in eleven has a fitting check
 * digit) and be filed as a person nobody is. In this form every code or identity check refuses it.
 */
function numberText(v: number): string {
  if (!Number.isInteger(v) || Math.abs(v) < 1e15) return String(v);
  return Number(v.toPrecision(15)).toExponential().toUpperCase();
}

function checkCell(text: string, row: number, col: number, limits: ImportLimits): void {
  if (text.length > limits.maxCellChars) {
    throw new HubError('IMPORT_CELL_TOO_LONG', `cell ${columnLetters(col)}${row} (row ${row}, column ${col}) has ${text.length} characters, limit ${limits.maxCellChars}`);
  }
}

/**
 * Reads the first sheet of an XLSX file as rows of cell text (header row included), each row
 * padded to the sheet's width. Refuses zip bombs and sheets over the limits before loading.
 */
export async function readXlsxRows(buf: Buffer, limits: ImportLimits, sink: RowSink): Promise<number> {
  refuseCompoundFile(buf);
  guardXlsx(buf, limits);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as never);
  const ws = wb.worksheets[0];
  if (!ws) return 0;
  // One pass over the rows for the width, taken once: `ws.columnCount` rescans every row on
  // each read, which made the old per-cell loop condition quadratic.
  const width = ws.columnCount;
  if (width > limits.maxColumns) throw new HubError('IMPORT_TOO_MANY_COLUMNS', `first sheet is ${width} columns wide (column ${columnLetters(width)}), limit ${limits.maxColumns}`);
  if (ws.actualRowCount > limits.maxRows + 1) throw new HubError('IMPORT_TOO_MANY_ROWS', `first sheet has ${ws.actualRowCount - 1} data rows, limit ${limits.maxRows}`);
  let chunk: string[][] = [];
  let total = 0;
  ws.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    // Blank rows stay in as empty rows, so the rows handed on are numbered as the sheet is and a
    // report's "row 7" is the row a person finds in Excel.
    if (rowNumber > limits.maxRows + 1) throw new HubError('IMPORT_TOO_MANY_ROWS', `first sheet has a row at ${rowNumber}, limit ${limits.maxRows} data rows`);
    while (total < rowNumber - 1) {
      chunk.push([]);
      total++;
    }
    const cells: string[] = new Array<string>(width);
    for (let i = 1; i <= width; i++) {
      const text = cellText(row.getCell(i).value);
      checkCell(text, rowNumber, i, limits);
      cells[i - 1] = text;
    }
    chunk.push(cells);
    total++;
    if (chunk.length >= ROW_CHUNK) {
      sink(chunk);
      chunk = [];
    }
  });
  if (chunk.length) sink(chunk);
  return total;
}

/** What a CSV upload was read as: the rows handed to the sink, the encoding and the delimiter. */
export interface CsvRead {
  rows: number;
  encoding: CsvEncoding;
  delimiter: ',' | '\t';
}

const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/**
 * An OLE2 compound file: an Excel 97–2003 workbook (.xls), or an .xlsx saved with a password
 * (Excel wraps the encrypted package in one). Neither can be read; both are refused by name.
 */
export function refuseCompoundFile(buf: Buffer): void {
  if (buf.length >= 8 && buf.subarray(0, 8).equals(OLE2_MAGIC)) {
    throw new HubError('IMPORT_FORMAT', 'an Excel 97-2003 workbook (.xls) or a password-protected workbook cannot be read; save it as .xlsx without a password, or as CSV');
  }
}

/**
 * The text of an uploaded CSV and the encoding it was read in. A byte-order mark decides (Excel's
 * "CSV UTF-8" writes one, its "Unicode text" is UTF-16LE with one); without one, UTF-8 when the
 * bytes are valid UTF-8, else GB18030 — what Excel on a Chinese Windows writes for plain
 * "CSV (逗号分隔)" (code page 936, GBK, which GB18030 contains). Real Chinese text in GBK is
 * practically never valid UTF-8, so the order is safe. Bytes valid in neither are refused: read
 * with replacement characters, a file with English headers would file names like "��" without
 * a word. An Excel 97–2003 or password-protected workbook is named as such, not parsed as text.
 */
export function decodeCsv(buf: Buffer): { text: string; encoding: CsvEncoding } {
  refuseCompoundFile(buf);
  const decode = (encoding: CsvEncoding, from: number) => new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(buf.subarray(from));
  let text: string;
  let encoding: CsvEncoding;
  try {
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) text = decode((encoding = 'utf-8'), 3);
    else if (buf[0] === 0xff && buf[1] === 0xfe) text = decode((encoding = 'utf-16le'), 2);
    else if (buf[0] === 0xfe && buf[1] === 0xff) text = decode((encoding = 'utf-16be'), 2);
    else {
      try {
        text = decode((encoding = 'utf-8'), 0);
      } catch {
        text = decode((encoding = 'gb18030'), 0);
      }
    }
  } catch {
    throw new HubError('IMPORT_ENCODING', 'the file is neither UTF-8 nor GB18030 (GBK) text; save it as "CSV UTF-8" or .xlsx');
  }
  // UTF-16 without its mark decodes as "valid" UTF-8 full of NULs; so does a binary file.
  if (text.includes('\0')) throw new HubError('IMPORT_ENCODING', `the file holds NUL characters as read in ${encoding}; save it as "CSV UTF-8" or .xlsx`);
  return { text, encoding };
}

/**
 * Parses CSV (RFC 4180, CRLF or LF; the text decoded by decodeCsv) into rows of fields, within
 * the import limits. A blank line is an empty row, as it is a row in Excel, so rows keep the
 * numbers a person sees there. The delimiter is a comma, or a tab when the first line has
 * tabs and no comma (Excel's "Unicode text"). Lenient about stray quotes and ragged rows, as
 * registry files exported from other systems often have both; the row validator reports missing
 * fields.
 */
export function readCsvRows(buf: Buffer, limits: ImportLimits, sink: RowSink): CsvRead {
  if (buf.length > limits.maxBytes) throw new HubError('IMPORT_TOO_LARGE', `file is ${buf.length} bytes, limit ${limits.maxBytes}`);
  const { text, encoding } = decodeCsv(buf);
  const lineEnd = text.search(/[\r\n]/);
  const first = lineEnd < 0 ? text : text.slice(0, lineEnd);
  const delimiter = first.includes('\t') && !first.includes(',') ? '\t' : ',';
  let chunk: string[][] = [];
  let total = 0;
  let failure: HubError | undefined;
  try {
    parseCsvSync(text, {
      delimiter,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: false,
      // Mixed line ends, as the old reader accepted; csv-parse would otherwise fix on the first.
      record_delimiter: ['\r\n', '\n', '\r'],
      // One record may not buffer more than a row of maximal cells.
      max_record_size: limits.maxCellChars * limits.maxColumns + limits.maxColumns,
      on_record: (record: string[], ctx) => {
        const line = ctx.lines;
        if (record.length > limits.maxColumns) {
          failure = new HubError('IMPORT_TOO_MANY_COLUMNS', `line ${line} has ${record.length} columns, limit ${limits.maxColumns}`);
          throw failure;
        }
        record.forEach((text, i) => checkCell(text, line, i + 1, limits));
        if (++total > limits.maxRows + 1) {
          failure = new HubError('IMPORT_TOO_MANY_ROWS', `more than ${limits.maxRows} data rows (line ${line}), limit ${limits.maxRows}`);
          throw failure;
        }
        chunk.push(record);
        if (chunk.length >= ROW_CHUNK) {
          sink(chunk);
          chunk = [];
        }
        // Records are handed out in chunks above; the parser need not keep them.
        return null;
      },
    });
  } catch (e) {
    if (failure) throw failure;
    if (e instanceof HubError) throw e;
    if (e instanceof CsvError && e.code === 'CSV_MAX_RECORD_SIZE') {
      throw new HubError('IMPORT_CELL_TOO_LONG', `a record near line ${(e as unknown as { lines?: number }).lines ?? '?'} exceeds ${limits.maxCellChars} characters per cell`);
    }
    throw e;
  }
  if (chunk.length) sink(chunk);
  return { rows: total, encoding, delimiter };
}

export interface XlsxColumn {
  header: string;
  width: number;
}

export type XlsxCell = string | number;

/**
 * Builds an XLSX with exceljs's streaming writer: rows are serialised as they arrive and the
 * model is never held in memory, so memory stays flat however many rows are exported.
 */
export class XlsxBuilder {
  private readonly chunks: Buffer[] = [];
  private readonly sink = new PassThrough();
  private readonly wb: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly ws: ExcelJS.Worksheet;

  constructor(sheetName: string, columns: readonly XlsxColumn[]) {
    this.sink.on('data', (c: Buffer) => this.chunks.push(c));
    this.wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: this.sink, useStyles: true, useSharedStrings: true });
    this.wb.creator = 'Jianguan';
    this.wb.created = new Date();
    this.ws = this.wb.addWorksheet(sheetName.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
    this.ws.columns = columns.map((c) => ({ header: c.header, width: c.width }));
    this.ws.getRow(1).font = { bold: true };
  }

  add(rows: readonly (readonly XlsxCell[])[]): void {
    for (const r of rows) this.ws.addRow([...r]).commit();
  }

  async finish(): Promise<Buffer> {
    this.ws.commit();
    await this.wb.commit();
    return Buffer.concat(this.chunks);
  }
}
