/**
 * Role-aware navigation: which screens a user may open, and the top-nav items they see. Pure,
 * unit-tested. The hub enforces the same roles on every API route; this only keeps the UI from
 * offering what the API would refuse.
 */
export const ROLES = ['wall_viewer', 'auditor', 'leader', 'registry_admin', 'rule_admin', 'system_admin'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_NAMES: Readonly<Record<Role, string>> = {
  wall_viewer: '大屏查看',
  auditor: '核查人员',
  leader: '领导',
  registry_admin: '备案管理员',
  rule_admin: '规则管理员',
  system_admin: '系统管理员',
};

export interface Me {
  userId: string;
  username: string;
  displayName: string;
  roles: Role[];
  roleNames?: string[];
  scope: string | null;
  institutions: string[];
}

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
];

export interface NavItem {
  href: string;
  label: string;
  key: string;
}

const NAV: readonly (NavItem & { roles: readonly Role[] | 'any' })[] = [
  { key: 'wall', href: '/wall', label: '指挥大屏', roles: 'any' },
  { key: 'workbench', href: '/workbench', label: '我的待办', roles: ['auditor'] },
  { key: 'evaluation', href: '/evaluation', label: '机构考核', roles: ['leader', 'system_admin'] },
  { key: 'warnings', href: '/warnings', label: '预警', roles: ['auditor', 'leader', 'system_admin'] },
  { key: 'registry', href: '/registry', label: '备案管理', roles: ['registry_admin', 'system_admin'] },
  { key: 'rules', href: '/rules', label: '规则发布', roles: ['rule_admin', 'system_admin'] },
];

export function hasAnyRole(roles: readonly Role[], allowed: readonly Role[] | 'any'): boolean {
  return allowed === 'any' || roles.some((r) => allowed.includes(r));
}

export function navFor(roles: readonly Role[]): NavItem[] {
  return NAV.filter((n) => hasAnyRole(roles, n.roles)).map(({ key, href, label }) => ({ key, href, label }));
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
