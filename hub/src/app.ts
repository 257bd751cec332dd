/**
 * Builds the hub: store (migrated) → registry → Redis + BullMQ → rule engine → fastify with
 * socket.io on the same port (/collect for collectors, /wall for screens) → REST → the built
 * dashboard. `startHub` is what server.ts, the demo, the bench and the tests call.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import {
  createWorkCalendar,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
} from '@jianguan/rules';
import { loadConfig, CollectorCredential, type HubConfig } from './config.js';
import { HubError, errorMessage } from './errors.js';
import { clientErrorHandler, frameworkErrors, guardEngineRequests, httpErrorHandler } from './http-edges.js';
import { registerRoutes, type Health } from './api/routes.js';
import { createSupervision, registerSupervisionRoutes, type Supervision } from './api/supervision.js';
import { CollectorService } from './collectors/service.js';
import { registerCollectorRoutes } from './collectors/routes.js';
import { attachCollectNamespace, processBatch } from './ingest/collect.js';
import { createEvaluateProcessor, type EvaluateDeps } from './jobs/evaluate.js';
import { createEvaluationQueue, redisConnection, type EvaluationQueue } from './jobs/queue.js';
import { createRedisWindowState } from './jobs/window-state.js';
import { createPeekRuleStates, createRedisRuleStates } from './jobs/rule-state.js';
import { RuleSetService } from './rulesets/service.js';
import { registerRuleSetRoutes } from './rulesets/routes.js';
import { registerBacktestRoutes } from './backtest/routes.js';
import { registerPeerRoutes } from './peer/routes.js';
import { latestDoneBacktest } from './backtest/repo.js';
import { DecisionService } from './decisions/service.js';
import { attachDecisionSocket, registerDecisionRoutes } from './decisions/routes.js';
import { BacktestService } from './backtest/service.js';
import { PeerDeviationService } from './peer/service.js';
import { WallBroadcaster } from './live/wall.js';
import { AUTH_PROOF_MAX_SKEW_MS } from './protocol/index.js';
import { Registry } from './registry/registry.js';
import { migrate } from './store/migrate.js';
import { upsertInstitutions, upsertStaff, totals } from './store/repo.js';
import { openStore, type Store } from './store/store.js';
import { createTelemetry } from './telemetry/events.js';
import { installDoors } from './auth/doors.js';
import { auditLater } from './auth/plugin.js';
import { createHubPseudonyms } from './pseudonyms.js';
import { isLoopbackHost, readTlsMaterial, trustProxyOption, watchTls } from './tls.js';
import { emit } from './telemetry/events.js';

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
  /** Users and sessions, the warning workflow, registry changes, evaluation (api/supervision.ts). */
  readonly supervision: Supervision;
  /** Collector identities, enrolment, batch chain and the collector.* warnings. */
  readonly collectors: CollectorService;
  /** Released rule sets; `engineAt(t)` is the engine in force at t (hub/src/rulesets/). */
  readonly rulesets: RuleSetService;
  /** The synchronous hold path (hub/src/decisions/). */
  readonly decisions: DecisionService;
  /** Backtests of rule sets (BullMQ `backtest`). */
  readonly backtests: BacktestService;
  /** The scheduled peer-deviation job (BullMQ `peer`). */
  readonly peer: PeerDeviationService;
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

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function startHub(overrides: Partial<HubConfig> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Hub> {
  const config = loadConfig(env, overrides);
  // Demo accounts share a published password and an open wall: never on a reachable address
  // unless someone says so explicitly.
  if (config.seedDemo && !isLoopbackHost(config.host) && !config.demoAllowRemote) {
    throw new HubError('CONFIG_INVALID', `JG_SEED_DEMO on ${config.host}: demo mode binds a loopback address only (JG_HOST=127.0.0.1), or set JG_DEMO_ALLOW_REMOTE=1`);
  }
  if (config.wallPublic && !isLoopbackHost(config.host)) {
    throw new HubError('CONFIG_INVALID', `JG_WALL_PUBLIC on ${config.host}: an open wall is for the demo on a loopback address only; issue kiosk tokens instead`);
  }
  const tlsFiles = config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined;
  // Typed as the plain-HTTP instance: under TLS the server is node's https.Server, which serves
  // the same request/response objects; fastify's overloads cannot express "either" (nor a hop
  // count for trustProxy, which it accepts at run time).
  const createApp = Fastify as unknown as (o: Record<string, unknown>) => FastifyInstance;
  const app = createApp({
    // TLS straight from the hub (tls.ts); X-Forwarded-* only from the proxies JG_TRUST_PROXY names.
    ...(tlsFiles ? { https: readTlsMaterial(tlsFiles) } : {}),
    trustProxy: trustProxyOption(config.trustProxy),
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // socket.io answers its own upgrade and polling requests on the same server.
    forceCloseConnections: true,
    // A malformed URL or unparsable request gets the same coded 4xx body as every other error.
    frameworkErrors,
    clientErrorHandler,
  });
  const log = app.log;
  const telemetry = createTelemetry(log);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        emit(log, 'hub.close_step_failed', { err: e });
      }
    }
  };

  try {
    const store = await openStore(config, (statement, ms) => emit(log, 'store.slow', { ms, statement }));
    cleanups.push(() => store.close());
    const applied = await migrate(store);
    if (applied.length) emit(log, 'store.migrated', { applied, driver: store.driver });

    const registry = new Registry(store);
    await registry.reload();
    if (config.seedDemo && registry.listInstitutions().length === 0) {
      await upsertInstitutions(store, DEMO_INSTITUTIONS);
      await upsertStaff(store, DEMO_STAFF);
      emit(log, 'registry.seeded', { institutions: DEMO_INSTITUTIONS.length, staff: DEMO_STAFF.length });
    }
    await registry.reload();

    const stateRedis = redisConnection(config.redisUrl);
    // ioredis reconnects by itself; without a listener it prints "Unhandled error event" per retry.
    stateRedis.on('error', (err) => emit(log, 'redis.error', { message: errorMessage(err) }));
    cleanups.push(() => stateRedis.disconnect());
    // ioredis retries forever; at start a missing Redis should be a clear error, not a hang.
    await withTimeout(stateRedis.ping(), 10_000, () => new HubError('QUEUE_UNAVAILABLE', `Redis at ${config.redisUrl} did not answer within 10 s`));

    // Released rule sets (hub/src/rulesets/): the engine in force is chosen per batch.
    const rulesets = new RuleSetService({
      store,
      redis: stateRedis,
      prefix: config.queuePrefix,
      log,
      pollMs: config.ruleSetPollMs,
      latestBacktest: (version, liveVersion) => latestDoneBacktest(store, version, liveVersion),
      thresholds: { maxTotalChange: config.ruleSetMaxTotalChange, maxRuleChange: config.ruleSetMaxRuleChange, requireBacktest: config.ruleSetRequireBacktest },
    });
    cleanups.push(() => rulesets.close());
    await rulesets.start();
    const calendar = createWorkCalendar();

    const io = new Server(app.server, { serveClient: false, pingInterval: 10_000, pingTimeout: 20_000, maxHttpBufferSize: 8e6 });
    guardEngineRequests(io);
    // Broadcasts go through Redis so that, with several hub replicas, a warning evaluated on one
    // reaches the wall screens connected to any of them (per-socket emits and acks stay local).
    const adapterPub = stateRedis.duplicate();
    const adapterSub = stateRedis.duplicate();
    for (const r of [adapterPub, adapterSub]) r.on('error', (err) => emit(log, 'redis.error', { message: errorMessage(err) }));
    io.adapter(createAdapter(adapterPub, adapterSub, { key: `${config.queuePrefix}:io` }));
    cleanups.push(() => {
      adapterPub.disconnect();
      adapterSub.disconnect();
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          io.disconnectSockets(true);
          io.engine.close();
          resolve();
        }),
    );

    // ---- doors (docs/security.md): headers + CSP, CSRF, login rate, /metrics guard; then the
    // auth hooks (sessions, roles, kiosk tokens, audit) in createSupervision. Both before any route.
    await installDoors(app, { config, redis: stateRedis });
    const pseudonyms = createHubPseudonyms(config);
    const supervisionDeps = { app, io, store, redis: stateRedis, registry, calendar, config, version: HUB_VERSION };
    const supervision = await createSupervision(supervisionDeps);
    cleanups.push(() => supervision.close());

    let collect: { connected: () => number } = { connected: () => 0 };
    const wall = new WallBroadcaster(io, {
      store,
      registry,
      log,
      flushMs: config.wallFlushMs,
      liveMaxAgeMs: config.wallLiveMaxAgeMs,
      statsIntervalMs: config.statsIntervalMs,
      collectorsConnected: () => collect.connected(),
      // The evaluation service's read materialises a month never computed: a ranking at once.
      monthScores: async (month) =>
        (await supervision.evaluation.scores(month)).map((r) => ({
          institution_id: r.institution_id,
          score: r.score,
          grade: r.grade,
          veto: r.veto,
          transactions: r.transactions,
        })),
    });
    cleanups.push(() => wall.close());

    const deps: EvaluateDeps = {
      store,
      engine: (at) => rulesets.engineAt(at),
      registry,
      context: { state: createRedisWindowState(stateRedis, config.queuePrefix), ...createRedisRuleStates(stateRedis, config.queuePrefix), calendar },
      telemetry,
      onStored: (_batchId, _txns, warnings) => {
        wall.published(warnings);
        supervision.raised(warnings.map((w) => w.id));
      },
      healthy: async () => {
        const [s, r] = await Promise.all([store.ping(), stateRedis.ping().then(() => true, () => false)]);
        return s && r;
      },
      ...(config.faultInjection?.refuseTransactionIds ? { refuseTransactionIds: new Set(config.faultInjection.refuseTransactionIds) } : {}),
    };
    const queue = await createEvaluationQueue(config, config.runWorker ? createEvaluateProcessor(deps) : undefined);
    cleanups.push(() => queue.close());
    queue.worker?.on('failed', (job, err) => emit(log, 'job.failed', { jobId: job?.id, attempts: job?.attemptsMade, err: errorMessage(err) }));

    // Static credentials are pre-approved; their key is bound in the credential or by an
    // administrator's approval, never on first use; enrolled collectors wait for approval
    // (hub/src/collectors/service.ts).
    // `collectors` is created below; the record path only asks it once batches flow.
    let collectorsRef: CollectorService | undefined;
    const recordDeps = {
      store,
      registry,
      // The hub's pseudonym layer (pseudonyms.ts) over the collectors' hashes, after the batch
      // signature was verified and before anything is evaluated or stored.
      queue: { ...queue, submit: (job: Parameters<EvaluationQueue['submit']>[0], ms: number) => queue.submit({ ...job, records: job.records.map((r) => pseudonyms.rekeyRecord(r)) }, ms) },
      telemetry,
      ackTimeoutMs: config.ackTimeoutMs,
      limits: { maxRecordAgeMs: config.maxRecordAgeDays * 86_400_000, maxFutureSkewMs: config.maxFutureSkewS * 1000 },
      mayReportFor: (collectorId: string, institutionId: string) => collectorsRef?.mayReportFor(collectorId, institutionId) ?? false,
      pseudonyms,
    };
    const collectors = await CollectorService.create({
      store,
      registry,
      log,
      calendar,
      publish: (warnings) => wall.published(warnings),
      process: (collectorId, batch) => processBatch(recordDeps, collectorId, batch),
      silentMinutes: config.collectorSilentMinutes,
      checkIntervalMs: config.collectorCheckIntervalMs,
      // Twice the proof's validity window, so a proof cannot outlive its "used" mark.
      firstUse: async (proof) =>
        (await stateRedis.set(`${config.queuePrefix}:proof:${crypto.createHash('sha256').update(proof).digest('hex')}`, '1', 'PX', 2 * AUTH_PROOF_MAX_SKEW_MS + 60_000, 'NX')) === 'OK',
      maxPending: config.enrolMaxPending,
      maxPendingPerInstitution: config.enrolMaxPendingPerInstitution,
      allowEnrolment: async (address) => {
        const key = `${config.queuePrefix}:enrol:${crypto.createHash('sha256').update(address).digest('hex').slice(0, 32)}`;
        const [[, n]] = (await stateRedis.multi().incr(key).expire(key, config.enrolWindowS, 'NX').exec()) as [[unknown, number], unknown];
        return n <= config.enrolPerAddress;
      },
      throttle: async (key, ms) => (await stateRedis.set(`${config.queuePrefix}:throttle:${key}`, '1', 'PX', ms, 'NX')) === 'OK',
      heldQuotaBytes: config.heldQuotaBytes,
      atRest: pseudonyms,
      tamperIntervalMs: config.tamperIntervalS * 1000,
      keys: config.collectorKeys,
    });
    collectorsRef = collectors;
    cleanups.push(() => collectors.close());
    await collectors.registerStatic([...readCollectorsFile(config.collectorsFile), ...config.collectors]);
    collect = attachCollectNamespace(io, {
      ...recordDeps,
      hubVersion: HUB_VERSION,
      collectors,
      authFailed: (claimed, address, code, message) =>
        auditLater(app, { actor: `collector:${claimed}`, action: 'collector.auth_failed', method: 'WS', path: '/collect', ip: address, result: 'denied', status: 401, targetType: 'collector', targetId: claimed, detail: JSON.stringify({ code, message: message.slice(0, 300) }) }),
      ...(config.faultInjection ? { faultInjection: config.faultInjection } : {}),
    });
    io.of('/collect').on('connection', (socket) => {
      wall.touch();
      socket.on('disconnect', () => wall.touch());
    });

    // Synchronous hold (hub/src/decisions/): blocking rules only, rule state read, never written.
    const decisions = new DecisionService({
      store,
      registry,
      calendar,
      engine: () => rulesets.engineAt(),
      peek: createPeekRuleStates(stateRedis, config.queuePrefix),
      log,
      flushMs: config.decisionFlushMs,
    });
    cleanups.push(() => decisions.close());
    attachDecisionSocket(io, { decisions, collectors, pseudonyms, audit: (e) => auditLater(app, e) });

    // Backtests and the scheduled peer-deviation job (BullMQ queues `backtest`, `peer`).
    const jobDeps = { store, registry, calendar, rulesets, redisUrl: config.redisUrl, prefix: config.queuePrefix, runWorker: config.runWorker, pageSize: config.backtestPageSize, log };
    const backtests = await BacktestService.create({ ...jobDeps, examples: config.backtestExamples });
    cleanups.push(() => backtests.close());
    const peer = await PeerDeviationService.create({
      ...jobDeps,
      cron: config.peerCron,
      onRaised: (warnings) => {
        wall.published(warnings);
        supervision.raised(warnings.map((w) => w.id));
      },
    });
    cleanups.push(() => peer.close());

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
        rule_set: rulesets.versionAt(),
        uptime_s: Math.round((Date.now() - started) / 1000),
      };
    };

    app.setErrorHandler(httpErrorHandler(log));

    await registerRoutes(app, { store, registry, engine: () => rulesets.engineAt(), health, boundaryGeojson: config.boundaryGeojson });
    registerSupervisionRoutes(app, supervision, supervisionDeps);
    registerCollectorRoutes(app, { collectors });
    registerDecisionRoutes(app, { decisions, registry, collectors, store, pseudonyms, collectorKeys: config.collectorKeys });
    registerRuleSetRoutes(app, { rulesets });
    registerBacktestRoutes(app, { backtests });
    registerPeerRoutes(app, { peer });

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
      app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `${req.method} ${req.url.slice(0, 200)}` } }));
      if (config.dashboardDir) emit(log, 'dashboard.missing', { dir: config.dashboardDir });
    }

    await app.listen({ port: config.port, host: config.host });
    // Collector and wall sockets first: upgraded websocket connections are not HTTP connections
    // fastify can force-close, so app.close() alone would wait for them forever.
    cleanups.push(() => {
      io.disconnectSockets(true);
      io.engine.close();
      return app.close();
    });
    if (tlsFiles) {
      const tls = watchTls(app.server as unknown as import('node:tls').Server, tlsFiles, log);
      cleanups.push(() => tls.close());
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `${tlsFiles ? 'https' : 'http'}://127.0.0.1:${port}`;
    emit(log, 'hub.started', { url, store: store.driver, ruleSet: rulesets.versionAt(), worker: config.runWorker });
    supervision.start();

    return { config, url, port, app, io, store, registry, queue, wall, collectors, supervision, rulesets, decisions, backtests, peer, health, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
