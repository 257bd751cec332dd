/**
 * REST routes of the foundation: health, metrics, the county boundaries, the institution and rule
 * lists, dead letters, totals and pipeline figures. Each answer's shape is declared in
 * @jianguan/protocol (system.ts) and documented in /docs.
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { RuleEngine } from '@jianguan/rules';
import { z } from 'zod';
import { authorize, inScope, scopedCounty, type Role } from '../http/access.js';
import type { Registry } from '../registry/registry.js';
import { totals } from '../store/repo.js';
import { listDeadLetters, pipelineStats } from '../ingest/repo.js';
import type { Store } from '../store/store.js';
import { metricsRegistry, metricsText } from '../telemetry/events.js';
import { registerPeopleRoutes } from './people.js';
import { defineRoute, Page } from '../http/define.js';
import {
  CountyBoundariesSchema,
  DeadLetterListSchema,
  HealthSchema,
  InstitutionListSchema,
  PipelineStatsSchema,
  RuleListSchema,
  TotalsSchema,
  type Health,
} from '../protocol/index.js';

export type { Health };

export interface RouteDeps {
  store: Store;
  registry: Registry;
  engine: () => RuleEngine;
  health: () => Promise<Health>;
  boundaryGeojson?: string;
  /** The institution a collector reports for (dead letters name it). */
  collectorInstitution: (collectorId: string) => string | undefined;
}

/** Whole-city pipeline figures (roles; county-scoped users get OUT_OF_SCOPE). */
const PIPELINE_READERS: readonly Role[] = ['wall_viewer', 'leader', 'rule_admin', 'system_admin'];
const DEAD_LETTER_READERS: readonly Role[] = ['system_admin', 'rule_admin'];

export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  // Outside /api: no session is looked at (load balancers and probes call it).
  defineRoute(app, {
    method: 'GET',
    url: '/healthz',
    tags: ['运维'],
    summary: '健康检查：存储、Redis、队列、已连接采集终端、在用规则集',
    description: '全部正常时 200；存储或 Redis 不可用时 503（同样的内容，status 为 degraded，读不到的数字为 -1）',
    auth: 'public',
    scope: 'none',
    response: HealthSchema,
    handler: async (_req, reply) => {
      const h = await deps.health();
      return reply.code(h.status === 'ok' ? 200 : 503).send(h);
    },
  });

  // Kept a bare route: it answers Prometheus text, and its door is not a session but
  // JG_METRICS_TOKEN or a loopback caller (auth/doors.ts), which defineRoute's `auth` cannot say.
  // The schema is for the OpenAPI document only (a string answer is never serialised).
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['运维'],
        summary: 'Prometheus 指标（文本格式）',
        description: 'Bearer JG_METRICS_TOKEN；未配置令牌时仅限本机直接访问（不经反向代理）',
        produces: [metricsRegistry.contentType],
        response: { 200: { type: 'string', description: 'Prometheus text exposition format' } },
      } as Record<string, unknown>,
    },
    async (_req, reply) => {
      const h = await deps.health();
      const m = await metricsText({
        collectorsConnected: h.collectors_connected,
        queueWaiting: h.queue_waiting,
        ...(h.disk ? { disk: { freeBytes: h.disk.free_bytes, totalBytes: h.disk.total_bytes } } : {}),
      });
      return reply.type(m.contentType).send(m.body);
    },
  );

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/geo/counties',
    tags: ['大屏'],
    summary: '区县边界（部署方配置的 GeoJSON 文件，原样返回；未配置时 204，大屏使用示意图）',
    auth: 'public',
    scope: 'none',
    // The file goes out as it is on disk (a string is never serialised, so never checked either).
    produces: ['application/geo+json'],
    response: CountyBoundariesSchema,
    handler: async (_req, reply) => {
      if (!deps.boundaryGeojson) return reply.code(204).send();
      const text = await fs.promises.readFile(deps.boundaryGeojson, 'utf8');
      return reply.type('application/geo+json').send(text);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/institutions',
    tags: ['备案'],
    summary: '机构列表（当前备案，按区县范围过滤；可选 county）',
    auth: 'any',
    scope: 'list',
    query: z.object({ county: z.string().regex(/^\d{6}$/).optional() }),
    response: InstitutionListSchema,
    handler: async (req) => {
      const p = authorize(req);
      const county = scopedCounty(p, req.query.county);
      return { items: deps.registry.listInstitutions().filter((i) => inScope(p, i.county) && (county === undefined || i.county === county)) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/rules',
    tags: ['规则'],
    summary: '在用规则集的规则目录（编号、名称、严重程度、处置方式、说明）',
    auth: 'any',
    scope: 'none',
    response: RuleListSchema,
    handler: async () => {
      const engine = deps.engine();
      return { version: engine.version, items: engine.rules };
    },
  });

  // Warnings (list, exports, detail, actions): workflow/routes.ts.

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/dead-letters',
    tags: ['运维'],
    summary: '死信记录（无法入库的采集记录，最新在前；全市）',
    auth: DEAD_LETTER_READERS,
    scope: 'city',
    query: Page,
    response: DeadLetterListSchema,
    handler: async (req) => {
      const rows = await listDeadLetters(deps.store, req.query.limit, req.query.offset);
      // Named by the sender's institution: an administrator reads 金城江区机动车检测站, not c-jcj-jyz-01.
      return {
        items: rows.map((d) => {
          const institutionId = deps.collectorInstitution(d.collectorId) ?? '';
          return { ...d, institutionId, institutionName: institutionId ? (deps.registry.institution(institutionId)?.name ?? '') : '' };
        }),
      };
    },
  });

  // The office directory (display names, eligible assignees): api/people.ts.
  registerPeopleRoutes(app, { store: deps.store });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/totals',
    tags: ['运维'],
    summary: '全市累计：业务记录、预警、死信（物理行数）',
    auth: PIPELINE_READERS,
    scope: 'city',
    response: TotalsSchema,
    handler: async (req) => {
      return totals(deps.store);
    },
  });

  // Pipeline health over a recent period: throughput inputs and capture→stored latency.
  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/stats/pipeline',
    tags: ['运维'],
    summary: '管道统计：since（毫秒时间戳，默认一小时前）以来采集的记录数与采集→入库延迟；idPrefix 限定采集终端',
    auth: PIPELINE_READERS,
    scope: 'city',
    // `since` defaults in the handler, so the document does not show the time it was generated.
    query: z.object({ since: z.coerce.number().int().min(0).optional().describe('毫秒时间戳；缺省为一小时前'), idPrefix: z.string().max(128).default('') }),
    response: PipelineStatsSchema,
    handler: async (req) => {
      return pipelineStats(deps.store, req.query.since ?? Date.now() - 3_600_000, req.query.idPrefix);
    },
  });
}
