/**
 * Authentication, authorisation and audit for the HTTP API and the /wall namespace.
 *
 * - onRoute: every route is recorded (`registeredRoutes(app)`), so tests can walk them all.
 * - onRequest (/api/* only): resolve the session → `request.principal`; enforce the route's
 *   declared `config.auth` (roles) before anything is parsed. Routes without `config.auth`
 *   (the collectors' own endpoints) authenticate themselves and may call `authorize()`.
 * - onSend: one audit row for every mutating /api request, whatever its status.
 * - Routes: login / logout / me / password, users (system_admin), the audit log (system_admin).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Namespace, Server } from 'socket.io';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { defineRoute } from '../api/define.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import type { Store } from '../store/store.js';
import { AuditQuery, AuditWriter, queryAudit, resultOf, type AuditEntry } from './audit.js';
import { dummyHash, verifyPassword } from './passwords.js';
import { authorize, ROLE_LABELS, ROLES, type Principal, type RouteAuth, type RouteScope } from './principal.js';
import { clearedCookie, sessionCookie, SessionStore, tokenFromHeaders } from './sessions.js';
import { createUser, findUserForLogin, getUser, listUsers, NewUserSchema, principalOf, updateUser, UserPatchSchema, type User } from './users.js';

export interface RouteInfo {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
  scope: RouteScope | undefined;
}

const catalogs = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route registered on the app (after startup), with its declared auth and scope. */
export function registeredRoutes(app: FastifyInstance): readonly RouteInfo[] {
  return catalogs.get(app) ?? [];
}

export interface AuthDeps {
  store: Store;
  sessions: SessionStore;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function userView(u: User) {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    roles: u.roles,
    roleNames: u.roles.map((r) => ROLE_LABELS[r]),
    scope: u.scope,
    institutions: u.institutions,
    active: u.active,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

function principalView(p: Principal) {
  return { userId: p.userId, username: p.username, displayName: p.displayName, roles: p.roles, roleNames: p.roles.map((r) => ROLE_LABELS[r]), scope: p.scope, institutions: p.institutions };
}

/** Installs the hooks. Must run before any route is registered (the catalog hook). */
export function installAuthHooks(app: FastifyInstance, deps: AuthDeps): void {
  const catalog: RouteInfo[] = [];
  catalogs.set(app, catalog);
  const audit = new AuditWriter(deps.store);
  app.decorateRequest('principal', null);
  app.decorateRequest('auditNote', null);

  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      catalog.push({ method: m, url: r.url, auth: r.config?.auth, scope: r.config?.scope });
    }
  });

  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    req.principal = null;
    req.auditNote = null;
    const token = tokenFromHeaders(req.headers);
    if (token) req.principal = (await deps.sessions.resolve(token)) ?? null;
    const auth = req.routeOptions.config?.auth;
    if (auth === undefined || auth === 'public') return;
    authorize(req, auth);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (!MUTATING.has(req.method) || !req.url.startsWith('/api/')) return payload;
    if (req.routeOptions.config?.audit === false) return payload;
    const p = req.principal;
    const note = req.auditNote;
    const status = reply.statusCode;
    let detail: Record<string, unknown> | undefined = note?.detail;
    if (status >= 400 && typeof payload === 'string') {
      try {
        detail = { ...(detail ?? {}), error: (JSON.parse(payload) as { error?: unknown }).error };
      } catch {
        /* not JSON */
      }
    }
    const entry: Omit<AuditEntry, 'id'> = {
      at: Date.now(),
      actor: p?.username ?? note?.actor ?? '',
      actorRoles: p?.roles ?? [],
      actorScope: p?.scope ?? '',
      action: note?.action ?? (req.routeOptions.config?.audit || undefined) ?? `${req.method} ${req.routeOptions.url ?? req.url}`,
      method: req.method,
      path: req.url,
      targetType: note?.targetType ?? '',
      targetId: note?.targetId ?? '',
      ip: req.ip,
      result: resultOf(status),
      status,
      detail: detail ? JSON.stringify(detail) : '',
    };
    try {
      await audit.write(entry);
    } catch (e) {
      req.log.error({ event: 'audit.write_failed', err: e, action: entry.action });
    }
    return payload;
  });
}

/**
 * Requires a session on /wall unless the wall is public (JG_WALL_PUBLIC). The middleware is total:
 * whatever the handshake carries (malformed cookie, odd auth payload, a Redis failure), the
 * outcome is `next()` or `next(error)` with a code, never an exception escaping into socket.io.
 */
export function protectWallNamespace(io: Server, nsp: string, sessions: SessionStore): void {
  const refused = () => Object.assign(new Error('login required'), { data: { code: 'AUTH_REQUIRED' } });
  (io.of(nsp) as Namespace).use((socket, next) => {
    let token: string | undefined;
    try {
      const h = socket.handshake;
      const fromAuth: unknown = (h.auth as Record<string, unknown> | undefined)?.token;
      token = (typeof fromAuth === 'string' && fromAuth !== '' ? fromAuth : undefined) ?? tokenFromHeaders({ cookie: h.headers.cookie, authorization: h.headers.authorization });
    } catch {
      token = undefined;
    }
    if (!token) return next(refused());
    sessions.resolve(token).then(
      (p) => (p ? next() : next(refused())),
      () => next(Object.assign(new Error('session store unavailable'), { data: { code: 'QUEUE_UNAVAILABLE' } })),
    );
  });
}

