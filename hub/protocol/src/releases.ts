/**
 * Rule releases (规则发布) and backtests as the API shows them: the shapes the hub stores and
 * serves and the dashboard's release screen and diff viewer read. Types and labels only, so the
 * browser can import them (`@jianguan/protocol/releases`).
 */

export type RuleSetStatus = 'draft' | 'approved' | 'active' | 'retired';

export const RULESET_STATUS_LABELS: Readonly<Record<RuleSetStatus, string>> = {
  draft: '草稿',
  approved: '已审批待生效',
  active: '生效中',
  retired: '已停用',
};

export interface RuleParamChange {
  param: string;
  from: unknown;
  to: unknown;
}

/** What a release changes compared with the rule set it was drafted from. */
export interface RuleSetDiff {
  base: string;
  added: { ruleId: string; name: string }[];
  removed: { ruleId: string; name: string }[];
  changed: { ruleId: string; name: string; fromVersion: string; toVersion: string; params: RuleParamChange[]; definition: boolean }[];
}

/** A rule set without its definitions (what the poller and the list read). */
export interface RuleSetHead {
  version: string;
  seq: number;
  status: RuleSetStatus;
  baseVersion: string;
  note: string;
  diff: RuleSetDiff | null;
  createdBy: string;
  createdAt: number;
  approvedBy: string;
  approvedAt: number | null;
  effectiveAt: number | null;
  activatedAt: number | null;
  retiredAt: number | null;
  retiredBy: string;
  backtestId: string;
  override: boolean;
  overrideReason: string;
  updatedAt: number;
}

/** A rule set in API responses: its status in Chinese and whether it is the one in force now. */
export type RuleSetHeadView = RuleSetHead & { statusLabel: string; inForce: boolean };

export type BacktestStatus = 'queued' | 'running' | 'done' | 'failed';

export const BACKTEST_STATUS_LABELS: Readonly<Record<BacktestStatus, string>> = {
  queued: '排队中',
  running: '运行中',
  done: '已完成',
  failed: '失败',
};

export interface DiffExample {
  change: 'added' | 'removed';
  ruleId: string;
  transactionId: string;
  institutionId: string;
  occurredAt: number;
  explanation: string;
}

/** One rule's (or one institution's) warnings under the live and the draft rule set. */
export interface DiffLine {
  key: string;
  name: string;
  live: number;
  draft: number;
  added: number;
  removed: number;
  examples: DiffExample[];
}

export interface BacktestResult {
  transactions: number;
  liveTotal: number;
  draftTotal: number;
  added: number;
  removed: number;
  /** Only rules / institutions with any warning under either set, sorted by key. */
  byRule: DiffLine[];
  byInstitution: DiffLine[];
}

export interface Backtest {
  id: string;
  version: string;
  liveVersion: string;
  from: number;
  to: number;
  status: BacktestStatus;
  progress: number;
  requestedBy: string;
  requestedAt: number;
  finishedAt: number | null;
  transactions: number;
  liveTotal: number;
  draftTotal: number;
  added: number;
  removed: number;
  result: BacktestResult | null;
  error: string;
  updatedAt: number;
}

/** A backtest in API responses, with its status in Chinese. */
export type BacktestView = Backtest & { statusLabel: string };
