/**
 * Kiosk tokens: the credential of one unattended wall screen, issued and revoked by a system
 * administrator (POST/GET/DELETE /api/v1/kiosk-tokens).
 *
 * The token is shown once, inside the wall URL `/wall?kiosk=<token>`. The screen opens that URL
 * once; the hub swaps the token for an HttpOnly, SameSite=Strict cookie `jg_kiosk` (Secure under
 * TLS) and redirects to a clean `/wall`, so the token does not stay in the address bar, the
 * browser history or a Referer. The /wall socket accepts the cookie (or `auth.kiosk` from a
 * script). Revocation deletes the token and disconnects the screens using it.
 *
 * A token carries a scope: null = whole city, or one county adcode. Redis keeps the SHA-256 of
 * each token, never the token.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { County } from './users.js';
import type { CookieSerializeOptions } from '@fastify/cookie';

export const KIOSK_COOKIE = 'jg_kiosk';

export const NewKioskSchema = z.object({
  /** Which screen, e.g. 指挥中心主屏. */
  name: z.string().min(1).max(64),
  scope: County.nullable().default(null),
});

export interface KioskRecord {
  id: string;
  name: string;
  scope: string | null;
  createdBy: string;
  createdAt: number;
}

const Stored = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.number(),
  tokenId: z.string(),
});

function tokenId(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export class KioskTokens {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private tokenKey(id: string): string {
    return `${this.prefix}:kiosk:tok:${id}`;
  }

  private get index(): string {
    return `${this.prefix}:kiosk:all`;
  }

  async issue(input: z.output<typeof NewKioskSchema>, by: string): Promise<KioskRecord & { token: string }> {
    const token = `k_${crypto.randomBytes(32).toString('base64url')}`;
    const rec = { id: `kiosk-${crypto.randomUUID()}`, name: input.name, scope: input.scope, createdBy: by, createdAt: Date.now() };
    const stored = { ...rec, tokenId: tokenId(token) };
    await this.redis.multi().set(this.tokenKey(stored.tokenId), JSON.stringify(stored)).hset(this.index, rec.id, JSON.stringify(stored)).exec();
    return { ...rec, token };
  }

  async list(): Promise<KioskRecord[]> {
    const all = await this.redis.hvals(this.index);
    return all
      .map((raw) => Stored.safeParse(JSON.parse(raw)))
      .filter((r) => r.success)
      .map(({ data: { tokenId: _t, ...rec } }) => rec)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Deletes the token; resolves the record it was, or undefined when unknown. */
  async revoke(id: string): Promise<KioskRecord | undefined> {
    const raw = await this.redis.hget(this.index, id);
    if (!raw) return undefined;
    const parsed = Stored.safeParse(JSON.parse(raw));
    await this.redis.multi().hdel(this.index, id).del(...(parsed.success ? [this.tokenKey(parsed.data.tokenId)] : [])).exec();
    if (!parsed.success) return undefined;
    const { tokenId: _t, ...rec } = parsed.data;
    return rec;
  }

  /** The screen a token belongs to; undefined for an unknown, revoked or malformed token. */
  async resolve(token: string): Promise<KioskRecord | undefined> {
    if (!/^k_[A-Za-z0-9_-]{40,60}$/.test(token)) return undefined;
    const raw = await this.redis.get(this.tokenKey(tokenId(token)));
    if (!raw) return undefined;
    const parsed = Stored.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    const { tokenId: _t, ...rec } = parsed.data;
    return rec;
  }
}

/** Attributes of the kiosk cookie. */
export function kioskCookieOptions(secure: boolean): CookieSerializeOptions {
  // A year: the screen is re-issued when revoked, not when a cookie runs out at 3 a.m.
  return { path: '/', httpOnly: true, sameSite: 'strict', maxAge: 31_536_000, secure };
}
