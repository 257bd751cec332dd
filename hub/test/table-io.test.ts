/**
 * Table imports and exports outside the HTTP layer: the zip-bomb and sheet-size guard, the
 * CSV and XLSX readers with their limits, the worker pool (real worker thread) and the job gate.
 * Every file is built here with exceljs or by hand; nothing is mocked.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { HubError } from '../src/errors.js';
import type { ImportLimits } from '../src/exports/limits.js';
import { excelDateText, readCsvRows, readXlsxRows } from '../src/exports/table-codec.js';
import { TableJobs } from '../src/exports/table-jobs.js';
import { toCsv, xlsxCells, xlsxColumns, type Column } from '../src/exports/table.js';
import { guardXlsx } from '../src/exports/zip-guard.js';
import { gb18030 } from './gb18030.js';

const LIMITS: ImportLimits = { maxBytes: 20 * 1024 * 1024, maxUnzippedBytes: 128 * 1024 * 1024, maxRows: 50_000, maxColumns: 64, maxCellChars: 2_000 };

const jobs = new TableJobs({ import: LIMITS, exportMaxXlsxCells: 3_000_000, jobsPerUser: 2, jobsTotal: 3, workers: 1 });
afterAll(async () => {
  await jobs.close();
});

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e instanceof HubError ? e.code : `not a HubError: ${String(e)}`;
  }
  return 'no error';
}

async function xlsx(build: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  build(wb.addWorksheet('人员'));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The attacker's file: 3,000 ordinary rows and one cell in the last column (XFD). */
const xfdSheet = () =>
  xlsx((ws) => {
    ws.addRow(['编号', '机构', '角色']);
    for (let i = 1; i <= 3_000; i++) ws.addRow([`S${i}`, 'JCJ-JYZ', '查验员']);
    ws.getCell('XFD3000').value = 'x';
  });

const staffSheet = (rows: number) =>
  xlsx((ws) => {
    ws.addRow(['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止', '准驾车型']);
    for (let i = 1; i <= rows; i++) ws.addRow([`JCJ-JYZ-T${String(i).padStart(5, '0')}`, 'JCJ-JYZ', '查验员', `测试${i}`, '是', '2026-01-01', '', '']);
  });

/** A zip with one entry; `declared` overrides the uncompressed size written in the headers. */
function zipOf(name: string, content: Buffer, declared = content.length): Buffer {
  const data = zlib.deflateRawSync(content);
  const nameBuf = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(nameBuf.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(nameBuf.length, 28);
  central.writeUInt32LE(0, 42);
  const cdOffset = local.length + nameBuf.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + nameBuf.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBuf, data, central, nameBuf, eocd]);
}

