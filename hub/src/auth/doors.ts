/**
 * The hub's outer doors, registered before any route (docs/security.md):
 *
 * - security headers (@fastify/helmet): a CSP that admits exactly what the SvelteKit build needs
 *   — its own files, plus the SHA-256 of each inline bootstrap <script> in the built index.html,
 *   computed here at start so a rebuild needs no edit — frame-ancestors 'none', Referrer-Policy
 *   no-referrer, nosniff; HSTS only on responses to requests that came over TLS (directly or via
 *   a trusted proxy), since a browser ignores it over plain HTTP anyway.
 * - CSRF: a state-changing request that carries no Authorization header (so a browser may have
 *   attached the session cookie by itself) must come from the hub's own origin: Sec-Fetch-Site
 *   same-origin/none, and an Origin, when sent, equal to the hub's (or JG_ALLOWED_ORIGINS).
 *   Browsers send at least one of the two on every cross-site POST; Bearer-token and collector
 *   requests carry Authorization and are not CSRF-able.
 * - a Redis-backed request rate per address on the login route (@fastify/rate-limit).
 * - /metrics: Bearer JG_METRICS_TOKEN, or, without a token configured, loopback callers only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { HubConfig } from '../config.js';
import { HubError } from '../errors.js';
import { clientAddress } from '../http-edges.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const LOGIN_URL = '/api/v1/auth/login';

/** 'sha256-…' sources for every inline <script> of the built pages (the SvelteKit bootstrap). */
export function inlineScriptHashes(dashboardDir: string | undefined): string[] {
  if (!dashboardDir) return [];
  const out = new Set<string>();
  for (const name of ['index.html', '200.html']) {
    const file = path.join(dashboardDir, name);
    if (!fs.existsSync(file)) continue;
    const html = fs.readFileSync(file, 'utf8');
    for (const m of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
      if (/\ssrc\s*=/i.test(m[1] ?? '')) continue;
      out.add(`'sha256-${crypto.createHash('sha256').update(m[2] ?? '', 'utf8').digest('base64')}'`);
    }
  }
  return [...out];
}

/** The origin the request was addressed to, as a browser on the hub's page would send it. */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`.toLowerCase();
}

/** Throws CSRF_REFUSED for a browser request from another site. Exported for tests. */
export function checkSameOrigin(req: FastifyRequest, allowed: ReadonlySet<string>): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new HubError('CSRF_REFUSED', `Sec-Fetch-Site: ${site.slice(0, 20)}`);
  }
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    const o = origin.toLowerCase();
    if (o !== ownOrigin(req) && !allowed.has(o)) throw new HubError('CSRF_REFUSED', `Origin ${origin.slice(0, 100)} is not this hub`);
  }
}

function isLoopbackAddress(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

function bearerMatches(header: unknown, token: string): boolean {
  if (typeof header !== 'string' || !/^Bearer\s+/i.test(header)) return false;
  const a = crypto.createHash('sha256').update(header.replace(/^Bearer\s+/i, '').trim()).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

export async function installDoors(app: FastifyInstance, deps: { config: HubConfig; redis: Redis }): Promise<void> {
  const { config } = deps;
  const hashes = inlineScriptHashes(config.dashboardDir);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...hashes],
        // Svelte templates and d3 write style attributes; CSS cannot run script, so this is the
        // one relaxation (style hashes cannot cover attributes).
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Set per request below: only over TLS.
    hsts: false,
    // The wall loads county boundaries and fonts from itself only; COEP would add nothing.
    crossOriginEmbedderPolicy: false,
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.protocol === 'https') void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    return payload;
  });

  const allowed = new Set(
    config.allowedOrigins
      .split(',')
      .map((s) => s.trim().toLowerCase().replace(/\/+$/, ''))
      .filter((s) => s !== ''),
  );
  app.addHook('onRequest', async (req) => {
    if (!MUTATING.has(req.method) || req.headers.authorization !== undefined) return;
    checkSameOrigin(req, allowed);
  });

  await app.register(rateLimit, {
    global: false,
    redis: deps.redis,
    nameSpace: `${config.queuePrefix}:rl:`,
    // A Redis failure must not turn the login into an open door.
    skipOnError: false,
  });
  const loginRate = app.rateLimit({
    max: config.loginRatePerMin,
    timeWindow: 60_000,
    keyGenerator: clientAddress,
    errorResponseBuilder: (_req, ctx) => new HubError('RATE_LIMITED', `login: at most ${ctx.max} attempts per minute from one address; retry in ${Math.ceil(ctx.ttl / 1000)} s`),
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'POST' && req.url.split('?')[0] === LOGIN_URL) await loginRate.call(app, req, reply);
  });

  app.addHook('onRequest', async (req) => {
    if (req.url.split('?')[0] !== '/metrics') return;
    if (config.metricsToken !== undefined) {
      if (!bearerMatches(req.headers.authorization, config.metricsToken)) throw new HubError('AUTH_REQUIRED', 'metrics: Bearer JG_METRICS_TOKEN');
      return;
    }
    // No token: only the machine itself, and not through a local reverse proxy.
    const forwarded = req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
    if (!isLoopbackAddress(clientAddress(req)) || forwarded) throw new HubError('FORBIDDEN', 'metrics: loopback only unless JG_METRICS_TOKEN is set');
  });
}
