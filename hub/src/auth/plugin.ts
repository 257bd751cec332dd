/**
 * Authentication, authorisation and audit for the HTTP API and the /wall namespace.
 *
 * - onRoute: every route is recorded (`registeredRoutes(app)`), so tests can walk them all, and
 *   its OpenAPI `security` is set from its declared `config.auth` (a role-protected route is never
 *   documented as open, however it was registered).
 * - onRequest (/api/* and /docs): resolve the session → `request.principal`; enforce the route's
 *   declared `config.auth` (roles) and a `config.scope` of 'city' (whole-city data or operations:
 *   a county-scoped account gets OUT_OF_SCOPE) before anything is parsed. Routes without `config.auth`
 *   (the collectors' own endpoints) authenticate themselves and may call `authorize()`. A
 *   session whose password an administrator set may only use /auth/me, /auth/password and
 *   /auth/logout. /docs needs a login unless JG_DOCS_PUBLIC. `GET /wall?kiosk=` swaps a kiosk
 *   token for its cookie (auth/kiosk.ts).
 * - onSend: one audit row for every mutating /api request, whatever its status, and for every
 *   denied read (401/403) and every request presenting a token that does not resolve.
 * - Routes: login / logout / me / password, users (system_admin), kiosk tokens (system_admin),
 *   the audit log (system_admin).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Namespace, Server } from 'socket.io';
import { z } from 'zod';
import { HubError, errorMessage } from '../errors.js';
import { clientAddress } from '../http-edges.js';
import { defineRoute } from '../http/define.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import type { Store } from '../store/store.js';
import { AuditQuery, AuditWriter, queryAudit, resultOf, type AuditEntry } from './audit.js';
import { auditActionText, auditDetailText, auditTargetTypeText } from './audit-text.js';
import { personNamer } from './people.js';
import { COUNTY_BY_CODE } from '@jianguan/rules';
import { KIOSK_COOKIE, kioskCookieOptions, KioskTokens, NewKioskSchema, type KioskRecord } from './kiosk.js';
import type { LoginLimits } from './login-limits.js';
import { assertPasswordAllowed } from './password-policy.js';
import { dummyHash, verifyPassword } from './passwords.js';
import { assertCityScope, authorize, ROLE_LABELS, ROLES, type Principal, type RouteAuth, type RouteScope } from '../http/access.js';
import { cookieValue, SESSION_COOKIE, sessionCookieOptions, SessionStore, tokenFromHeaders } from './sessions.js';
import { createUser, findUserForLogin, getUser, hasDemoPassword, listUsers, NewUserSchema, principalOf, updateUser, UserPatchSchema, type User } from './users.js';
import { emit } from '../telemetry/events.js';
import {
  AuditPageSchema,
  AuthOkSchema,
  KioskIssuedSchema,
  KioskListSchema,
  KioskRevokedSchema,
  LoginResponseSchema,
  MeResponseSchema,
  PasswordChangedSchema,
  RoleListSchema,
  UserListSchema,
  UserViewSchema,
} from '../protocol/index.js';

export interface RouteInfo {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
  scope: RouteScope | undefined;
  /** The action code its audit rows carry (`false`: not audited); undefined when it declares none. */
  audit: string | false | undefined;
}

const catalogs = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route registered on the app (after startup), with its declared auth and scope. */
export function registeredRoutes(app: FastifyInstance): readonly RouteInfo[] {
  return catalogs.get(app) ?? [];
}

