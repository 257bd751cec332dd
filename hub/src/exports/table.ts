/**
 * Tabular exports with Chinese headers: CSV (UTF-8 with BOM, CRLF — Excel opens it correctly)
 * and XLSX (exceljs). One column list drives both, so the two formats never disagree.
 */
import ExcelJS from 'exceljs';
import type { FastifyReply } from 'fastify';

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

/** RFC 4180 field quoting; also defuses spreadsheet formula injection (=, +, -, @ at the start). */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => csvField(c.header)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvField(c.value(r))).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function toXlsx<T>(columns: readonly Column<T>[], rows: readonly T[], sheetName: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Jianguan';
  wb.created = new Date();
  const ws = wb.addWorksheet(sheetName.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, width: c.width ?? Math.max(10, c.header.length * 2 + 2) }));
  ws.getRow(1).font = { bold: true };
  for (const r of rows) {
    ws.addRow(
      columns.map((c) => {
        const v = c.value(r);
        return v === null || v === undefined ? '' : v;
      }),
    );
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const CST = 8 * 3_600_000;
/** 'YYYY-MM-DD HH:MM:SS' in China Standard Time; '' for 0/null. */
export function cstTime(ms: number | null | undefined): string {
  if (!ms) return '';
  return new Date(ms + CST).toISOString().replace('T', ' ').slice(0, 19);
}

/** Sends a table as CSV or XLSX with a Chinese file name. */
export async function sendTable<T>(reply: FastifyReply, format: ExportFormat, baseName: string, columns: readonly Column<T>[], rows: readonly T[]): Promise<FastifyReply> {
  const file = `${baseName}.${format}`;
  const disposition = `attachment; filename="export.${format}"; filename*=UTF-8''${encodeURIComponent(file)}`;
  if (format === 'csv') {
    return reply.type('text/csv; charset=utf-8').header('content-disposition', disposition).send(toCsv(columns, rows));
  }
  const buf = await toXlsx(columns, rows, baseName);
  return reply
    .type(EXPORT_CONTENT_TYPES.xlsx)
    .header('content-disposition', disposition)
    .send(buf);
}

/** Reads the first sheet of an XLSX file as rows of cell text (header row included). */
export async function readXlsx(buf: Buffer): Promise<string[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as never);
  const ws = wb.worksheets[0];
  if (!ws) return [];
  const out: string[][] = [];
  ws.eachRow({ includeEmpty: false }, (row) => {
    const cells: string[] = [];
    for (let i = 1; i <= ws.columnCount; i++) {
      const v = row.getCell(i).value;
      cells.push(cellText(v));
    }
    out.push(cells);
  });
  return out;
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return String(v.text);
    if ('result' in v) return String(v.result ?? '');
    return '';
  }
  return String(v);
}

/** Parses CSV (RFC 4180, BOM tolerated) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((f) => f !== '') || row.length > 1) rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
