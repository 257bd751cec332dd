/** Date/time formatting for the office screens (Asia/Shanghai, rules' business time). */
import { localSecond, monthOf } from '@jianguan/rules';

/** 'YYYY-MM-DD HH:mm:ss' in Asia/Shanghai. */
export function cstTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms <= 0) return '—';
  return localSecond(ms);
}

/** 'YYYY-MM' of an epoch ms in Asia/Shanghai. */
export function cstMonth(ms: number): string {
  return monthOf(ms);
}

/** The `n` months ending at `month` ('YYYY-MM'), oldest first. */
export function monthsEnding(month: string, n: number): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const idx = y * 12 + (m - 1) - i;
    out.push(`${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`);
  }
  return out;
}

export function points(n: number): string {
  return Number.isFinite(n) ? (Math.round(n * 100) / 100).toString() : '—';
}

/** How long ago, in words: '刚刚' / 'just now', '5 分钟前' / '5 min ago', … ('—' when never). */
export function ago(ms: number | null | undefined, now: number, locale: 'zh' | 'en'): string {
  if (ms == null || !Number.isFinite(ms) || ms <= 0) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  const en = locale === 'en';
  if (s < 45) return en ? 'just now' : '刚刚';
  const min = Math.round(s / 60);
  if (min < 60) return en ? `${min} min ago` : `${min} 分钟前`;
  const h = Math.round(min / 60);
  if (h < 48) return en ? `${h} h ago` : `${h} 小时前`;
  const d = Math.round(h / 24);
  return en ? `${d} days ago` : `${d} 天前`;
}
