/**
 * Tabular exports with Chinese headers: CSV (UTF-8 with BOM, CRLF — Excel opens it correctly)
 * and XLSX (built in the table worker, table-jobs.ts). One column list drives both, so the two
 * formats never disagree. Routes use defineExportRoute (export-route.ts).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ImportLimits } from './limits.js';
import { readCsvRows, type XlsxCell, type XlsxColumn } from './table-codec.js';
import { localSecond } from '../time/business-time.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Column width in characters (XLSX). */
  width?: number;
}

export type ExportFormat = 'csv' | 'xlsx';

export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * RFC 4180 field quoting; also defuses spreadsheet formula injection (=, +, -, @ at the start).
 * A text of twelve or more digits (业务流水号, long record numbers) gets a trailing tab: Excel
 * opens a CSV by guessing types, and would show such a value as 1.26121E+13 — and keep only 15
 * of its digits once saved. The tab makes it text there; readers that trim, ours included, do
 * not see it.
 */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  else if (typeof v === 'string' && s.length >= 12 && /^\d+$/.test(s)) s = `${s}\t`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Bounds how long the builders below hold the event loop before letting other work run. */
const SLICE_MS = 10;

/**
 * Calls `each` for every row, yielding to the event loop whenever a slice of SLICE_MS has been
 * used, so a 100,000-row export never blocks other requests for long. Linear in rows.
 */
export async function forEachSliced<T>(rows: readonly T[], each: (row: T) => void): Promise<void> {
  let sliceStart = performance.now();
  for (let i = 0; i < rows.length; i++) {
    each(rows[i]!);
    if ((i & 127) === 127 && performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
}

/** Excel-friendly CSV: UTF-8 BOM, CRLF line ends, a CRLF after the last row. */
export async function toCsv<T>(columns: readonly Column<T>[], rows: readonly T[]): Promise<string> {
  const lines = [columns.map((c) => csvField(c.header)).join(',')];
  await forEachSliced(rows, (r) => lines.push(columns.map((c) => csvField(c.value(r))).join(',')));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** XLSX header cells and widths of a column list. */
export function xlsxColumns<T>(columns: readonly Column<T>[]): XlsxColumn[] {
  return columns.map((c) => ({ header: c.header, width: c.width ?? Math.max(10, c.header.length * 2 + 2) }));
}

/** Cell values of the rows in chunks (null/undefined → ''), produced in time slices. */
export async function* xlsxCells<T>(columns: readonly Column<T>[], rows: readonly T[], chunkRows = 2_000): AsyncGenerator<XlsxCell[][]> {
  for (let i = 0; i < rows.length; i += chunkRows) {
    const chunk: XlsxCell[][] = [];
    await forEachSliced(rows.slice(i, i + chunkRows), (r) =>
      chunk.push(
        columns.map((c) => {
          const v = c.value(r);
          return v === null || v === undefined ? '' : v;
        }),
      ),
    );
    yield chunk;
  }
}

/** 'YYYY-MM-DD HH:MM:SS' in China Standard Time; '' for 0/null. */
export function cstTime(ms: number | null | undefined): string {
  if (!ms) return '';
  return localSecond(ms);
}

/** No limits worth the name: for reading the hub's own exports back (reports, tests). */
const TRUSTED: ImportLimits = { maxBytes: 2 ** 31 - 1, maxUnzippedBytes: 2 ** 31 - 1, maxRows: 1_048_575, maxColumns: 16_384, maxCellChars: 32_767 };

/**
 * Parses CSV text (BOM tolerated) into rows of fields, in the calling thread. Uploads do not
 * come here: they go through TableJobs.readTable, in the worker and within the import limits.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  readCsvRows(Buffer.from(text, 'utf8'), TRUSTED, (r) => rows.push(...r));
  return rows;
}

/** Reads the first sheet of an XLSX the hub produced, in the calling thread (see parseCsv). */
export async function readXlsx(buf: Buffer): Promise<string[][]> {
  const { readXlsxRows } = await import('./table-codec.js');
  const rows: string[][] = [];
  await readXlsxRows(buf, TRUSTED, (r) => rows.push(...r));
  return rows;
}