export interface AuthDeps {
  store: Store;
  sessions: SessionStore;
  limits: LoginLimits;
  kiosk: KioskTokens;
  /** Demo mode: the demo password passes the policy (demo accounts only exist then). */
  demo: boolean;
  /** /docs without login. */
  docsPublic: boolean;
  /** Closes the wall connections of a revoked kiosk token. */
  onKioskRevoked?: (id: string) => void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** What a session that must change its password may still do. */
const SELF_SERVICE = new Set(['/api/v1/auth/me', '/api/v1/auth/password', '/api/v1/auth/logout']);

const writers = new WeakMap<FastifyInstance, AuditWriter>();

/** The app's audit writer (group commit), for denials outside HTTP: sockets, decisions. */
export function auditWriterOf(app: FastifyInstance): AuditWriter {
  let w = writers.get(app);
  if (!w) throw new Error('installAuthHooks has not run');
  return w;
}

/** Audits without making the caller wait or fail: socket handshakes answer at once. */
export function auditLater(app: FastifyInstance, e: Omit<AuditEntry, 'id' | 'at' | 'actorRoles' | 'actorScope' | 'targetType' | 'targetId' | 'detail'> & Partial<AuditEntry>): void {
  const w = writers.get(app);
  if (!w) return;
  w.writeLater({ at: Date.now(), actorRoles: [], actorScope: '', targetType: '', targetId: '', detail: '', ...e }).catch((err: unknown) =>
    emit(app.log, 'audit.write_failed', { err: errorMessage(err), action: e.action }),
  );
}

/** The session check for self-service routes: a principal, even one that must change its password. */
function authorizeSelf(req: { principal: Principal | null }): Principal {
  if (!req.principal) throw new HubError('AUTH_REQUIRED');
  return req.principal;
}

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
  writers.set(app, audit);
  // Before the store closes (its hook was added earlier, so it runs later): pending rows out.
  app.addHook('onClose', async () => {
    await audit.flush().catch((err: unknown) => emit(app.log, 'audit.write_failed', { err: errorMessage(err), action: 'close' }));
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('auditNote', null);
  app.decorateRequest('tokenRejected', false);

  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      catalog.push({ method: m, url: r.url, auth: r.config?.auth, scope: r.config?.scope, audit: r.config?.audit });
    }
    // The OpenAPI document says what the hooks enforce, for routes registered with a bare
    // app.get as well as through defineRoute.
    const auth = r.config?.auth;
    const schema = (r.schema ??= {}) as Record<string, unknown>;
    if (r.url === '/metrics') schema.security = [{ metrics: [] }];
    else if (auth === 'public') schema.security = [];
    else if (auth !== undefined) {
      schema.security = [{ session: [] }, { bearer: [] }];
      const roles = auth === 'any' ? '任何已登录用户' : auth.map((x) => `${ROLE_LABELS[x]}(${x})`).join('、');
      const note = `可用角色：${roles}`;
      if (typeof schema.description !== 'string' || !schema.description.includes(note)) schema.description = [schema.description, note].filter(Boolean).join('\n\n');
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const pathname = req.url.split('?')[0] ?? '';
    if (req.method === 'GET' && pathname === '/wall' && req.url.includes('kiosk=')) return exchangeKiosk(req, reply, deps.kiosk, app);
    const docs = pathname === '/docs' || pathname.startsWith('/docs/');
    if (!pathname.startsWith('/api/') && !docs) return;
    req.principal = null;
    req.auditNote = null;
    const token = tokenFromHeaders(req.headers, req.cookies);
    if (token) {
      req.principal = (await deps.sessions.resolve(token)) ?? null;
      if (!req.principal) req.tokenRejected = true;
    }
    if (docs) {
      if (deps.docsPublic) return;
      if (req.principal && !req.principal.mustChangePassword) return;
      // A person with a browser goes to the login page and comes back; a script gets the code.
      if ((req.headers.accept ?? '').includes('text/html')) return reply.redirect(`/login?next=${encodeURIComponent(pathname)}`, 303);
      // Answered here rather than thrown: the Swagger UI plugin's own context would render a thrown
      // error in fastify's default shape instead of the API's coded body.
      const e = new HubError('AUTH_REQUIRED', 'the API documentation needs a login');
      return reply.code(e.statusCode).send({ error: { code: e.code, message: e.message } });
    }
    const auth = req.routeOptions.config?.auth;
    if (auth === undefined || auth === 'public') return;
    if (SELF_SERVICE.has(pathname)) {
      authorizeSelf(req);
      return;
    }
    const p = authorize(req, auth);
    if (req.routeOptions.config?.scope === 'city') assertCityScope(p);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const pathname = req.url.split('?')[0] ?? '';
    const watched = pathname.startsWith('/api/') || pathname === '/metrics' || pathname === '/docs' || pathname.startsWith('/docs/');
    if (!watched) return payload;
    const denied = reply.statusCode === 401 || reply.statusCode === 403;
    // Writes always; reads when refused or when they presented a token that is not a session.
    if (!MUTATING.has(req.method) && !denied && !req.tokenRejected) return payload;
    if (MUTATING.has(req.method) && req.routeOptions.config?.audit === false && !denied) return payload;
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
      action:
        note?.action ??
        (req.routeOptions.config?.audit || undefined) ??
        (!MUTATING.has(req.method) ? (req.tokenRejected ? 'auth.token_invalid' : 'read.denied') : undefined) ??
        `${req.method} ${req.routeOptions.url ?? req.url}`,
      method: req.method,
      path: req.url,
      targetType: note?.targetType ?? '',
      targetId: note?.targetId ?? '',
      ip: clientAddress(req),
      result: resultOf(status),
      status,
      detail: detail ? JSON.stringify(detail) : '',
    };
    try {
      await audit.write(entry);
    } catch (e) {
      emit(req.log, 'audit.write_failed', { err: e, action: entry.action });
    }
    return payload;
  });
}

