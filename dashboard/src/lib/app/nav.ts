/**
 * Role-aware navigation: which screens a user may open, and the top-nav items they see. Pure,
 * unit-tested. The hub enforces the same roles on every API route; this only keeps the UI from
 * offering what the API would refuse.
 */
import { ACCOUNT_ROLES, ROLE_LABELS, type AccountRole, type PrincipalView } from '@jianguan/protocol';

export const ROLES = ACCOUNT_ROLES;
export type Role = AccountRole;

export const ROLE_NAMES_EN: Readonly<Record<Role, string>> = {
  wall_viewer: 'Wall viewer',
  auditor: 'Auditor',
  leader: 'Leader',
  registry_admin: 'Registry admin',
  rule_admin: 'Rule admin',
  system_admin: 'System admin',
};

export const ROLE_NAMES: Readonly<Record<Role, string>> = ROLE_LABELS;

/** The caller, as /api/v1/auth/me describes it (`roleNames` is not needed on screens). */
export type Me = Omit<PrincipalView, 'roleNames'> & { roleNames?: string[] };

/** Who may read warnings / evaluation (mirrors the hub's WARNING_READERS / EVALUATION_READERS). */
export const WARNING_READERS: readonly Role[] = ['auditor', 'leader', 'rule_admin', 'system_admin'];
export const EVALUATION_READERS: readonly Role[] = ['leader', 'auditor', 'registry_admin', 'system_admin'];

/** Screens by path prefix and the roles that may open them. */
export const SCREENS: readonly { prefix: string; roles: readonly Role[] | 'any' }[] = [
  { prefix: '/workbench', roles: ['auditor'] },
  { prefix: '/warnings', roles: WARNING_READERS },
  { prefix: '/evaluation', roles: EVALUATION_READERS },
  { prefix: '/counties', roles: EVALUATION_READERS },
  { prefix: '/institutions', roles: EVALUATION_READERS },
  { prefix: '/registry', roles: ['registry_admin', 'system_admin'] },
  { prefix: '/rules', roles: ['rule_admin', 'system_admin', 'leader'] },
  { prefix: '/quality', roles: ['rule_admin', 'leader', 'system_admin'] },
  // Leaders may open it (read-only) from a link; only its editors have it in the nav.
  { prefix: '/calendar', roles: ['rule_admin', 'system_admin', 'leader'] },
  { prefix: '/dead-letters', roles: ['rule_admin', 'system_admin'] },
  { prefix: '/collectors', roles: ['system_admin'] },
  { prefix: '/users', roles: ['system_admin'] },
  { prefix: '/audit', roles: ['system_admin'] },
  { prefix: '/backups', roles: ['system_admin'] },
  { prefix: '/readiness', roles: ['system_admin'] },
];

export interface NavItem {
  href: string;
  label: string;
  /** English label. */
  en: string;
  key: string;
}

const NAV: readonly (NavItem & { roles: readonly Role[] | 'any' })[] = [
  { key: 'wall', href: '/wall', label: '指挥大屏', en: 'Wall', roles: 'any' },
  { key: 'workbench', href: '/workbench', label: '我的待办', en: 'My queue', roles: ['auditor'] },
  { key: 'evaluation', href: '/evaluation', label: '机构考核', en: 'Evaluation', roles: ['leader', 'system_admin'] },
  { key: 'warnings', href: '/warnings', label: '预警', en: 'Warnings', roles: ['auditor', 'leader', 'system_admin'] },
  { key: 'registry', href: '/registry', label: '备案管理', en: 'Registry', roles: ['registry_admin', 'system_admin'] },
  { key: 'rules', href: '/rules', label: '规则发布', en: 'Rule releases', roles: ['rule_admin', 'system_admin'] },
  { key: 'quality', href: '/quality', label: '规则质量', en: 'Rule quality', roles: ['rule_admin', 'leader', 'system_admin'] },
  { key: 'calendar', href: '/calendar', label: '工作日历', en: 'Calendar', roles: ['rule_admin', 'system_admin'] },
  { key: 'dead-letters', href: '/dead-letters', label: '死信记录', en: 'Dead letters', roles: ['rule_admin', 'system_admin'] },
  { key: 'collectors', href: '/collectors', label: '采集终端', en: 'Collectors', roles: ['system_admin'] },
  { key: 'users', href: '/users', label: '用户与角色', en: 'Users', roles: ['system_admin'] },
  { key: 'audit', href: '/audit', label: '审计日志', en: 'Audit log', roles: ['system_admin'] },
  { key: 'backups', href: '/backups', label: '数据备份', en: 'Backups', roles: ['system_admin'] },
  // Last: the administrator's check of everything above before the counters are switched on.
  { key: 'readiness', href: '/readiness', label: '上线检查', en: 'Go-live', roles: ['system_admin'] },
];

export function hasAnyRole(roles: readonly Role[], allowed: readonly Role[] | 'any'): boolean {
  return allowed === 'any' || roles.some((r) => allowed.includes(r));
}

export function navFor(roles: readonly Role[]): NavItem[] {
  return NAV.filter((n) => hasAnyRole(roles, n.roles)).map(({ key, href, label, en }) => ({ key, href, label, en }));
}

/** May a user with `roles` open `path`? Unknown paths are open to any logged-in user. */
export function canOpen(roles: readonly Role[], path: string): boolean {
  const s = SCREENS.find((x) => path === x.prefix || path.startsWith(`${x.prefix}/`));
  return s ? hasAnyRole(roles, s.roles) : true;
}

/** Where a user lands after logging in (when no `next`). */
export function homeFor(roles: readonly Role[]): string {
  if (roles.includes('auditor')) return '/workbench';
  if (roles.includes('leader') || roles.includes('system_admin')) return '/evaluation';
  if (roles.includes('registry_admin')) return '/registry';
  if (roles.includes('rule_admin')) return '/rules';
  return '/wall';
}

/** Only same-site paths are accepted as a post-login target. */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/login')) return null;
  return next;
}
