/**
 * Login sessions in Redis. The client holds a random 256-bit token (cookie `jg_session`, or
 * `Authorization: Bearer <token>` for scripts); Redis holds the principal under the token's
 * SHA-256 with an idle TTL renewed on use. Logout deletes the key. Failed logins are counted per
 * user name to slow guessing.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Principal } from './principal.js';

export const SESSION_COOKIE = 'jg_session';

export function tokenId(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlS: number,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:sess:${id}`;
  }

  async create(principal: Omit<Principal, 'sessionId'>): Promise<{ token: string; principal: Principal }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const p: Principal = { ...principal, sessionId: tokenId(token) };
    await this.redis
      .multi()
      .set(this.key(p.sessionId), JSON.stringify(p), 'EX', this.ttlS)
      .sadd(this.userKey(p.userId), p.sessionId)
      .expire(this.userKey(p.userId), this.ttlS * 4)
      .exec();
    return { token, principal: p };
  }

  /** The principal of a live session, renewing its TTL; undefined when unknown or expired. */
  async resolve(token: string): Promise<Principal | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const key = this.key(tokenId(token));
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    void this.redis.expire(key, this.ttlS).catch(() => undefined);
    return JSON.parse(raw) as Principal;
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

  /** Counts a failed login; true when the name is locked (≥ `max` failures in `windowS`). */
  async failedLogin(username: string, max = 8, windowS = 900): Promise<boolean> {
    const key = `${this.prefix}:loginfail:${username}`;
    const n = await this.redis.incr(key);
    if (n === 1) await this.redis.expire(key, windowS);
    return n >= max;
  }

  async isLocked(username: string, max = 8): Promise<boolean> {
    const n = Number((await this.redis.get(`${this.prefix}:loginfail:${username}`)) ?? 0);
    return n >= max;
  }

  async clearFailures(username: string): Promise<void> {
    await this.redis.del(`${this.prefix}:loginfail:${username}`);
  }

  ttlSeconds(): number {
    return this.ttlS;
  }
}

/**
 * The session token of a request: `Authorization: Bearer …` first, then the cookie.
 *
 * Total: any header value an attacker can send gives a token or undefined, never a throw. This
 * runs in the /api onRequest hook and in the /wall socket.io middleware, where a throw is a 500
 * or (in the middleware) an exception that takes the process down. Hub tokens are base64url, so
 * the cookie value is never URI-decoded: a `%` in it cannot be one of our tokens, and a malformed
 * escape (`%ZZ`) simply means "no session".
 */
export function tokenFromHeaders(headers: { authorization?: unknown; cookie?: unknown }): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) {
    const token = auth.replace(/^Bearer\s+/i, '').trim();
    return token === '' ? undefined : token;
  }
  return cookieValue(headers.cookie, SESSION_COOKIE);
}

/** Tokens are base64url (sessions.create); anything else in the cookie is not a session. */
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;

/**
 * One cookie's value from a Cookie header (RFC 6265 `name=value; name=value`), or undefined.
 * Never throws and never URI-decodes. A value in double quotes is unquoted. The first cookie of
 * that name wins, as browsers send the most specific path first.
 */
export function cookieValue(header: unknown, name: string): string | undefined {
  // Node joins repeated Cookie headers with "; ", but a raw array may come from other callers.
  const text = Array.isArray(header) ? header.filter((h) => typeof h === 'string').join('; ') : header;
  if (typeof text !== 'string' || text === '' || text.length > 16_384) return undefined;
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== name) continue;
    let value = part.slice(i + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return TOKEN_CHARS.test(value) ? value : undefined;
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}
