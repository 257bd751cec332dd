/**
 * Rule releases (规则发布) and backtests as the API shows them: the shapes the hub stores and
 * serves and the dashboard's release screen and diff viewer read. zod schemas (the hub declares
 * them as route responses: OpenAPI, and checked under test) with their inferred types and labels,
 * so the browser can import them (`@jianguan/protocol/releases`).
 */
import { z } from 'zod';
import { RuleAction, RuleFamily, Severity } from '@jianguan/rules';

export const RULESET_STATUSES = ['draft', 'approved', 'active', 'retired'] as const;
export const RuleSetStatusSchema = z.enum(RULESET_STATUSES);
export type RuleSetStatus = z.infer<typeof RuleSetStatusSchema>;

export const RULESET_STATUS_LABELS: Readonly<Record<RuleSetStatus, string>> = {
  draft: '草稿',
  approved: '已审批待生效',
  active: '生效中',
  retired: '已停用',
};

export const RuleParamChangeSchema = z.object({
  param: z.string(),
  from: z.unknown(),
  to: z.unknown(),
});
export type RuleParamChange = z.infer<typeof RuleParamChangeSchema>;

const RuleRef = z.object({ ruleId: z.string(), name: z.string() });

/** What a release changes compared with the rule set it was drafted from. */
export const RuleSetDiffSchema = z.object({
  base: z.string(),
  added: z.array(RuleRef),
  removed: z.array(RuleRef),
  changed: z.array(
    RuleRef.extend({
      fromVersion: z.string(),
      toVersion: z.string(),
      params: z.array(RuleParamChangeSchema),
      /** The definition changed beyond its parameters. */
      definition: z.boolean(),
    }),
  ),
});
export type RuleSetDiff = z.infer<typeof RuleSetDiffSchema>;

/** A rule set without its definitions (what the poller and the list read). Times are epoch ms. */
export const RuleSetHeadSchema = z.object({
  version: z.string(),
  seq: z.number().int(),
  status: RuleSetStatusSchema,
  baseVersion: z.string(),
  note: z.string(),
  diff: RuleSetDiffSchema.nullable().describe('与基线规则集的差异；无记录时为 null'),
  createdBy: z.string(),
  createdAt: z.number(),
  approvedBy: z.string(),
  approvedAt: z.number().nullable(),
  effectiveAt: z.number().nullable(),
  activatedAt: z.number().nullable(),
  retiredAt: z.number().nullable(),
  retiredBy: z.string(),
  backtestId: z.string(),
  override: z.boolean(),
  overrideReason: z.string(),
  updatedAt: z.number(),
});
export type RuleSetHead = z.infer<typeof RuleSetHeadSchema>;

/** A rule set in API responses: its status in Chinese and whether it is the one in force now. */
export const RuleSetHeadViewSchema = RuleSetHeadSchema.extend({
  statusLabel: z.string(),
  inForce: z.boolean().describe('是否为当前生效的规则集'),
});
export type RuleSetHeadView = z.infer<typeof RuleSetHeadViewSchema>;

/**
 * The stored content of a rule set: its definitions as submitted (validated when the set was
 * drafted, so each has an id) and the parameter overrides per rule id.
 */
