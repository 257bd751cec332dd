/**
 * Tier 3 of the hub: every feature's routes (each feature folder owns its own), then the built
 * dashboard or the hub's name at `/`, and the coded 404.
 */
import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import { registerRoutes, type Health } from '../api/routes.js';
import { registerAuthRoutes } from '../auth/plugin.js';
import { registerWarningRoutes } from '../workflow/routes.js';
import { withTimeout } from '../deadline.js';
import { diskSpace } from '../disk.js';
import { registerRegistryRoutes } from '../registry/routes.js';
import { registerBackupRoutes } from '../backup/routes.js';
import { registerCalendarRoutes } from '../calendar/routes.js';
import { registerReadinessRoutes } from '../readiness/routes.js';
import { registerEvaluationRoutes } from '../evaluation/routes.js';
import { samplingRuleIds } from '../evaluation/scoring.js';
import { registerBacktestRoutes } from '../backtest/routes.js';
import { registerCollectorRoutes } from '../collectors/routes.js';
import { registerDecisionRoutes } from '../decisions/routes.js';
import { installTableJobs } from '../exports/table-jobs.js';
import { httpErrorHandler } from '../http-edges.js';
import { registerPeerRoutes } from '../peer/routes.js';
import { registerRuleSetRoutes } from '../rulesets/routes.js';
import { HubError, type ErrorCode } from '../errors.js';
import { totals } from '../store/repo.js';
import { emit } from '../telemetry/events.js';

/**
 * How long /healthz (and /metrics, which reads the same) waits for each of its checks, in ms.
 * Unbounded, a check on Redis waited as long as Redis was away — the hub's connections keep
 * commands until Redis is back (maxRetriesPerRequest: null, which BullMQ requires of its own) —
 * so load balancers and monitoring saw time-outs instead of the documented 503 `degraded`.
 * Redis answers a PING in well under a millisecond; the store is given longer, as a loaded
 * engine's reads queue behind inserts and a busy hub should not be taken for a broken one.
 */
const CHECK_MS = { redis: 2_000, store: 5_000 } as const;

/** The figures /healthz gives when the store cannot be read. */
const UNREAD_TOTALS = { transactions: -1, warnings: -1, deadLetters: -1 } as const;

/** `p`, or a rejection coded `code` once `ms` have passed (what `p` does later is ignored). */
const within = <T>(p: Promise<T>, ms: number, code: ErrorCode): Promise<T> => withTimeout(p, ms, () => new HubError(code, `no answer within ${ms} ms`));

declare module 'fastify' {
  interface FastifyInstance {
    health(): Promise<Health>;
  }
}