describe('XLSX guard (before exceljs loads anything)', () => {
  it('refuses the XFD-cell sheet with the column-limit code, quickly', async () => {
    const buf = await xfdSheet();
    const started = performance.now();
    let err: unknown;
    try {
      guardXlsx(buf, LIMITS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('IMPORT_TOO_MANY_COLUMNS');
    // Names where: the declared range or the cell, and the column number found.
    expect((err as HubError).message).toMatch(/XFD/);
    expect((err as HubError).message).toMatch(/16384/);
    // The old reader ran for 13 minutes on this file; the guard is a linear text scan.
    const took = performance.now() - started;
    console.log(`XFD sheet refused by the guard in ${Math.round(took)} ms`);
    expect(took).toBeLessThan(2_000);
  });

  it('refuses a zip bomb by its declared size', () => {
    const bomb = zipOf('xl/worksheets/sheet1.xml', Buffer.alloc(4 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(() => guardXlsx(bomb, { ...LIMITS, maxUnzippedBytes: 1024 * 1024 })).toThrowError(expect.objectContaining({ code: 'IMPORT_TOO_LARGE' }));
  });

  it('refuses a zip bomb that lies about its size', () => {
    const liar = zipOf('xl/worksheets/sheet1.xml', Buffer.alloc(4 * 1024 * 1024, 0x20), 1_000);
    expect(() => guardXlsx(liar, { ...LIMITS, maxUnzippedBytes: 1024 * 1024 })).toThrowError(expect.objectContaining({ code: 'IMPORT_TOO_LARGE' }));
  });

  it('refuses a sheet whose dimension claims more rows than the limit', () => {
    const xml = '<worksheet><dimension ref="A1:C1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>';
    expect(() => guardXlsx(zipOf('xl/worksheets/sheet1.xml', Buffer.from(xml)), LIMITS)).toThrowError(expect.objectContaining({ code: 'IMPORT_TOO_MANY_ROWS' }));
  });

  it('lets an ordinary workbook through and reports its shape', async () => {
    const scans = guardXlsx(await staffSheet(10), LIMITS);
    expect(scans).toEqual([expect.objectContaining({ part: 'xl/worksheets/sheet1.xml', maxColumn: 8, rowElements: 11 })]);
  });
});

describe('readers', () => {
  it('reads an XLSX as padded rows of text and enforces the row and cell limits', async () => {
    const rows: string[][] = [];
    const n = await readXlsxRows(await staffSheet(5), LIMITS, (r) => rows.push(...r));
    expect(n).toBe(6);
    expect(rows[0]).toEqual(['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止', '准驾车型']);
    expect(rows[1]).toEqual(['JCJ-JYZ-T00001', 'JCJ-JYZ', '查验员', '测试1', '是', '2026-01-01', '', '']);
    expect(await codeOf(readXlsxRows(await staffSheet(5), { ...LIMITS, maxRows: 4 }, () => undefined))).toBe('IMPORT_TOO_MANY_ROWS');
    const long = await xlsx((ws) => {
      ws.addRow(['编号', '姓名']);
      ws.addRow(['S1', '长'.repeat(3_000)]);
    });
    expect(await codeOf(readXlsxRows(long, LIMITS, () => undefined))).toBe('IMPORT_CELL_TOO_LONG');
  });

  it('reads Excel date cells as the wall-clock dates they show, formulas by their results', async () => {
    const buf = await xlsx((ws) => {
      ws.addRow(['有效期起', '时间', '公式', '错误', '数字']);
      // Typed into Excel as 2019-03-01 / 2019-03-01 08:30: exceljs gives the UTC-midnight Date.
      ws.addRow([new Date(Date.UTC(2019, 2, 1)), new Date(Date.UTC(2019, 2, 1, 8, 30)), { formula: 'DATE(2027,12,31)', result: new Date(Date.UTC(2027, 11, 31)) }, { formula: 'A9', result: { error: '#REF!' } }, 452701198003150000]);
      ws.getCell('A2').numFmt = 'yyyy-mm-dd';
      ws.getCell('B2').numFmt = 'yyyy-mm-dd hh:mm';
      ws.getCell('C2').numFmt = 'yyyy-mm-dd';
    });
    const rows: string[][] = [];
    await readXlsxRows(buf, LIMITS, (r) => rows.push(...r));
    // A number cell of 16 digits or more is read as Excel shows it: it has lost its digits from
    // the 16th on, and as a run of digits it could pass for the identity number it was.
    expect(rows[1]).toEqual(['2019-03-01', '2019-03-01 08:30:00', '2027-12-31', '#REF!', '4.5270119800315E+17']);
    expect(excelDateText(new Date(Number.NaN))).toBe('');
  });

  it('parses CSV with csv-parse: BOM, quotes, CRLF/LF, blank lines kept as the empty rows they are', () => {
    const rows: string[][] = [];
    readCsvRows(Buffer.from('\uFEFF编号,姓名\r\n"A,1","说""好"""\r\n\r\nB2,乙\nC3,\n'), LIMITS, (r) => rows.push(...r));
    expect(rows).toEqual([
      ['编号', '姓名'],
      ['A,1', '说"好"'],
      [''],
      ['B2', '乙'],
      ['C3', ''],
    ]);
  });

  it('keeps blank XLSX rows as empty rows, so rows are numbered as in the sheet', async () => {
    const buf = await xlsx((ws) => {
      ws.getCell('A1').value = '河池市机动车检验机构人员备案表';
      ws.getRow(3).values = ['编号', '姓名'];
      ws.getRow(4).values = ['S1', '甲'];
      ws.getRow(7).values = ['S2', '乙'];
    });
    const rows: string[][] = [];
    const n = await readXlsxRows(buf, LIMITS, (r) => rows.push(...r));
    expect(n).toBe(7);
    expect(rows.map((r) => r.join('|'))).toEqual(['河池市机动车检验机构人员备案表|', '', '编号|姓名', 'S1|甲', '', '', 'S2|乙']);
  });

  it('reads CSV in the encodings Excel and other systems write, and says which', () => {
    const text = '编号,机构,姓名\r\nJCJ-JYZ-0001,JCJ-JYZ,韦秀兰\r\n';
    const expected = [
      ['编号', '机构', '姓名'],
      ['JCJ-JYZ-0001', 'JCJ-JYZ', '韦秀兰'],
    ];
    const read = (buf: Buffer) => {
      const rows: string[][] = [];
      const r = readCsvRows(buf, LIMITS, (x) => rows.push(...x));
      return { rows, encoding: r.encoding, delimiter: r.delimiter, n: r.rows };
    };
    const utf16 = (s: string, be: boolean) => {
      const le = Buffer.from(`\uFEFF${s}`, 'utf16le');
      return be ? le.swap16() : le;
    };
    // Excel's "CSV UTF-8" (BOM), another system's UTF-8 without one, Excel's plain CSV on a
    // Chinese Windows (GBK), and its "Unicode text" (UTF-16LE with a BOM, tab-separated).
    expect(read(Buffer.from(`\uFEFF${text}`))).toEqual({ rows: expected, encoding: 'utf-8', delimiter: ',', n: 2 });
    expect(read(Buffer.from(text))).toEqual({ rows: expected, encoding: 'utf-8', delimiter: ',', n: 2 });
    expect(read(gb18030(text))).toEqual({ rows: expected, encoding: 'gb18030', delimiter: ',', n: 2 });
    const tabs = text.replaceAll(',', '\t');
    expect(read(utf16(tabs, false))).toEqual({ rows: expected, encoding: 'utf-16le', delimiter: '\t', n: 2 });
    expect(read(utf16(tabs, true))).toEqual({ rows: expected, encoding: 'utf-16be', delimiter: '\t', n: 2 });
    // A tab inside a field of a comma-separated file stays in the field.
    expect(read(Buffer.from('编号,姓名\nA1,"韦\t秀兰"\n')).rows[1]).toEqual(['A1', '韦\t秀兰']);
    // With English headers the names would otherwise have been filed as replacement characters.
    expect(read(gb18030('id,name\nS1,黄志强\n')).rows[1]).toEqual(['S1', '黄志强']);
  });

  it('refuses text it cannot read, and an Excel 97-2003 workbook, by name', async () => {
    // Bytes valid neither as UTF-8 nor as GB18030 (0x80 alone, 0xFF lead bytes).
    expect(await codeOf(() => readCsvRows(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x80, 0xff, 0xff, 0x0a]), LIMITS, () => undefined))).toBe('IMPORT_ENCODING');
    // UTF-16 without its byte-order mark reads as UTF-8 full of NULs.
    expect(await codeOf(() => readCsvRows(Buffer.from('id,name\n', 'utf16le'), LIMITS, () => undefined))).toBe('IMPORT_ENCODING');
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]);
    expect(await codeOf(() => readCsvRows(xls, LIMITS, () => undefined))).toBe('IMPORT_FORMAT');
    expect(await codeOf(jobs.readTable('csv', xls))).toBe('IMPORT_FORMAT');
    // Named .xlsx (a workbook saved with a password is such a file too): refused the same way.
    expect(await codeOf(jobs.readTable('xlsx', xls))).toBe('IMPORT_FORMAT');
  });

  it('applies the column, row, cell and byte limits to CSV', async () => {
    const wide = Buffer.from(`${Array.from({ length: 100 }, (_, i) => `c${i}`).join(',')}\n`);
    expect(await codeOf(() => readCsvRows(wide, LIMITS, () => undefined))).toBe('IMPORT_TOO_MANY_COLUMNS');
    const tall = Buffer.from(`h\n${'x\n'.repeat(11)}`);
    expect(await codeOf(() => readCsvRows(tall, { ...LIMITS, maxRows: 10 }, () => undefined))).toBe('IMPORT_TOO_MANY_ROWS');
    const long = Buffer.from(`h\n${'y'.repeat(3_000)}\n`);
    expect(await codeOf(() => readCsvRows(long, LIMITS, () => undefined))).toBe('IMPORT_CELL_TOO_LONG');
    expect(await codeOf(() => readCsvRows(Buffer.alloc(2_048, 0x61), { ...LIMITS, maxBytes: 1_024 }, () => undefined))).toBe('IMPORT_TOO_LARGE');
  });
});

