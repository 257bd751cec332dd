/**
 * REST response views of accounts, sessions, kiosk tokens and the audit log, shared by the hub
 * (route response schemas, checked under test) and the dashboard (types inferred from them).
 */
import { z } from 'zod';

export const ACCOUNT_ROLES = ['wall_viewer', 'auditor', 'leader', 'registry_admin', 'rule_admin', 'system_admin'] as const;
export const AccountRoleSchema = z.enum(ACCOUNT_ROLES);
export type AccountRole = z.infer<typeof AccountRoleSchema>;

/** Chinese role names (the English ones are the dashboard's locale). */
export const ROLE_LABELS: Readonly<Record<AccountRole, string>> = {
  wall_viewer: '大屏查看',
  auditor: '核查人员',
  leader: '领导',
  registry_admin: '备案管理员',
  rule_admin: '规则管理员',
  system_admin: '系统管理员',
};

/** What the caller and account views share. */
const AccountFields = {
  username: z.string(),
  displayName: z.string(),
  roles: z.array(AccountRoleSchema),
  /** Chinese role names, in the order of `roles`. */
  roleNames: z.array(z.string()),
  /** null = the whole city; otherwise a county adcode. */
  scope: z.string().nullable(),
  institutions: z.array(z.string()),
};

/** The caller, as the login, `me` and password answers describe it. */
export const PrincipalViewSchema = z.object({ userId: z.string(), ...AccountFields });
export type PrincipalView = z.infer<typeof PrincipalViewSchema>;

export const LoginResponseSchema = z.object({
  token: z.string(),
  expiresInS: z.number(),
  user: PrincipalViewSchema,
  mustChangePassword: z.boolean(),
});

export const MeResponseSchema = PrincipalViewSchema.extend({ mustChangePassword: z.boolean() });

export const PasswordChangedSchema = z.object({
  ok: z.literal(true),
  token: z.string(),
  expiresInS: z.number(),
  user: PrincipalViewSchema,
});

export const AuthOkSchema = z.object({ ok: z.literal(true) });

export const RoleListSchema = z.object({ items: z.array(z.object({ role: AccountRoleSchema, name: z.string() })) });

/** An account, as administrators see it (never its password hash). */
export const UserViewSchema = z.object({
  id: z.string(),
  ...AccountFields,
  active: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type UserView = z.infer<typeof UserViewSchema>;
export const UserListSchema = z.object({ items: z.array(UserViewSchema) });

/** A wall screen's kiosk token record (the token itself only in the answer that issues it). */
export const KioskTokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.number(),
});
export type KioskTokenView = z.infer<typeof KioskTokenViewSchema>;
export const KioskIssuedSchema = KioskTokenViewSchema.extend({ token: z.string(), wallUrl: z.string() });
export const KioskListSchema = z.object({ items: z.array(KioskTokenViewSchema) });
export const KioskRevokedSchema = z.object({ ok: z.literal(true), revoked: KioskTokenViewSchema });

/** One row of the append-only audit log. */
export const AuditEntrySchema = z.object({
  id: z.string(),
  at: z.number(),
  actor: z.string(),
  actorRoles: z.array(z.string()),
  actorScope: z.string(),
  action: z.string(),
  method: z.string(),
  path: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  ip: z.string(),
  /** ok | denied (401/403) | failed (other 4xx) | error (5xx) */
  result: z.enum(['ok', 'denied', 'failed', 'error']),
  status: z.number(),
  detail: z.string(),
});
export type AuditEntryView = z.infer<typeof AuditEntrySchema>;
export const AuditPageSchema = z.object({ total: z.number(), items: z.array(AuditEntrySchema) });

// ---- The audit log's vocabulary: every action code the hub writes, named ----

/**
 * The steps a warning can be taken through (the `type` of a workflow action). The hub audits a
 * step as `warning.<type>` and a bulk step as `warning.bulk.<type>`; its action schema is checked
 * against this list under test.
 */
export const WARNING_STEP_NAMES = {
  assign: ['分派', 'Assign'],
  acknowledge: ['签收', 'Acknowledge'],
  start_verification: ['开始核查', 'Start verification'],
  conclude: ['核查结论', 'Conclude'],
  dispose: ['处置', 'Dispose'],
  review: ['审核', 'Review'],
  close: ['办结', 'Close'],
  reopen: ['重新打开', 'Reopen'],
  comment: ['备注', 'Comment'],
} as const satisfies Record<string, readonly [string, string]>;
export type WarningStepName = keyof typeof WARNING_STEP_NAMES;

/** `<prefix><step>` for every warning step, named from the step's name. */
function stepActions<P extends string>(prefix: P, name: (zh: string, en: string) => readonly [string, string]): Record<`${P}${WarningStepName}`, readonly [string, string]> {
  const out: Record<string, readonly [string, string]> = {};
  for (const [k, [zh, en]] of Object.entries(WARNING_STEP_NAMES)) out[`${prefix}${k}`] = name(zh, en);
  return out as Record<`${P}${WarningStepName}`, readonly [string, string]>;
}

/**
 * Every action code written to the audit log, with its Chinese and English name, in the groups
 * the audit screen filters by. One list for the hub (its exports name the codes) and the
 * dashboard (the screen and its filter); a hub test reads the hub's source for the codes it
 * writes and fails on one missing here.
 */