export const routes = fp<{ version: string }>(
  async (app, { version }) => {
    const { store, redis, registry, rulesets, queue, collect, config, supervision: s } = app;
    const started = Date.now();
    const ruleStateHealth = async (): Promise<NonNullable<Health['rule_state']>> => {
      const { mode } = app.ruleState;
      if (mode === 'redis') return { mode, state: 'ready' };
      const s = await app.ruleState.status().catch(() => undefined);
      if (!s) return { mode, state: 'unavailable' };
      return { mode, state: s.state, keys: s.keys, entries: s.entries, generation: s.generation, log_bytes: s.logBytes };
    };
    const evaluationHealth = (): NonNullable<Health['evaluation']> => {
      const e = app.evaluation.status();
      return { mode: e.mode, threads: e.threads, threads_taking: e.threadsTaking, batches_hub: e.jobsHub, batches_threads: e.jobsThreads };
    };
    // Every check within a deadline (see CHECK_MS): a probe gets its answer, 503 if need be.
    const redisUp = async (): Promise<boolean> => {
      // Not connected (reconnecting after Redis went away): down, without asking — a command on
      // this connection would wait in ioredis's offline queue until Redis is back.
      if (redis.status !== 'ready') return false;
      return within(redis.ping(), CHECK_MS.redis, 'QUEUE_UNAVAILABLE').then(
        (r) => r === 'PONG',
        () => false,
      );
    };
    // The data directory's disk. Low space is logged once an hour while it lasts, not at every probe.
    let diskLowToldAt = Number.NEGATIVE_INFINITY;
    const diskHealth = async (): Promise<Health['disk']> => {
      const space = await diskSpace(config.dataDir);
      if (!space) return undefined;
      const { freeBytes: free, totalBytes: total } = space;
      const low = free < config.diskLowBytes;
      if (low && Date.now() - diskLowToldAt >= 3_600_000) {
        diskLowToldAt = Date.now();
        emit(app.log, 'disk.low', { dir: config.dataDir, freeBytes: free, totalBytes: total, lowBytes: config.diskLowBytes }, `${free} bytes free on the disk of ${config.dataDir} (below JG_DISK_LOW_BYTES ${config.diskLowBytes}): make room before it fills; a full disk fails inserts and collectors keep their records until there is room`);
      }
      return { free_bytes: free, total_bytes: total, status: low ? 'low' : 'ok' };
    };
    const health = async (): Promise<Health> => {
      const [storeOk, redisOk] = await Promise.all([within(store.ping(), CHECK_MS.store, 'STORE_UNAVAILABLE').catch(() => false), redisUp()]);
      const [t, waiting] = await Promise.all([
        storeOk ? within(totals(store), CHECK_MS.store, 'STORE_UNAVAILABLE').catch(() => UNREAD_TOTALS) : UNREAD_TOTALS,
        // The queue's own connection may still be reconnecting when the shared one is back.
        redisOk ? within(queue.waiting(), CHECK_MS.redis, 'QUEUE_UNAVAILABLE').catch(() => -1) : -1,
      ]);
      // Memory of this hub (or nothing to read, in Redis mode): nothing to wait for.
      const [ruleState, disk] = await Promise.all([ruleStateHealth(), diskHealth()]);
      return {
        status: storeOk && redisOk && ruleState.state === 'ready' ? 'ok' : 'degraded',
        transactions_stored: t.transactions,
        warnings_raised: t.warnings,
        dead_letters: t.deadLetters,
        collectors_connected: collect.connected(),
        queue_waiting: waiting,
        store: { driver: store.driver, status: storeOk ? 'ok' : 'down', database: store.database },
        redis: { status: redisOk ? 'ok' : 'down' },
        rule_set: rulesets.versionAt(),
        rule_state: ruleState,
        evaluation: evaluationHealth(),
        uptime_s: Math.round((Date.now() - started) / 1000),
        calendar_missing: app.calendars.missing(),
        ...(disk ? { disk } : {}),
      };
    };
    app.decorate('health', health);

    app.setErrorHandler(httpErrorHandler(app.log));

    await registerRoutes(app, {
      store,
      registry,
      engine: () => rulesets.engineAt(),
      health,
      boundaryGeojson: config.boundaryGeojson,
      collectorInstitution: (id) => app.collectors.get(id)?.institutionId,
    });
    // Before any route that imports or exports a table: they share its limits and job gate.
    installTableJobs(app, config);
    registerAuthRoutes(app, s.auth);
    // Which rules draw samples rather than raise suspicions, as of the rule set in force.
    const samplingRules = () => samplingRuleIds(rulesets.engineAt().definitions);
    registerWarningRoutes(app, { store, registry, workflow: s.workflow, evidenceMaxBytes: config.evidenceMaxBytes, recheck: { calendar: app.calendar, engine: () => rulesets.engineAt() }, samplingRules });
    registerRegistryRoutes(app, { registry, changes: s.changes });
    registerBackupRoutes(app, { backups: s.backups });
    registerCalendarRoutes(app, { calendars: app.calendars });
    registerReadinessRoutes(app, { store, registry, changes: s.changes, collectors: app.collectors, calendars: app.calendars, backups: s.backups, rulesets, config });
    registerEvaluationRoutes(app, { registry, evaluation: s.evaluation, store, samplingRules });
    registerCollectorRoutes(app, { collectors: app.collectors });
    registerDecisionRoutes(app, { decisions: app.decisions, registry, collectors: app.collectors, store, pseudonyms: app.pseudonyms, collectorKeys: config.collectorKeys });
    registerRuleSetRoutes(app, { rulesets });
    registerBacktestRoutes(app, { backtests: app.backtests });
    registerPeerRoutes(app, { peer: app.peer });

    if (config.dashboardDir && fs.existsSync(path.join(config.dashboardDir, 'index.html'))) {
      const root = config.dashboardDir;
      await app.register(fastifyStatic, { root, wildcard: false, index: false });
      const fallback = fs.existsSync(path.join(root, '200.html')) ? '200.html' : 'index.html';
      app.get('/', (_req, reply) => reply.redirect('/wall'));
      // Client-side routes (/wall, /institutions/…) get the SPA shell.
      app.setNotFoundHandler((req, reply) => {
        if (req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/socket.io')) {
          return reply.type('text/html').sendFile(fallback);
        }
        return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } });
      });
    } else {
      app.get('/', async () => ({ name: 'jianguan-hub', version, dashboard: 'not built (JG_DASHBOARD_DIR)' }));
      app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `${req.method} ${req.url.slice(0, 200)}` } }));
      if (config.dashboardDir) emit(app.log, 'dashboard.missing', { dir: config.dashboardDir });
    }
  },
  { name: 'jg-routes', dependencies: ['jg-pipeline'] },
);
