/** Formatting for the wall: times always in Asia/Shanghai, whatever the screen's own zone. */
import { BUSINESS_TZ } from '@jianguan/rules';

export const TIME_ZONE = BUSINESS_TZ;

const timeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

const dateFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** HH:mm:ss in Asia/Shanghai. */
export function clockTime(ms: number): string {
  return timeFmt.format(ms);
}

/** '2025/01/02 星期四' style date for the header. */
const weekdayFmts = new Map<string, Intl.DateTimeFormat>();

export function headerDate(ms: number, tag: string): string {
  let wf = weekdayFmts.get(tag);
  if (!wf) {
    wf = new Intl.DateTimeFormat(tag, { timeZone: TIME_ZONE, weekday: 'long' });
    weekdayFmts.set(tag, wf);
  }
  return `${dateFmt.format(ms)} ${wf.format(ms)}`;
}

export function formatCount(n: number, tag = 'zh-CN'): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString(tag) : '—';
}

/** 0.0347 → "3.5%"; null → "—". */
export function formatPercent(rate: number | null, digits = 1): string {
  if (rate === null || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(digits)}%`;
}

/** Warning rate as a percentage label ("—" without business). */
export function warningRateLabel(warnings: number, transactions: number): string {
  return transactions > 0 ? formatPercent(warnings / transactions) : '—';
}