export const AUDIT_ACTION_GROUPS = [
  {
    key: 'account',
    name: ['登录与账户', 'Logins and accounts'],
    actions: {
      'auth.login': ['登录', 'Log in'],
      'auth.logout': ['退出', 'Log out'],
      'auth.password': ['修改密码', 'Change password'],
      'auth.token_invalid': ['无效会话访问', 'Request with an invalid session'],
      'read.denied': ['越权查看被拒', 'Read refused'],
      'user.create': ['新建用户', 'Create user'],
      'user.update': ['修改用户', 'Update user'],
      'kiosk.issue': ['签发大屏令牌', 'Issue wall token'],
      'kiosk.revoke': ['吊销大屏令牌', 'Revoke wall token'],
      'kiosk.exchange': ['大屏令牌登录', 'Wall token sign-in'],
      'wall.denied': ['大屏连接被拒', 'Wall connection refused'],
    },
  },
  {
    key: 'warning',
    name: ['预警处置', 'Warning steps'],
    actions: {
      ...stepActions('warning.', (zh, en) => [`预警${zh}`, `Warning: ${en.toLowerCase()}`]),
      // The route's own code: what a request refused before its step was read is recorded as.
      'warning.action': ['预警处置（未执行）', 'Warning step (not carried out)'],
      'warning.evidence': ['上传证据', 'Upload evidence'],
      'warning.recheck': ['按现行备案复核', 'Recheck against current filings'],
    },
  },
  {
    key: 'warning_bulk',
    name: ['批量处置', 'Bulk warning steps'],
    actions: {
      ...stepActions('warning.bulk.', (zh, en) => [`批量${zh}`, `Bulk: ${en.toLowerCase()}`]),
      'warning.bulk': ['批量处置（未执行）', 'Bulk step (not carried out)'],
    },
  },
  {
    key: 'workflow',
    name: ['时限与督办', 'Deadlines'],
    actions: { 'workflow.sweep': ['超期检查', 'Overdue sweep'] },
  },
  {
    key: 'registry',
    name: ['备案', 'Registry'],
    actions: {
      'registry.import': ['备案导入', 'Registry import'],
      'registry.request': ['提交备案申请', 'File a registry request'],
      'registry.approve': ['审批通过备案申请', 'Approve a registry request'],
      'registry.reject': ['驳回备案申请', 'Reject a registry request'],
    },
  },
  {
    key: 'collector',
    name: ['采集终端', 'Collectors'],
    actions: {
      'collector.enrol': ['采集终端申请备案', 'Collector enrolment'],
      'collector.approve': ['批准采集终端', 'Approve collector'],
      'collector.revoke': ['吊销采集终端', 'Revoke collector'],
      'collector.auth_failed': ['采集终端认证失败', 'Collector authentication failed'],
      'decision.request': ['实时放行判定', 'Hold decision'],
    },
  },
  {
    key: 'rules',
    name: ['规则', 'Rules'],
    actions: {
      'ruleset.draft': ['起草规则集', 'Draft rule set'],
      'ruleset.approve': ['审批规则集', 'Approve rule set'],
      'ruleset.retire': ['撤回规则集', 'Withdraw rule set'],
      'ruleset.backtest': ['规则回测', 'Backtest'],
      'peer.run': ['同类比对', 'Peer comparison'],
    },
  },
  {
    key: 'evaluation',
    name: ['考核', 'Evaluation'],
    actions: { 'evaluation.refresh': ['重算考核', 'Recompute evaluation'] },
  },
  {
    key: 'system',
    name: ['系统', 'System'],
    actions: {
      'backup.start': ['立即备份', 'Back up now'],
      'calendar.hours': ['修改工作时段', 'Change working hours'],
      'calendar.year': ['修改节假日安排', 'Change holidays'],
      'calendar.notice': ['识别节假日通知', 'Read a holiday notice'],
    },
  },
] as const satisfies readonly { key: string; name: readonly [string, string]; actions: Record<string, readonly [string, string]> }[];

export type AuditActionGroupKey = (typeof AUDIT_ACTION_GROUPS)[number]['key'];

/** Every named action code → [Chinese, English]. */
export const AUDIT_ACTIONS: ReadonlyMap<string, readonly [string, string]> = new Map(AUDIT_ACTION_GROUPS.flatMap((g) => Object.entries(g.actions) as [string, readonly [string, string]][]));

/**
 * The name of an action code; a code outside the list (a request to a route that declares none is
 * recorded as `METHOD /path`) is shown as it is, never as a blank "other".
 */
export function auditActionName(code: string): readonly [string, string] {
  return AUDIT_ACTIONS.get(code) ?? [code, code];
}

/** The kinds of object an audit row names. */
export const AUDIT_TARGET_TYPES: Readonly<Record<string, readonly [string, string]>> = {
  user: ['用户', 'User'],
  kiosk: ['大屏令牌', 'Wall token'],
  warning: ['预警', 'Warning'],
  collector: ['采集终端', 'Collector'],
  transaction: ['业务', 'Transaction'],
  ruleset: ['规则集', 'Rule set'],
  backtest: ['规则回测', 'Backtest'],
  peer_run: ['同类比对', 'Peer comparison'],
  evaluation_refresh: ['考核重算', 'Evaluation recompute'],
  registry_request: ['备案申请', 'Registry request'],
  registry_import: ['备案导入文件', 'Registry import file'],
  backup: ['数据备份', 'Backup'],
  calendar: ['工作日历', 'Work calendar'],
};

/**
 * `GET /api/v1/audit?actions=`: a comma-separated list of action codes matched exactly (a filter
 * group sends all of its codes); at most 100 codes.
 */
export const AuditActionsParam = z
  .string()
  .max(4000)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().min(1).max(64)).max(100));
