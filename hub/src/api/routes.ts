/**
 * REST routes of the foundation: health, metrics, the registry, warnings (with an Excel-ready
 * CSV export), dead letters, the rule catalogue and the wall's boundary file.
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { COUNTY_BY_CODE, SEVERITY_LABELS, type RuleEngine } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { listDeadLetters, listWarnings, pipelineStats, totals, type WarningRecord } from '../store/repo.js';
import type { Store } from '../store/store.js';
import { metricsText } from '../telemetry/events.js';

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
const WarningQuery = Page.extend({
  institution: z.string().max(64).optional(),
  county: z.string().regex(/^\d{6}$/).optional(),
  rule: z.string().max(64).optional(),
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const e = new HubError('BATCH_INVALID', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    throw Object.assign(e, { statusCode: 400, code: 'QUERY_INVALID' });
  }
  return r.data;
}

/** RFC 4180 field quoting. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const CST = 8 * 3_600_000;
function cstTime(ms: number): string {
  return new Date(ms + CST).toISOString().replace('T', ' ').slice(0, 19);
}

export function warningsCsv(items: readonly WarningRecord[], institutionName: (id: string) => string): string {
  const header = ['预警编号', '规则编号', '规则名称', '严重程度', '处置方式', '机构', '区县', '业务发生时间', '预警时间', '说明', '当事人', '业务流水', '规则版本'];
  const rows = items.map((w) => [
    w.id,
    w.rule_id,
    w.rule_name,
    SEVERITY_LABELS[w.severity as keyof typeof SEVERITY_LABELS] ?? w.severity,
    w.action === 'hold' ? '拦截' : '预警',
    institutionName(w.institution_id),
    COUNTY_BY_CODE.get(w.county)?.name ?? w.county,
    cstTime(w.occurred_at),
    cstTime(w.raised_at),
    w.explanation,
    w.subject_masked,
    w.transaction_id,
    w.rule_version,
  ]);
  // BOM so Excel opens UTF-8 Chinese correctly; CRLF line ends as Excel expects.
  return `\uFEFF${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });

  app.get('/metrics', async (_req, reply) => {
    const h = await deps.health();
    return reply.type('text/plain; version=0.0.4').send(
      metricsText({ jg_collectors_connected: h.collectors_connected, jg_queue_waiting: h.queue_waiting }),
    );
  });

  app.get('/api/v1/geo/counties', async (_req, reply) => {
    if (!deps.boundaryGeojson) return reply.code(204).send();
    const text = await fs.promises.readFile(deps.boundaryGeojson, 'utf8');
    return reply.type('application/geo+json').send(text);
  });

  app.get('/api/v1/institutions', async () => ({ items: deps.registry.listInstitutions() }));

  app.get('/api/v1/rules', async () => {
    const engine = deps.engine();
    return { version: engine.version, items: engine.rules };
  });

  app.get('/api/v1/warnings', async (req) => {
    const q = parse(WarningQuery, req.query);
    return listWarnings(deps.store, { institutionId: q.institution, county: q.county, ruleId: q.rule, limit: q.limit, offset: q.offset });
  });

  app.get('/api/v1/warnings.csv', async (req, reply) => {
    const q = parse(WarningQuery.extend({ limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }), req.query);
    const { items } = await listWarnings(deps.store, { institutionId: q.institution, county: q.county, ruleId: q.rule, limit: q.limit, offset: q.offset });
    const csv = warningsCsv(items, (id) => deps.registry.institution(id)?.name ?? id);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="warnings.csv"; filename*=UTF-8''${encodeURIComponent('预警清单.csv')}`)
      .send(csv);
  });

  app.get('/api/v1/dead-letters', async (req) => {
    const q = parse(Page, req.query);
    return { items: await listDeadLetters(deps.store, q.limit, q.offset) };
  });

  app.get('/api/v1/totals', async () => totals(deps.store));

  // Pipeline health over a recent period: throughput inputs and capture→stored latency.
  app.get('/api/v1/stats/pipeline', async (req) => {
    const q = parse(z.object({ since: z.coerce.number().int().min(0).default(() => Date.now() - 3_600_000) }), req.query);
    return pipelineStats(deps.store, q.since);
  });
}
