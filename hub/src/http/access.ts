/**
 * Who is asking, and what they may do: roles, county scope, `authorize` and the scope helpers.
 *
 * Every /api route declares `config.auth` (through http/define.ts): 'public', 'any' or a list of
 * roles. The onRequest hook in auth/plugin.ts resolves `request.principal` from the session
 * (cookie `jg_session` or `Authorization: Bearer`) and enforces the declared roles before the body
 * is parsed. Handlers then apply scope: a principal with `scope` = a county adcode sees and acts on
 * that county only; `scope` null = the whole city. This module sits with the route helper, below
 * auth/ and exports/, so that they depend on it and it on neither.
 */
import { HubError } from '../errors.js';
import { ACCOUNT_ROLES, AccountRoleSchema, ROLE_LABELS, type AccountRole } from '../protocol/index.js';

// The roles and their names are part of the API's contract (the dashboard reads them too).
export const ROLES = ACCOUNT_ROLES;
export const Role = AccountRoleSchema;
export type Role = AccountRole;
export { ROLE_LABELS };

/** The authenticated caller. `scope` null = whole city (河池市); otherwise one county adcode. */
export interface Principal {
  userId: string;
  username: string;
  displayName: string;
  roles: Role[];
  scope: string | null;
  /** Institutions this user covers within the scope (auto-assignment preference); empty = all. */
  institutions: string[];
  /** Hash of the session token (the audit log and logout refer to it; the token is never kept). */
  sessionId: string;
  /**
   * An administrator set this user's password: until the user changes it, the session may only
   * read who it is, change the password and log out (PASSWORD_CHANGE_REQUIRED otherwise).
   */
  mustChangePassword?: boolean;
}

/** What a route requires. `'public'`: no login. `'any'`: any logged-in user. */
export type RouteAuth = 'public' | 'any' | readonly Role[];

/**
 * What a route's data is scoped by — declared for documentation and for the scope test that
 * walks every registered route: 'warning' (:id is a warning), 'institution' (:id is an
 * institution), 'list' (results filtered to the scope), 'city' (whole-city data: scoped users
 * get OUT_OF_SCOPE), 'self' (the caller's own data), 'none' (not county data).
 */
export type RouteScope = 'warning' | 'institution' | 'request' | 'list' | 'city' | 'self' | 'none';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Set by handlers to enrich the audit row of a mutating request. */
    auditNote: AuditNote | null;
    /** The request presented a session token that does not resolve (forged, expired): audited. */
    tokenRejected: boolean;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
    scope?: RouteScope;
    /**
     * Audit action name, e.g. 'warning.action'. Defaults to "METHOD url". `false` for a route
     * that keeps its own durable log (the hold decisions), so the hot path does not pay for a
     * second insert per request.
     */
    audit?: string | false;
  }
}

export interface AuditNote {
  action?: string;
  targetType?: string;
  targetId?: string;
  detail?: Record<string, unknown>;
  /** The acting user when the request itself is the login (no principal yet). */
  actor?: string;
}

export function hasRole(p: Principal, roles: readonly Role[] | 'any'): boolean {
  return roles === 'any' || p.roles.some((r) => roles.includes(r));
}

/**
 * The one check: throws AUTH_REQUIRED (401) without a session, FORBIDDEN (403) without one of
 * `roles`. Returns the principal for the handler.
 */
export function authorize(request: { principal: Principal | null }, roles: readonly Role[] | 'any' = 'any'): Principal {
  const p = request.principal;
  if (!p) throw new HubError('AUTH_REQUIRED');
  if (p.mustChangePassword) throw new HubError('PASSWORD_CHANGE_REQUIRED');
  if (!hasRole(p, roles)) throw new HubError('FORBIDDEN', `needs one of: ${roles === 'any' ? 'any' : roles.join(', ')}`);
  return p;
}

/** Is `county` inside the principal's scope? */
export function inScope(p: Principal, county: string): boolean {
  return p.scope === null || p.scope === county;
}

/** Throws OUT_OF_SCOPE unless `county` is within the principal's scope. */
export function assertInScope(p: Principal, county: string, what = 'item'): void {
  if (!inScope(p, county)) throw new HubError('OUT_OF_SCOPE', `${what} belongs to ${county || 'no county'}`);
}

/**
 * The county a list query must be limited to: the requested one when allowed, the principal's
 * own when scoped and none was requested. Asking for another county is OUT_OF_SCOPE.
 */
export function scopedCounty(p: Principal, requested?: string): string | undefined {
  if (p.scope === null) return requested;
  if (requested !== undefined && requested !== p.scope) throw new HubError('OUT_OF_SCOPE', `county ${requested}`);
  return p.scope;
}

/** Whole-city data (pipeline totals, dead letters): county-scoped users may not read it. */
export function assertCityScope(p: Principal): void {
  if (p.scope !== null) throw new HubError('OUT_OF_SCOPE', 'whole-city data');
}
