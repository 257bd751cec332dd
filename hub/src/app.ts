/**
 * Builds the hub: store (migrated) → registry → Redis + BullMQ → rule engine → fastify with
 * socket.io on the same port (/collect for collectors, /wall for screens) → REST → the built
 * dashboard. `startHub` is what server.ts, the demo, the bench and the tests call.
 */
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { Server } from 'socket.io';
import {
  createEngine,
  createWorkCalendar,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  type RuleEngine,
} from '@jianguan/rules';
import { loadConfig, CollectorCredential, type HubConfig } from './config.js';
import { HubError, errorMessage, isHubError } from './errors.js';
import { registerRoutes, type Health } from './api/routes.js';
import { attachCollectNamespace } from './ingest/collect.js';
import { createEvaluateProcessor, type EvaluateDeps } from './jobs/evaluate.js';
import { createEvaluationQueue, redisConnection, type EvaluationQueue } from './jobs/queue.js';
import { createRedisWindowState } from './jobs/window-state.js';
import { WallBroadcaster } from './live/wall.js';
import { Registry } from './registry/registry.js';
import { migrate } from './store/migrate.js';
import { upsertInstitutions, upsertStaff, totals } from './store/repo.js';
import { openStore, type Store } from './store/store.js';
import { createTelemetry } from './telemetry/events.js';

export const HUB_VERSION = '0.1.0';

export interface Hub {
  readonly config: HubConfig;
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly io: Server;
  readonly store: Store;
  readonly registry: Registry;
  readonly queue: EvaluationQueue;
  readonly wall: WallBroadcaster;
  health(): Promise<Health>;
  close(): Promise<void>;
}

function readCollectorsFile(file: string | undefined): CollectorCredential[] {
  if (!file) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `JG_COLLECTORS_FILE ${file}: ${errorMessage(e)}`);
  }
  const parsed = CollectorCredential.array().safeParse(raw);
  if (!parsed.success) throw new HubError('CONFIG_INVALID', `JG_COLLECTORS_FILE ${file}: ${parsed.error.message}`);
  return parsed.data;
}

export async function startHub(overrides: Partial<HubConfig> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Hub> {
  const config = loadConfig(env, overrides);
  const app = Fastify({
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // socket.io answers its own upgrade and polling requests on the same server.
    forceCloseConnections: true,
  });
  const log = app.log;
  const telemetry = createTelemetry(log);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ event: 'hub.close_step_failed', err: e });
      }
    }
  };

  try {
    const store = await openStore(config);
    cleanups.push(() => store.close());
    const applied = await migrate(store);
    if (applied.length) log.info({ event: 'store.migrated', applied, driver: store.driver });

    const registry = new Registry(store);
    await registry.reload();
    if (config.seedDemo && registry.listInstitutions().length === 0) {
      await upsertInstitutions(store, DEMO_INSTITUTIONS);
      await upsertStaff(store, DEMO_STAFF);
      log.info({ event: 'registry.seeded', institutions: DEMO_INSTITUTIONS.length, staff: DEMO_STAFF.length });
    }
    await registry.registerCollectors([...readCollectorsFile(config.collectorsFile), ...config.collectors]);
    await registry.reload();

    const stateRedis = redisConnection(config.redisUrl);
    cleanups.push(() => stateRedis.quit());
    await stateRedis.ping();

    const engine: RuleEngine = createEngine();
    const calendar = createWorkCalendar();

    const io = new Server(app.server, { serveClient: false, pingInterval: 10_000, pingTimeout: 20_000, maxHttpBufferSize: 8e6 });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          io.disconnectSockets(true);
          io.engine.close();
          resolve();
        }),
    );

    let collect: { connected: () => number } = { connected: () => 0 };
    const wall = new WallBroadcaster(io, {
      store,
      registry,
      log,
      flushMs: config.wallFlushMs,
      statsIntervalMs: config.statsIntervalMs,
      collectorsConnected: () => collect.connected(),
    });
    cleanups.push(() => wall.close());

    const deps: EvaluateDeps = {
      store,
      engine: () => engine,
      registry,
      context: { state: createRedisWindowState(stateRedis, config.queuePrefix), calendar },
      telemetry,
      onStored: (_batchId, _txns, warnings) => wall.published(warnings),
    };
    const queue = await createEvaluationQueue(config, config.runWorker ? createEvaluateProcessor(deps) : undefined);
    cleanups.push(() => queue.close());
    queue.worker?.on('failed', (job, err) => log.error({ event: 'job.failed', jobId: job?.id, attempts: job?.attemptsMade, err: errorMessage(err) }));

    collect = attachCollectNamespace(io, { store, registry, queue, telemetry, ackTimeoutMs: config.ackTimeoutMs, hubVersion: HUB_VERSION });
    io.of('/collect').on('connection', (socket) => {
      wall.touch();
      socket.on('disconnect', () => wall.touch());
    });

    const started = Date.now();
    const health = async (): Promise<Health> => {
      const [storeOk, redisOk] = await Promise.all([
        store.ping(),
        stateRedis.ping().then(
          () => true,
          () => false,
        ),
      ]);
      const t = storeOk ? await totals(store).catch(() => ({ transactions: -1, warnings: -1, deadLetters: -1 })) : { transactions: -1, warnings: -1, deadLetters: -1 };
      const waiting = redisOk ? await queue.waiting().catch(() => -1) : -1;
      return {
        status: storeOk && redisOk ? 'ok' : 'degraded',
        transactions_stored: t.transactions,
        warnings_raised: t.warnings,
        dead_letters: t.deadLetters,
        collectors_connected: collect.connected(),
        queue_waiting: waiting,
        store: { driver: store.driver, status: storeOk ? 'ok' : 'down', database: store.database },
        redis: { status: redisOk ? 'ok' : 'down' },
        rule_set: engine.version,
        uptime_s: Math.round((Date.now() - started) / 1000),
      };
    };

    app.setErrorHandler((err, _req, reply) => {
      const code = isHubError(err) ? err.code : ((err as { code?: string }).code ?? 'INTERNAL');
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) log.error({ event: 'http.error', err });
      void reply.code(status).send({ error: { code, message: err instanceof Error ? err.message : String(err) } });
    });

    await registerRoutes(app, { store, registry, engine: () => engine, health, boundaryGeojson: config.boundaryGeojson });

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
      app.get('/', async () => ({ name: 'jianguan-hub', version: HUB_VERSION, dashboard: 'not built (JG_DASHBOARD_DIR)' }));
      if (config.dashboardDir) log.warn({ event: 'dashboard.missing', dir: config.dashboardDir });
    }

    await app.listen({ port: config.port, host: config.host });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://127.0.0.1:${port}`;
    log.info({ event: 'hub.started', url, store: store.driver, ruleSet: engine.version, worker: config.runWorker });

    return { config, url, port, app, io, store, registry, queue, wall, health, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
