/**
 * CSV files written in the browser that Excel opens as they are: UTF-8 with a byte-order mark
 * (without it Excel on a Chinese Windows reads the text as GBK), CRLF line ends, cells quoted when
 * they hold a comma, a quote or a line break.
 */
const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function csvDocument(rows: readonly (readonly string[])[]): string {
  return `\uFEFF${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** Offers `text` as a download named `name` (a CSV of csvDocument). */
export function downloadCsv(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
