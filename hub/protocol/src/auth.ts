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