describe('worker pool', () => {
  it('imports a 6,000-row sheet in the worker while the event loop stays responsive', async () => {
    const buf = await staffSheet(6_000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    // A timer that should fire every 20 ms: the longest gap between firings is the worst block.
    let last = performance.now();
    let worstGap = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 20);
    delay.enable();
    const started = performance.now();
    const { rows, encoding } = await jobs.readTable('xlsx', buf);
    const took = performance.now() - started;
    delay.disable();
    clearInterval(tick);
    expect(rows).toHaveLength(6_001);
    expect(encoding).toBeNull();
    expect(rows[6_000]![0]).toBe('JCJ-JYZ-T06000');
    console.log(`6,000-row XLSX in the worker: ${Math.round(took)} ms, worst timer gap ${Math.round(worstGap)} ms, max loop delay ${Math.round(delay.max / 1e6)} ms`);
    expect(worstGap).toBeLessThan(200);
  });

  it('rejects the XFD sheet in the worker with the column-limit code', async () => {
    expect(await codeOf(jobs.readTable('xlsx', await xfdSheet()))).toBe('IMPORT_TOO_MANY_COLUMNS');
  });

  it('reports an unreadable file as a plain error and keeps working', async () => {
    expect(await codeOf(jobs.readTable('xlsx', Buffer.from('PK not really a zip')))).toBe('BODY_INVALID');
    expect(await jobs.readTable('csv', Buffer.from('a,b\n1,2\n'))).toEqual({
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
      encoding: 'utf-8',
    });
  });

  it('builds an XLSX that opens with Chinese headers, values and a frozen header row', async () => {
    type Row = { id: string; n: number | null; at: string };
    const columns: Column<Row>[] = [
      { header: '预警编号', value: (r) => r.id, width: 22 },
      { header: '笔数', value: (r) => r.n },
      { header: '时间', value: (r) => r.at },
    ];
    const rows: Row[] = Array.from({ length: 5_000 }, (_, i) => ({ id: `W${i}`, n: i % 7 === 0 ? null : i, at: '2026-11-25 10:00:00' }));
    const buf = await jobs.buildXlsx('预警清单', xlsxColumns(columns), xlsxCells(columns, rows));
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as never);
    const ws = wb.worksheets[0]!;
    expect(ws.name).toBe('预警清单');
    expect(ws.getRow(1).values).toEqual([undefined, '预警编号', '笔数', '时间']);
    expect(ws.getRow(1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.getColumn(1).width).toBe(22);
    expect(ws.actualRowCount).toBe(5_001);
    expect(ws.getRow(3).values).toEqual([undefined, 'W1', 1, '2026-11-25 10:00:00']);
    expect(ws.getCell('B2').value).toBe('');
  });

  it('keeps long digit texts as text for Excel (a trailing tab) and leaves numbers and short codes alone', async () => {
    type Row = { lsh: string; n: number };
    const csv = await toCsv<Row>(
      [
        { header: '业务流水号', value: (r) => r.lsh },
        { header: '数量', value: (r) => r.n },
      ],
      [
        { lsh: '12612061234567', n: 123456789012345 },
        { lsh: '451202', n: 1 },
        { lsh: '4512021990030712', n: 2 },
      ],
    );
    expect(csv).toBe('\uFEFF业务流水号,数量\r\n12612061234567\t,123456789012345\r\n451202,1\r\n4512021990030712\t,2\r\n');
    // Read back (our reader, as any that trims), the values are the digits.
    const rows: string[][] = [];
    readCsvRows(Buffer.from(csv), LIMITS, (r) => rows.push(...r));
    expect(rows.slice(1).map((r) => r[0]!.trim())).toEqual(['12612061234567', '451202', '4512021990030712']);
  });

  it('keeps the Excel-friendly CSV byte for byte: BOM, CRLF, quoting, formula defusing', async () => {
    type Row = { a: string; b: number | null };
    const csv = await toCsv<Row>(
      [
        { header: '名称', value: (r) => r.a },
        { header: '数量', value: (r) => r.b },
      ],
      [
        { a: '甲,乙', b: 1 },
        { a: '=SUM(A1)', b: null },
        { a: '说"好"', b: 2 },
      ],
    );
    expect(csv).toBe('\uFEFF名称,数量\r\n"甲,乙",1\r\n\'=SUM(A1),\r\n"说""好""",2\r\n');
  });
});

describe('job gate', () => {
  it('admits at most N jobs per user and M in all, then TOO_MANY_JOBS (429)', async () => {
    const a1 = jobs.admit('u-a');
    const a2 = jobs.admit('u-a');
    let refused: unknown;
    try {
      jobs.admit('u-a');
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ code: 'TOO_MANY_JOBS', statusCode: 429, retryable: true });
    const b1 = jobs.admit('u-b');
    // Hub-wide cap of 3 reached: another user is refused too.
    expect(await codeOf(() => jobs.admit('u-c'))).toBe('TOO_MANY_JOBS');
    a1();
    a1(); // release is idempotent
    expect(jobs.inFlight()).toBe(2);
    const c1 = jobs.admit('u-c');
    for (const r of [a2, b1, c1]) r();
    expect(jobs.inFlight()).toBe(0);
  });
});
