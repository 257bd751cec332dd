/**
 * REST routes of the foundation: health, metrics, the registry, warnings (with an Excel-ready
 * CSV export), dead letters, the rule catalogue and the wall's boundary file.
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { RuleEngine } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { assertCityScope, authorize, inScope, scopedCounty, type Role } from '../auth/principal.js';
import type { Registry } from '../registry/registry.js';
import { totals } from '../store/repo.js';
import { listDeadLetters, pipelineStats } from '../ingest/repo.js';
import type { Store } from '../store/store.js';
import { metricsText } from '../telemetry/events.js';
import { registerPeopleRoutes } from './people.js';
import { describeIssues } from '../validation/issues.js';

export interface Health {
  status: 'ok' | 'degraded';
  transactions_stored: number;
  warnings_raised: number;
  dead_letters: number;
  collectors_connected: number;
  queue_waiting: number;
  store: { driver: string; status: 'ok' | 'down'; database: string };
  redis: { status: 'ok' | 'down' };
  rule_set: string;
  uptime_s: number;
}

export interface RouteDeps {
  store: Store;
  registry: Registry;
  engine: () => RuleEngine;
  health: () => Promise<Health>;
  boundaryGeojson?: string;
}

const Page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
/** Whole-city pipeline figures (roles; county-scoped users get OUT_OF_SCOPE). */
const PIPELINE_READERS: readonly Role[] = ['wall_viewer', 'leader', 'rule_admin', 'system_admin'];

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const e = new HubError('BATCH_INVALID', describeIssues(r.error));
    throw Object.assign(e, { statusCode: 400, code: 'QUERY_INVALID' });
  }
  return r.data;
}

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });

  app.get('/metrics', async (_req, reply) => {
    const h = await deps.health();
    const m = await metricsText({ collectorsConnected: h.collectors_connected, queueWaiting: h.queue_waiting });
    return reply.type(m.contentType).send(m.body);
  });

  app.get('/api/v1/geo/counties', { config: { auth: 'public', scope: 'none' } }, async (_req, reply) => {
    if (!deps.boundaryGeojson) return reply.code(204).send();
    const text = await fs.promises.readFile(deps.boundaryGeojson, 'utf8');
    return reply.type('application/geo+json').send(text);
  });

  app.get('/api/v1/institutions', { config: { auth: 'any', scope: 'list' } }, async (req) => {
    const p = authorize(req);
    const q = parse(z.object({ county: z.string().regex(/^\d{6}$/).optional() }), req.query);
    const county = scopedCounty(p, q.county);
    return { items: deps.registry.listInstitutions().filter((i) => inScope(p, i.county) && (county === undefined || i.county === county)) };
  });

  app.get('/api/v1/rules', { config: { auth: 'any', scope: 'none' } }, async () => {
    const engine = deps.engine();
    return { version: engine.version, items: engine.rules };
  });

  // Warnings (list, exports, detail, actions): api/warnings.ts.

  app.get('/api/v1/dead-letters', { config: { auth: ['system_admin', 'rule_admin'], scope: 'city' } }, async (req) => {
    assertCityScope(authorize(req, ['system_admin', 'rule_admin']));
    const q = parse(Page, req.query);
    return { items: await listDeadLetters(deps.store, q.limit, q.offset) };
  });

  // The office directory (display names, eligible assignees): api/people.ts.
  registerPeopleRoutes(app, { store: deps.store });

  app.get('/api/v1/totals', { config: { auth: PIPELINE_READERS, scope: 'city' } }, async (req) => {
    assertCityScope(authorize(req, PIPELINE_READERS));
    return totals(deps.store);
  });

  // Pipeline health over a recent period: throughput inputs and capture→stored latency.
  app.get('/api/v1/stats/pipeline', { config: { auth: PIPELINE_READERS, scope: 'city' } }, async (req) => {
    assertCityScope(authorize(req, PIPELINE_READERS));
    const q = parse(
      z.object({ since: z.coerce.number().int().min(0).default(() => Date.now() - 3_600_000), idPrefix: z.string().max(128).default('') }),
      req.query,
    );
    return pipelineStats(deps.store, q.since, q.idPrefix);
  });
}