export const RuleSetContentSchema = z.object({
  definitions: z.array(z.looseObject({ id: z.string(), params: z.record(z.string(), z.unknown()).optional() })),
  params: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type RuleSetContent = z.infer<typeof RuleSetContentSchema>;

export const RULE_STATE_KINDS = ['none', 'window', 'interval', 'fingerprint', 'sequence', 'scheduled'] as const;

/** One rule of the rule set in force (RuleMeta of @jianguan/rules). */
export const RuleMetaSchema = z.object({
  id: z.string(),
  /** Chinese display name, e.g. 非工作时间办理业务. */
  name: z.string(),
  version: z.string(),
  family: RuleFamily,
  severity: Severity,
  action: RuleAction,
  description: z.string(),
  /** Where the threshold comes from, e.g. 实际系统默认值 / 建议值. */
  basis: z.string(),
  /** The definition's kind (calendar, window_count, … peer_deviation). */
  kind: z.string(),
  state: z.enum(RULE_STATE_KINDS),
});
export type RuleMetaView = z.infer<typeof RuleMetaSchema>;

/** One compiled rule of a set (the engine's RuleMeta): the same view as the rules in force. */
export const RuleSetRuleSchema = RuleMetaSchema;
export type RuleSetRule = RuleMetaView;

/** GET /api/v1/rulesets. */
/**
 * The rule definitions this hub's code carries (its built-in pack) against those in force: after
 * a software upgrade they differ until a rule administrator releases them like any change.
 */
export const BuiltinPackStatusSchema = z.object({
  version: z.string().describe('本版软件内置规则包的版本'),
  current: z.boolean().describe('生效中的规则集是否采用本版内置规则定义（参数调整不计）'),
  pending: z.string().nullable().describe('已起草或已审批待生效、采用本版内置规则定义的规则集版本'),
});
export type BuiltinPackStatus = z.infer<typeof BuiltinPackStatusSchema>;

export const RuleSetListSchema = z.object({
  inForce: z.string().describe('当前生效的规则集版本'),
  items: z.array(RuleSetHeadViewSchema),
  builtin: BuiltinPackStatusSchema,
});
export type RuleSetList = z.infer<typeof RuleSetListSchema>;

/** GET /api/v1/rulesets/current: the set in force (only its version for the built-in pack) and the scheduled ones. */
export const RuleSetCurrentSchema = z.object({
  inForce: z.union([RuleSetHeadViewSchema, z.object({ version: z.string() })]),
  scheduled: z.array(RuleSetHeadViewSchema),
});
export type RuleSetCurrent = z.infer<typeof RuleSetCurrentSchema>;

/** POST /api/v1/rulesets (a new draft): the set with its content. */
export const RuleSetDraftViewSchema = RuleSetHeadViewSchema.extend({ content: RuleSetContentSchema });
export type RuleSetDraftView = z.infer<typeof RuleSetDraftViewSchema>;

/** GET /api/v1/rulesets/:version: the set, its content and its compiled rules ([] when it does not compile). */
export const RuleSetDetailSchema = RuleSetDraftViewSchema.extend({ rules: z.array(RuleSetRuleSchema) });
export type RuleSetDetail = z.infer<typeof RuleSetDetailSchema>;

/** POST /api/v1/rulesets/:version/approve: the approved set and the thresholds its backtest exceeded (approved by override). */
export const RuleSetApprovedSchema = RuleSetHeadViewSchema.extend({ exceeded: z.array(z.string()) });
export type RuleSetApproved = z.infer<typeof RuleSetApprovedSchema>;

export const BACKTEST_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
export const BacktestStatusSchema = z.enum(BACKTEST_STATUSES);
export type BacktestStatus = z.infer<typeof BacktestStatusSchema>;

export const BACKTEST_STATUS_LABELS: Readonly<Record<BacktestStatus, string>> = {
  queued: '排队中',
  running: '运行中',
  done: '已完成',
  failed: '失败',
};

export const DiffExampleSchema = z.object({
  change: z.enum(['added', 'removed']),
  ruleId: z.string(),
  transactionId: z.string(),
  institutionId: z.string(),
  occurredAt: z.number(),
  explanation: z.string(),
});
export type DiffExample = z.infer<typeof DiffExampleSchema>;

/** One rule's (or one institution's) warnings under the live and the draft rule set. */
export const DiffLineSchema = z.object({
  key: z.string(),
  name: z.string(),
  live: z.number().int(),
  draft: z.number().int(),
  added: z.number().int(),
  removed: z.number().int(),
  examples: z.array(DiffExampleSchema),
});
export type DiffLine = z.infer<typeof DiffLineSchema>;

export const BacktestResultSchema = z.object({
  transactions: z.number().int(),
  liveTotal: z.number().int(),
  draftTotal: z.number().int(),
  added: z.number().int(),
  removed: z.number().int(),
  /** Only rules / institutions with any warning under either set, sorted by key. */
  byRule: z.array(DiffLineSchema),
  byInstitution: z.array(DiffLineSchema),
});
export type BacktestResult = z.infer<typeof BacktestResultSchema>;

export const BacktestSchema = z.object({
  id: z.string(),
  version: z.string(),
  liveVersion: z.string(),
  from: z.number(),
  to: z.number(),
  status: BacktestStatusSchema,
  /** 0–100. */
  progress: z.number(),
  requestedBy: z.string(),
  requestedAt: z.number(),
  finishedAt: z.number().nullable(),
  transactions: z.number().int(),
  liveTotal: z.number().int(),
  draftTotal: z.number().int(),
  added: z.number().int(),
  removed: z.number().int(),
  /** null until done, and in lists (which leave the result out). */
  result: BacktestResultSchema.nullable(),
  error: z.string(),
  updatedAt: z.number(),
});
export type Backtest = z.infer<typeof BacktestSchema>;

/** A backtest in API responses, with its status in Chinese. */
export const BacktestViewSchema = BacktestSchema.extend({
  statusLabel: z.string(),
  /** The queue job's state while queued or running (GET /api/v1/backtests/:id only), e.g. waiting, active. */
  jobState: z.string().optional(),
});
export type BacktestView = z.infer<typeof BacktestViewSchema>;

/** GET /api/v1/rulesets/:version/backtests (newest first, without results). */
export const BacktestListSchema = z.object({ items: z.array(BacktestViewSchema) });
export type BacktestList = z.infer<typeof BacktestListSchema>;
