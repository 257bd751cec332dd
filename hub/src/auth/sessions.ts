/**
 * Login sessions in Redis. The client holds a random 256-bit token (cookie `jg_session`, or
 * `Authorization: Bearer <token>` for scripts); Redis holds the principal under the token's
 * SHA-256 with an idle TTL renewed on use, and the moment it was issued: a session ends after
 * `maxS` however busy it is (an unattended, logged-in office PC does not stay logged in for
 * weeks). Logout deletes the key; a change of a user's roles, scope, status or password deletes
 * all of that user's sessions (rotation: the next request needs a new login and a new token).
 *
 * Failed logins are limited per address and per address + user name (auth/login-limits.ts), not
 * here: a lock per user name alone lets anyone lock anyone out.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Principal } from '../http/access.js';
import { fastifyCookie, type CookieSerializeOptions } from '@fastify/cookie';

export const SESSION_COOKIE = 'jg_session';

export function tokenId(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** What Redis keeps per session. */
interface StoredSession extends Principal {
  /** Epoch ms the session was created (absolute lifetime). */
  issuedAt?: number;
}

export class SessionStore {
  private readonly maxS: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlS: number,
    /** Absolute lifetime; defaults to the idle TTL (no sliding beyond it). */
    maxS?: number,
  ) {
    this.maxS = Math.max(maxS ?? ttlS, 1);
  }

  private key(id: string): string {
    return `${this.prefix}:sess:${id}`;
  }

  async create(principal: Omit<Principal, 'sessionId'>): Promise<{ token: string; principal: Principal }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const p: Principal = { ...principal, sessionId: tokenId(token) };
    const stored: StoredSession = { ...p, issuedAt: Date.now() };
    await this.redis
      .multi()
      .set(this.key(p.sessionId), JSON.stringify(stored), 'EX', this.ttlSeconds())
      .sadd(this.userKey(p.userId), p.sessionId)
      .expire(this.userKey(p.userId), this.maxS + 60)
      .exec();
    return { token, principal: p };
  }

  /** The principal of a live session, renewing its idle TTL (never past the absolute end); undefined when unknown or expired. */
  async resolve(token: string): Promise<Principal | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const key = this.key(tokenId(token));
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    let s: StoredSession;
    try {
      s = JSON.parse(raw) as StoredSession;
    } catch {
      return undefined;
    }
    // Sessions from before the absolute lifetime existed count from now on their next renewal.
    const issuedAt = typeof s.issuedAt === 'number' ? s.issuedAt : Date.now();
    const leftMs = issuedAt + this.maxS * 1000 - Date.now();
    if (leftMs <= 0) {
      await this.redis.del(key).catch(() => undefined);
      return undefined;
    }
    void this.redis.pexpire(key, Math.min(this.ttlS * 1000, leftMs)).catch(() => undefined);
    const { issuedAt: _i, ...principal } = s;
    return principal;
  }

  /**
   * Which of `sessionIds` are live, without renewing them (a wall screen left open must not keep
   * its session from ending idle): their keys expire at the idle and the absolute end alike.
   */
  async live(sessionIds: readonly string[]): Promise<Set<string>> {
    if (!sessionIds.length) return new Set();
    const pipe = this.redis.pipeline();
    for (const id of sessionIds) pipe.exists(this.key(id));
    const answers = (await pipe.exec()) ?? [];
    return new Set(sessionIds.filter((_, i) => answers[i]?.[0] === null && answers[i]?.[1] === 1));
  }

  async destroy(sessionId: string): Promise<void> {
    await this.redis.del(this.key(sessionId));
  }

  private userKey(userId: string): string {
    return `${this.prefix}:usess:${userId}`;
  }

  /** Ends every session of a user (after a role, scope, password or status change). */
  async destroyAllOf(userId: string): Promise<void> {
    const ids = await this.redis.smembers(this.userKey(userId));
    if (ids.length) await this.redis.del(...ids.map((id) => this.key(id)));
    await this.redis.del(this.userKey(userId));
  }

  /** The cookie / token lifetime to announce: the idle TTL, capped by the absolute one. */
  ttlSeconds(): number {
    return Math.min(this.ttlS, this.maxS);
  }
}

/**
 * The session token of a request: `Authorization: Bearer …` first, then the cookie (`cookie` is
 * the header for the /wall handshake; over HTTP, @fastify/cookie's parsed `req.cookies`).
 *
 * Total: any header value an attacker can send gives a token or undefined, never a throw. This
 * runs in the /api onRequest hook and in the /wall socket.io middleware, where a throw is a 500
 * or (in the middleware) an exception that takes the process down. @fastify/cookie's parser leaves
 * a malformed escape (`%ZZ`) undecoded instead of throwing, and hub tokens are base64url, so any
 * other character in the value simply means "no session".
 */
export function tokenFromHeaders(headers: { authorization?: unknown; cookie?: unknown }, cookies?: Record<string, string | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) {
    const token = auth.replace(/^Bearer\s+/i, '').trim();
    return token === '' ? undefined : token;
  }
  return cookies ? tokenValue(cookies[SESSION_COOKIE]) : cookieValue(headers.cookie, SESSION_COOKIE);
}

/** Tokens are base64url (sessions.create); anything else in the cookie is not a session. */
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;

function tokenValue(raw: string | undefined): string | undefined {
  // RFC 6265 allows a quoted value; the parser keeps the quotes.
  const value = raw !== undefined && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return value !== undefined && TOKEN_CHARS.test(value) ? value : undefined;
}

/**
 * One cookie's value from a raw Cookie header (the /wall handshake, which fastify's hooks do not
 * see), parsed by @fastify/cookie as req.cookies is over HTTP, or undefined. Never throws: the
 * parser is wrapped, whatever a future version does with a hostile header (and it throws until
 * the plugin has loaded its cookie module: before that, no session). The first cookie of
 * that name wins, as browsers send the most specific path first.
 */
export function cookieValue(header: unknown, name: string): string | undefined {
  // Node joins repeated Cookie headers with "; ", but a raw array may come from other callers.
  const text = Array.isArray(header) ? header.filter((h) => typeof h === 'string').join('; ') : header;
  if (typeof text !== 'string' || text === '' || text.length > 16_384) return undefined;
  try {
    return tokenValue(fastifyCookie.parse(text)[name]);
  } catch {
    return undefined;
  }
}

/** Attributes of the session cookie; `maxAgeS` 0 clears it. */
export function sessionCookieOptions(maxAgeS: number, secure: boolean): CookieSerializeOptions {
  return { path: '/', httpOnly: true, sameSite: 'lax', maxAge: maxAgeS, secure };
}