/** `GET /wall?kiosk=<token>`: a valid token becomes the screen's cookie; the URL is cleaned either way. */
async function exchangeKiosk(req: FastifyRequest, reply: import('fastify').FastifyReply, kiosk: KioskTokens, app: FastifyInstance): Promise<void> {
  const token = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1)).get('kiosk') ?? '';
  let rec: KioskRecord | undefined;
  try {
    rec = await kiosk.resolve(token);
  } catch (e) {
    emit(req.log, 'kiosk.resolve_failed', { err: errorMessage(e) });
  }
  if (rec) {
    void reply.setCookie(KIOSK_COOKIE, token, kioskCookieOptions(req.protocol === 'https'));
    auditLater(app, { actor: `kiosk:${rec.id}`, action: 'kiosk.exchange', method: 'GET', path: '/wall', ip: clientAddress(req), result: 'ok', status: 303, targetType: 'kiosk', targetId: rec.id });
  } else {
    auditLater(app, { actor: '', action: 'kiosk.exchange', method: 'GET', path: '/wall', ip: clientAddress(req), result: 'denied', status: 401, targetType: 'kiosk' });
  }
  return reply.redirect('/wall', 303);
}

export interface WallViewer {
  kind: 'user' | 'kiosk' | 'open';
  id: string;
  /** null = whole city. */
  scope: string | null;
}

export interface WallGuardOptions {
  sessions: SessionStore;
  kiosk: KioskTokens;
  /** Open /wall connections per client address. */
  perAddress: number;
  /** Called for each refused handshake (audit). Throttled per address by the caller's needs. */
  denied?: (address: string, code: string, who: string) => void;
  /** How often open screens' sessions are checked (WALL_SESSION_CHECK_MS). */
  sessionCheckMs?: number;
}

/**
 * How often a logged-in screen's session is checked while its connection stays open: a user who
 * logged out, was disabled, or had a role, scope or password changed (which ends all of their
 * sessions) stops receiving the wall's warnings within this. Checked on this replica's sockets,
 * so every replica closes its own.
 */
export const WALL_SESSION_CHECK_MS = 60_000;

/**
 * Requires a login or a kiosk token on /wall (JG_WALL_PUBLIC, demo on loopback only, skips this).
 * Accepted: a session (`auth.token`, Bearer or the jg_session cookie) of any user who has not a
 * pending password change, or a kiosk token (`auth.kiosk` or the jg_kiosk cookie). The viewer is
 * kept in `socket.data.viewer` (its scope for county walls). At most `perAddress` open
 * connections per client address, so one machine cannot make the hub build hundreds of
 * snapshots. The middleware is total: whatever the handshake carries, the outcome is `next()` or
 * `next(error)` with a code, never an exception escaping into socket.io.
 */