const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) });
const AUDIT_COLUMNS: Column<AuditEntry>[] = [
  { header: '时间', value: (r) => cstTime(r.at), width: 20 },
  { header: '操作人', value: (r) => r.actor },
  { header: '角色', value: (r) => r.actorRoles.map((x) => ROLE_LABELS[x as keyof typeof ROLE_LABELS] ?? x).join('、') },
  { header: '范围', value: (r) => r.actorScope || '全市' },
  { header: '操作', value: (r) => r.action, width: 24 },
  { header: '对象类型', value: (r) => r.targetType },
  { header: '对象', value: (r) => r.targetId, width: 24 },
  { header: '来源IP', value: (r) => r.ip },
  { header: '结果', value: (r) => ({ ok: '成功', denied: '拒绝', failed: '失败', error: '错误' })[r.result] },
  { header: '状态码', value: (r) => r.status },
  { header: '请求', value: (r) => `${r.method} ${r.path}`, width: 40 },
  { header: '详情', value: (r) => r.detail, width: 60 },
];

export function registerAuthRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const { store, sessions } = deps;

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/login',
    tags: ['认证'],
    summary: '登录（返回会话，并设置 HttpOnly Cookie jg_session）',
    auth: 'public',
    scope: 'self',
    audit: 'auth.login',
    body: LoginBody,
    handler: async (req, reply) => {
      const { username, password } = req.body;
      req.auditNote = { action: 'auth.login', actor: username, targetType: 'user', targetId: username };
      if (await sessions.isLocked(username)) throw new HubError('LOGIN_LOCKED');
      const found = await findUserForLogin(store, username);
      const ok = await verifyPassword(password, found?.passwordHash ?? (await dummyHash()));
      if (!found || !ok || !found.user.active) {
        await sessions.failedLogin(username);
        throw new HubError('LOGIN_FAILED');
      }
      await sessions.clearFailures(username);
      const { token, principal } = await sessions.create(principalOf(found.user, ''));
      req.principal = principal;
      void reply.header('set-cookie', sessionCookie(token, sessions.ttlSeconds(), req.protocol === 'https'));
      return { token, expiresInS: sessions.ttlSeconds(), user: principalView(principal) };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/logout',
    tags: ['认证'],
    summary: '退出登录',
    auth: 'any',
    scope: 'self',
    audit: 'auth.logout',
    handler: async (req, reply) => {
      const p = authorize(req);
      await sessions.destroy(p.sessionId);
      void reply.header('set-cookie', clearedCookie());
      return { ok: true };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/auth/me',
    tags: ['认证'],
    summary: '当前用户、角色与范围',
    auth: 'any',
    scope: 'self',
    handler: async (req) => principalView(authorize(req)),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/password',
    tags: ['认证'],
    summary: '修改本人密码',
    auth: 'any',
    scope: 'self',
    audit: 'auth.password',
    body: z.object({ current: z.string().min(1).max(200), next: z.string().min(10, '密码至少10位').max(200) }),
    handler: async (req) => {
      const p = authorize(req);
      const found = await findUserForLogin(store, p.username);
      if (!found || !(await verifyPassword(req.body.current, found.passwordHash))) throw new HubError('LOGIN_FAILED');
      await updateUser(store, p.userId, { password: req.body.next });
      await sessions.destroyAllOf(p.userId);
      req.auditNote = { targetType: 'user', targetId: p.username };
      return { ok: true };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/roles',
    tags: ['认证'],
    summary: '角色列表',
    auth: 'any',
    scope: 'none',
    handler: async () => ({ items: ROLES.map((r) => ({ role: r, name: ROLE_LABELS[r] })) }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/users',
    tags: ['用户'],
    summary: '用户列表',
    auth: ['system_admin'],
    scope: 'none',
    handler: async () => ({ items: (await listUsers(store)).map(userView) }),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/users',
    tags: ['用户'],
    summary: '新建用户',
    auth: ['system_admin'],
    scope: 'none',
    audit: 'user.create',
    body: NewUserSchema,
    handler: async (req, reply) => {
      const u = await createUser(store, req.body);
      req.auditNote = { targetType: 'user', targetId: u.username, detail: { roles: u.roles, scope: u.scope } };
      return reply.code(201).send(userView(u));
    },
  });

  defineRoute(app, {
    method: 'PATCH',
    url: '/api/v1/users/:id',
    tags: ['用户'],
    summary: '修改用户（角色、范围、启停、重置密码）；该用户的会话全部失效',
    auth: ['system_admin'],
    scope: 'none',
    audit: 'user.update',
    params: z.object({ id: z.string().min(1).max(64) }),
    body: UserPatchSchema,
    handler: async (req) => {
      if (!(await getUser(store, req.params.id))) throw new HubError('NOT_FOUND', `user ${req.params.id}`);
      const u = await updateUser(store, req.params.id, req.body);
      await sessions.destroyAllOf(u.id);
      const { password: _pw, ...changed } = req.body;
      req.auditNote = { targetType: 'user', targetId: u.username, detail: { ...changed, passwordReset: req.body.password !== undefined } };
      return userView(u);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/audit',
    tags: ['审计'],
    summary: '审计日志（分页、按操作人/操作/结果/对象/时间筛选）',
    auth: ['system_admin'],
    scope: 'none',
    query: AuditQuery,
    handler: async (req) => queryAudit(store, req.query),
  });

  defineExportRoute(app, {
    url: '/api/v1/audit',
    tags: ['审计'],
    summary: (format) => `导出审计日志（${format.toUpperCase()}）`,
    auth: ['system_admin'],
    scope: 'none',
    query: AuditQuery.extend({ limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }),
    columns: AUDIT_COLUMNS,
    load: async (req) => ({ name: '审计日志', rows: (await queryAudit(store, req.query)).items }),
  });
}

export type { FastifyRequest };
