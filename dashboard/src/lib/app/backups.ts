/**
 * Words for the backups screen: the store's tables by their Chinese names (the internal names are
 * snake_case codes, never shown), sizes in binary units and durations. Pure, unit-tested.
 */
import type { Backup } from '@jianguan/protocol';
import { L } from './lang';

/** The embedded store's tables (hub/src/store/schema) as a reader would name them. */
export const TABLE_LABELS: Readonly<Record<string, readonly [zh: string, en: string]>> = {
  transactions: ['业务记录', 'Business records'],
  warnings: ['预警', 'Warnings'],
  warning_events: ['预警处置事件', 'Warning events'],
  warning_state: ['预警状态', 'Warning states'],
  registry_versions: ['备案版本', 'Registry versions'],
  registry_requests: ['备案申请', 'Registry requests'],
  institutions: ['机构', 'Institutions'],
  staff: ['人员', 'Staff'],
  users: ['用户', 'Users'],
  audit_log: ['审计日志', 'Audit log'],
  dead_letters: ['死信', 'Dead letters'],
  collectors: ['采集端', 'Collectors'],
  collector_batches: ['采集批次', 'Collector batches'],
  collector_seen: ['采集端已收序号', 'Collector sequences received'],
  held_batches: ['暂存批次', 'Held batches'],
  decisions: ['拦截决定', 'Hold decisions'],
  evaluation_scores: ['考核得分', 'Evaluation scores'],
  evaluation_ledger: ['扣分台账', 'Deduction ledger'],
  evidence_files: ['证据文件', 'Evidence files'],
  rule_sets: ['规则集', 'Rule sets'],
  backtests: ['回测', 'Backtests'],
  peer_runs: ['同类偏离计算', 'Peer comparison runs'],
  work_calendar: ['工作日历', 'Work calendar'],
  schema_migrations: ['数据库结构版本', 'Schema versions'],
};

/**
 * A table's label in the current language. A table this screen does not know yet gets a generic
 * label; its internal name goes only into a tooltip (`title`), so no code is shown as text.
 */
export function tableLabel(name: string): { label: string; title: string | undefined } {
  const t = TABLE_LABELS[name];
  return t ? { label: L(t[0], t[1]), title: undefined } : { label: L('其他数据表', 'Other table'), title: name };
}

/** Bytes in binary units: '512 B', '3.4 KiB', '12.5 MiB', '1.25 GiB'. */
export function sizeText(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** How long a backup took: '8 秒' / '8 s', '3 分 5 秒' / '3 min 5 s', '1 小时 2 分' / '1 h 2 min'. */
export function durationText(ms: number | null): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 60) return L(`${s} 秒`, `${s} s`);
  const m = Math.floor(s / 60);
  if (m < 60) return L(`${m} 分 ${s % 60} 秒`, `${m} min ${s % 60} s`);
  return L(`${Math.floor(m / 60)} 小时 ${m % 60} 分`, `${Math.floor(m / 60)} h ${m % 60} min`);
}

/** A backup's tables in the order of TABLE_LABELS (business records first), unknown ones last. */
export function orderTables<T extends { name: string }>(tables: readonly T[]): T[] {
  const order = Object.keys(TABLE_LABELS);
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return [...tables].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** Rows of the business records table, and of all tables (null before the snapshot counted them). */
export function backupRows(b: Pick<Backup, 'tables'>): { business: number | null; total: number | null } {
  if (b.tables.length === 0) return { business: null, total: null };
  return { business: b.tables.find((t) => t.name === 'transactions')?.rows ?? 0, total: b.tables.reduce((s, t) => s + t.rows, 0) };
}

/** What a running backup is doing, in words. */
export function phaseText(phase: Backup['phase']): string {
  switch (phase) {
    case 'snapshot':
      return L('生成快照', 'Taking a snapshot');
    case 'copy':
      return L('复制数据', 'Copying data');
    case 'verify':
      return L('校验副本', 'Verifying the copy');
    default:
      return L('完成', 'Done');
  }
}

/** Why a backup failed, in words; the hub's technical detail is shown beneath it. */
export function failureText(kind: Backup['failure']): string {
  switch (kind) {
    case 'no_space':
      return L('备份目录空间不足：请清理备份目录，或把 JG_BACKUP_DIR 设到更大的磁盘', 'Not enough space in the backup directory: free some, or set JG_BACKUP_DIR to a larger disk');
    case 'stopping':
      return L('中心服务停止，备份中断（未留下不完整的副本）', 'The hub stopped during the backup (no partial copy was left)');
    case 'not_verified':
      return L('副本未通过校验，已删除；请重试，仍失败时检查备份磁盘', 'The copy did not verify and was deleted; try again, and check the backup disk if it fails again');
    default:
      return L('备份失败', 'The backup failed');
  }
}