export function protectWallNamespace(io: Server, nsp: string, o: WallGuardOptions): { disconnectKiosk(id: string): void; close(): void } {
  const refused = (code: string, message: string) => Object.assign(new Error(message), { data: { code } });
  const open = new Map<string, number>();
  const namespace = io.of(nsp) as Namespace;
  // Socket id → the session it was opened with (users only; kiosk tokens are revoked by id).
  const sessionOf = new Map<string, string>();
  let checking = false;
  const check = setInterval(() => {
    if (checking || !sessionOf.size) return;
    checking = true;
    const ids = [...new Set(sessionOf.values())];
    o.sessions
      .live(ids)
      .then((live) => {
        for (const [socketId, sessionId] of sessionOf) if (!live.has(sessionId)) namespace.sockets.get(socketId)?.disconnect(true);
      })
      // Redis away: the screens stay as they are until it answers again.
      .catch(() => undefined)
      .finally(() => (checking = false));
  }, o.sessionCheckMs ?? WALL_SESSION_CHECK_MS);
  check.unref();
  namespace.use((socket, next) => {
    const address = typeof socket.handshake.address === 'string' ? socket.handshake.address : '';
    const deny = (code: string, message: string, who = '') => {
      try {
        o.denied?.(address, code, who);
      } catch {
        // auditing must not decide the answer
      }
      next(refused(code, message));
    };
    if ((open.get(address) ?? 0) >= o.perAddress) return deny('RATE_LIMITED', `at most ${o.perAddress} wall connections per address`);
    let token: string | undefined;
    let kioskToken: string | undefined;
    try {
      const h = socket.handshake;
      const auth = (h.auth ?? {}) as Record<string, unknown>;
      const fromAuth = auth.token;
      token = (typeof fromAuth === 'string' && fromAuth !== '' ? fromAuth : undefined) ?? tokenFromHeaders({ cookie: h.headers.cookie, authorization: h.headers.authorization });
      kioskToken = (typeof auth.kiosk === 'string' && auth.kiosk !== '' ? auth.kiosk : undefined) ?? cookieValue(h.headers.cookie, KIOSK_COOKIE);
    } catch {
      token = undefined;
      kioskToken = undefined;
    }
    if (!token && !kioskToken) return deny('AUTH_REQUIRED', 'login or kiosk token required');
    const accept = (viewer: WallViewer) => {
      socket.data.viewer = viewer;
      open.set(address, (open.get(address) ?? 0) + 1);
      socket.once('disconnect', () => {
        const n = (open.get(address) ?? 1) - 1;
        if (n > 0) open.set(address, n);
        else open.delete(address);
      });
      next();
    };
    (async () => {
      if (token) {
        const p = await o.sessions.resolve(token);
        if (p && !p.mustChangePassword) {
          sessionOf.set(socket.id, p.sessionId);
          socket.once('disconnect', () => sessionOf.delete(socket.id));
          return accept({ kind: 'user', id: p.username, scope: p.scope });
        }
      }
      if (kioskToken) {
        const k = await o.kiosk.resolve(kioskToken);
        if (k) return accept({ kind: 'kiosk', id: k.id, scope: k.scope });
      }
      deny('AUTH_REQUIRED', 'login or kiosk token required', token ? 'session' : 'kiosk');
    })().catch(() => next(refused('QUEUE_UNAVAILABLE', 'session store unavailable')));
  });
  return {
    close: () => clearInterval(check),
    disconnectKiosk: (id) => {
      for (const s of namespace.sockets.values()) if ((s.data as { viewer?: WallViewer }).viewer?.kind === 'kiosk' && (s.data as { viewer: WallViewer }).viewer.id === id) s.disconnect(true);
    },
  };
}

const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) });
/** An audit row as exported: the actor's name read from the accounts at export time. */
type AuditExportRow = AuditEntry & { actorName: string };
const RESULT_TEXT: Readonly<Record<AuditEntry['result'], string>> = { ok: '成功', denied: '拒绝', failed: '失败', error: '错误' };
// Names, not codes: a sheet read away from the screen says who did what to what, in words. The
// code columns stay beside the names where someone may need to search the raw log by them.
const AUDIT_COLUMNS: Column<AuditExportRow>[] = [
  { header: '时间', value: (r) => cstTime(r.at), width: 20 },
  { header: '操作人', value: (r) => r.actorName, width: 20 },
  { header: '角色', value: (r) => r.actorRoles.map((x) => ROLE_LABELS[x as keyof typeof ROLE_LABELS] ?? x).join('、') },
  { header: '范围', value: (r) => (r.actorScope ? (COUNTY_BY_CODE.get(r.actorScope)?.name ?? r.actorScope) : '全市') },
  { header: '操作', value: (r) => auditActionText(r.action), width: 24 },
  { header: '操作代码', value: (r) => r.action, width: 24 },
  { header: '对象类型', value: (r) => auditTargetTypeText(r.targetType) },
  { header: '对象', value: (r) => r.targetId, width: 24 },
  { header: '来源IP', value: (r) => r.ip },
  { header: '结果', value: (r) => RESULT_TEXT[r.result] },
  { header: '状态码', value: (r) => r.status },
  { header: '请求', value: (r) => `${r.method} ${r.path}`, width: 40 },
  { header: '详情', value: (r) => auditDetailText(r.detail), width: 60 },
];

export function registerAuthRoutes(app: FastifyInstance, deps: AuthDeps): void {
  const { store, sessions, limits, kiosk } = deps;
  const policy = (username: string) => ({ username, demo: deps.demo });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/login',
    tags: ['认证'],
    summary: '登录（返回会话，并设置 HttpOnly Cookie jg_session）',
    auth: 'public',
    response: LoginResponseSchema,
    scope: 'self',
    audit: 'auth.login',
    body: LoginBody,
    handler: async (req, reply) => {
      const { username, password } = req.body;
      req.auditNote = { action: 'auth.login', actor: username, targetType: 'user', targetId: username };
      // The slot is taken before the password is checked (login-limits.ts: no check-then-count race).
      const slot = await limits.reserve(clientAddress(req), username);
      if (!slot.allowed) {
        void reply.header('retry-after', String(slot.retryAfterS));
        throw new HubError('LOGIN_LOCKED', `too many failed logins from this address; retry in ${slot.retryAfterS} s`);
      }
      const found = await findUserForLogin(store, username);
      const ok = await verifyPassword(password, found?.passwordHash ?? (await dummyHash()));
      if (!found || !ok || !found.user.active) throw new HubError('LOGIN_FAILED');
      await slot.succeeded();
      const { token, principal } = await sessions.create({ ...principalOf(found.user, ''), ...(found.mustChange ? { mustChangePassword: true } : {}) });
      req.principal = principal;
      void reply.setCookie(SESSION_COOKIE, token, sessionCookieOptions(sessions.ttlSeconds(), req.protocol === 'https'));
      return { token, expiresInS: sessions.ttlSeconds(), user: principalView(principal), mustChangePassword: found.mustChange };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/logout',
    tags: ['认证'],
    summary: '退出登录',
    auth: 'any',
    response: AuthOkSchema,
    scope: 'self',
    audit: 'auth.logout',
    handler: async (req, reply) => {
      const p = authorizeSelf(req);
      await sessions.destroy(p.sessionId);
      void reply.setCookie(SESSION_COOKIE, '', sessionCookieOptions(0, req.protocol === 'https'));
      return { ok: true };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/auth/me',
    tags: ['认证'],
    summary: '当前用户、角色与范围',
    auth: 'any',
    response: MeResponseSchema,
    scope: 'self',
    handler: async (req) => {
      const p = authorizeSelf(req);
      return { ...principalView(p), mustChangePassword: p.mustChangePassword === true };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/auth/password',
    tags: ['认证'],
    summary: '修改本人密码',
    auth: 'any',
    response: PasswordChangedSchema,
    scope: 'self',
    audit: 'auth.password',
    body: z.object({ current: z.string().min(1).max(200), next: z.string().min(12, '密码至少12位').max(200) }),
    handler: async (req, reply) => {
      const p = authorizeSelf(req);
      req.auditNote = { targetType: 'user', targetId: p.username };
      const found = await findUserForLogin(store, p.username);
      if (!found || !(await verifyPassword(req.body.current, found.passwordHash))) throw new HubError('LOGIN_FAILED');
      if (req.body.next === req.body.current) throw new HubError('PASSWORD_WEAK', '新密码不能与原密码相同');
      assertPasswordAllowed(req.body.next, policy(p.username));
      await updateUser(store, p.userId, { password: req.body.next }, { mustChange: false });
      // Every session of the user ends (a stolen one included); this browser gets a fresh one.
      await sessions.destroyAllOf(p.userId);
      const fresh = await getUser(store, p.userId);
      if (!fresh) throw new HubError('NOT_FOUND', `user ${p.userId}`);
      const { token, principal } = await sessions.create(principalOf(fresh, ''));
      req.principal = principal;
      void reply.setCookie(SESSION_COOKIE, token, sessionCookieOptions(sessions.ttlSeconds(), req.protocol === 'https'));
      return { ok: true, token, expiresInS: sessions.ttlSeconds(), user: principalView(principal) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/roles',
    tags: ['认证'],
    summary: '角色列表',
    auth: 'any',
    response: RoleListSchema,
    scope: 'none',
    handler: async () => ({ items: ROLES.map((r) => ({ role: r, name: ROLE_LABELS[r] })) }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/users',
    tags: ['用户'],
    summary: '用户列表',
    auth: ['system_admin'],
    response: UserListSchema,
    scope: 'none',
    handler: async () => ({ items: (await listUsers(store)).map(userView) }),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/users',
    tags: ['用户'],
    summary: '新建用户',
    auth: ['system_admin'],
    response: UserViewSchema,
    scope: 'none',
    audit: 'user.create',
    body: NewUserSchema,
    handler: async (req, reply) => {
      assertPasswordAllowed(req.body.password, policy(req.body.username));
      // The administrator knows this password: the user must replace it at first login.
      const u = await createUser(store, req.body, { mustChange: true });
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
    response: UserViewSchema,
    scope: 'none',
    audit: 'user.update',
    params: z.object({ id: z.string().min(1).max(64) }),
    body: UserPatchSchema,
    handler: async (req) => {
      const before = await getUser(store, req.params.id);
      if (!before) throw new HubError('NOT_FOUND', `user ${req.params.id}`);
      if (req.body.password !== undefined) assertPasswordAllowed(req.body.password, policy(before.username));
      // A demo account disabled rather than given a new password (the start-up check passes over
      // disabled accounts) comes back only with a new one outside demo mode.
      else if (!deps.demo && req.body.active === true && !before.active && (await hasDemoPassword(store, before.username))) {
        throw new HubError('PASSWORD_WEAK', '该账号仍是演示密码：重新启用时请同时重置密码 / the account still has the demo password: set a new one when enabling it');
      }
      const u = await updateUser(store, req.params.id, req.body, { mustChange: true });
      // Rotation: a role, scope, status or password change ends every session of the user, so no
      // token issued under the old rights survives the change.
      await sessions.destroyAllOf(u.id);
      const { password: _pw, ...changed } = req.body;
      req.auditNote = { targetType: 'user', targetId: u.username, detail: { ...changed, passwordReset: req.body.password !== undefined } };
      return userView(u);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/kiosk-tokens',
    tags: ['大屏'],
    summary: '签发大屏令牌（返回一次性的大屏地址 /wall?kiosk=…；令牌只显示这一次）',
    auth: ['system_admin'],
    response: KioskIssuedSchema,
    scope: 'none',
    audit: 'kiosk.issue',
    body: NewKioskSchema,
    handler: async (req, reply) => {
      const p = authorize(req, ['system_admin']);
      const rec = await kiosk.issue(req.body, p.username);
      req.auditNote = { targetType: 'kiosk', targetId: rec.id, detail: { name: rec.name, scope: rec.scope } };
      return reply.code(201).send({ ...rec, wallUrl: `/wall?kiosk=${rec.token}` });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/kiosk-tokens',
    tags: ['大屏'],
    summary: '大屏令牌列表（不含令牌本身）',
    auth: ['system_admin'],
    response: KioskListSchema,
    scope: 'none',
    handler: async () => ({ items: await kiosk.list() }),
  });

  defineRoute(app, {
    method: 'DELETE',
    url: '/api/v1/kiosk-tokens/:id',
    tags: ['大屏'],
    summary: '吊销大屏令牌（使用它的大屏立即断开）',
    auth: ['system_admin'],
    response: KioskRevokedSchema,
    scope: 'none',
    audit: 'kiosk.revoke',
    params: z.object({ id: z.string().min(1).max(80) }),
    handler: async (req) => {
      const rec = await kiosk.revoke(req.params.id);
      if (!rec) throw new HubError('NOT_FOUND', `kiosk token ${req.params.id}`);
      req.auditNote = { targetType: 'kiosk', targetId: rec.id, detail: { name: rec.name } };
      deps.onKioskRevoked?.(rec.id);
      return { ok: true, revoked: rec };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/audit',
    tags: ['审计'],
    summary: '审计日志（分页、按操作人/操作/结果/对象/时间筛选）',
    auth: ['system_admin'],
    response: AuditPageSchema,
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
    load: async (req) => {
      const [{ items }, person] = await Promise.all([queryAudit(store, req.query), personNamer(store)]);
      return { name: '审计日志', rows: items.map((r) => ({ ...r, actorName: person(r.actor) })) };
    },
  });
}

export type { FastifyRequest };
