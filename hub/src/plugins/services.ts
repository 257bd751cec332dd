/**
 * Tier 2 of the hub, the domain services, each registered after what it needs:
 *
 *   registry    the in-memory registry (demo seed) and the released rule sets
 *   (supervision.ts: doors, sessions, workflow, evaluation, registry changes)
 *   pipeline    the wall broadcaster, the evaluate queue and worker, collector identities and
 *               held batches, ingest on /collect (the hold path and the wall hook into it), the
 *               synchronous hold service, backtests and the peer-deviation job
 *
 * Every service closes in its own onClose hook.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import fp from 'fastify-plugin';
import { DEMO_INSTITUTIONS, DEMO_STAFF, type Warning } from '@jianguan/rules';
import { Redis } from 'ioredis';
import { CollectorCredential } from '../config.js';
import { HubError, errorMessage } from '../errors.js';
import { auditLater } from '../auth/plugin.js';
import { latestDoneBacktest } from '../backtest/repo.js';
import { BacktestService } from '../backtest/service.js';
import { ClusterPresence } from '../collectors/cluster-presence.js';
import { CollectorService } from '../collectors/service.js';
import { DecisionService } from '../decisions/service.js';
import { decisionSocketHook } from '../decisions/routes.js';
import { attachCollectNamespace, processBatch, type CollectNamespaceHandle, type RecordDeps } from '../ingest/collect.js';
import { createEvaluateProcessor, type EvaluateDeps } from '../jobs/evaluate.js';
import { EvaluationThreads } from '../jobs/eval-threads.js';
import { startOverflowControl, type EvaluationStatus, type OverflowControl } from '../jobs/overflow.js';
import { createStoreWriter, DEFAULT_WRITER_MAX_ROWS, withWriter } from '../store/writer.js';
import { createEvaluationQueue, defaultReplicaName, logQueueErrors, type EvaluationQueue } from '../jobs/queue.js';
import { followChannel } from '../redis-follow.js';
import { LocalRuleState, statesOver, type LocalRuleStateStatus } from '../jobs/local-state.js';
import { createPeekRuleStates, createRedisRuleStates, type PeekRuleStates } from '../jobs/rule-state.js';
import { createRedisWindowState } from '../jobs/window-state.js';
import { WallBroadcaster } from '../live/wall.js';
import { PeerDeviationService } from '../peer/service.js';
import { AUTH_PROOF_MAX_SKEW_MS } from '../protocol/index.js';
import { Registry } from '../registry/registry.js';
import { RuleSetService } from '../rulesets/service.js';
import { upsertInstitutions, upsertStaff } from '../registry/repo.js';
import { emit } from '../telemetry/events.js';

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry;
    /** Released rule sets; `engineAt(t)` is the engine in force at t. */
    rulesets: RuleSetService;
    wall: WallBroadcaster;
    queue: EvaluationQueue;
    collectors: CollectorService;
    /** The /collect namespace (ingest/collect.ts). */
    collect: CollectNamespaceHandle;
    decisions: DecisionService;
    /** Where rule state lives and how it is (for /healthz): JG_RULE_STATE and jobs/local-state.ts. */
    ruleState: { mode: 'local' | 'redis'; status(): Promise<LocalRuleStateStatus | undefined> };
    /** Which threads evaluate and how many jobs each did (for /healthz): JG_EVALUATION_MODE and jobs/overflow.ts. */
    evaluation: { status(): EvaluationStatus };
    backtests: BacktestService;
    peer: PeerDeviationService;
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export const registry = fp(
  async (app) => {
    const { store, config, redis } = app;
    const registry = new Registry(store);
    await registry.reload();
    if (config.seedDemo && registry.listInstitutions().length === 0) {
      await upsertInstitutions(store, DEMO_INSTITUTIONS);
      await upsertStaff(store, DEMO_STAFF);
      emit(app.log, 'registry.seeded', { institutions: DEMO_INSTITUTIONS.length, staff: DEMO_STAFF.length });
    }
    await registry.reload();
    app.decorate('registry', registry);

    // Released rule sets (hub/src/rulesets/): the engine in force is chosen per batch.
    const rulesets = new RuleSetService({
      store,
      redis,
      prefix: config.queuePrefix,
      log: app.log,
      pollMs: config.ruleSetPollMs,
      latestBacktest: (version, liveVersion) => latestDoneBacktest(store, version, liveVersion),
      thresholds: { maxTotalChange: config.ruleSetMaxTotalChange, maxRuleChange: config.ruleSetMaxRuleChange, requireBacktest: config.ruleSetRequireBacktest },
    });
    app.addHook('onClose', () => rulesets.close());
    await rulesets.start();
    app.decorate('rulesets', rulesets);
  },
  { name: 'jg-registry', dependencies: ['jg-infrastructure'] },
);

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

export const pipeline = fp<{ version: string }>(
  async (app, { version }) => {
    const { store, registry, config, redis, io, calendar, rulesets, supervision, telemetry, pseudonyms } = app;
    const log = app.log;

    let collect: CollectNamespaceHandle | undefined;
    // Collectors connected to any replica (the wall's figures, the collectors list, the silence
    // check): this replica's sockets plus what the others publish in Redis.
    const presence = new ClusterPresence({
      redis,
      prefix: config.queuePrefix,
      local: () => collect?.here() ?? new Map(),
      log,
      refreshMs: config.presenceRefreshMs,
      onChange: () => wall.touch(),
    });
    const wall = new WallBroadcaster(io, {
      store,
      registry,
      log,
      flushMs: config.wallFlushMs,
      liveMaxAgeMs: config.wallLiveMaxAgeMs,
      statsIntervalMs: config.statsIntervalMs,
      collectorsConnected: () => presence.connected(),
      collectorsConnectedIn: (county) => presence.connectedIn(county),
      // Without Redis no batch is queued, evaluated or acknowledged, though the screens stay
      // connected and the day's figures (read from the store) keep coming.
      ingestUp: () => redis.status === 'ready',
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
    app.addHook('onClose', () => wall.close());
    app.decorate('wall', wall);

    // The evaluate path and the collectors' chain rows write through the coalescing writer:
    // concurrently finishing jobs share one insert per table, each acked only after its insert
    // committed (store/writer.ts). A batch's chain row is written beside its transactions and
    // warnings — a spaced insert and a follower — so spaced half as much again it still seldom
    // finishes last, and `collector_batches` makes fewer inserts. (At 25 ms spacing, twice the
    // spacing took 3–4 % of the hub's CPU off with the acknowledgement unchanged; at the 60 ms
    // default, twice the spacing made the chain row the last to finish — acknowledgement p50
    // 114–116 against 85–90 ms at one and a half times.)
    const writerStore = withWriter(
      store,
      createStoreWriter(store, {
        lingerMs: config.storeLingerMs,
        intervalMs: config.storeInsertIntervalMs,
        tableIntervalMs: { collector_batches: Math.round(1.5 * config.storeInsertIntervalMs) },
        busyIntervalMs: config.storeBusyIntervalMs,
        busyRows: config.storeBusyRows,
        busyAlong: { collector_batches: 'transactions' },
        maxRows: DEFAULT_WRITER_MAX_ROWS,
        followers: ['warnings'],
      }),
    );
    const onStored = (_batchId: string, warnings: readonly Warning[]) => {
      wall.published(warnings);
      supervision.raised(warnings);
    };
    const healthy = async () => {
      const [s, r] = await Promise.all([store.ping(), redis.ping().then(() => true, () => false)]);
      return s && r;
    };
    const refuse = config.faultInjection?.refuseTransactionIds;
    // Evaluation runs in this thread and, when there is a core for them, in worker threads
    // (jobs/eval-threads.ts): by default the threads take only the overflow of a busy hub thread
    // (jobs/overflow.ts, JG_EVALUATION_MODE), with JG_EVALUATION_MODE=threads every job.
    const inThreads = config.runWorker && config.evaluationThreads > 0;
    const overflow = inThreads && config.evaluationMode === 'overflow';
    // Rule state (JG_RULE_STATE): held by this (hub) thread, where batches arrive and holds are
    // decided (jobs/local-state.ts) — evaluation threads send it their state calls — or computed in
    // Redis by Lua (jobs/rule-state.ts), for replicas that share it.
    const local = config.ruleState === 'local';
    const replica = config.replicaName ?? defaultReplicaName(os.hostname(), config.port);
    let heldHere: LocalRuleState | undefined;
    if (local && config.runWorker) {
      // Its own connection: log appends reach Redis in the order the state applied them.
      const stateRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      stateRedis.on('error', (e) => emit(log, 'redis.error', { message: errorMessage(e), for: 'rule-state' }));
      try {
        heldHere = await LocalRuleState.open({
          redis: stateRedis,
          prefix: config.queuePrefix,
          token: `${replica}/${process.pid}/${crypto.randomUUID().slice(0, 8)}`,
          snapshotMinBytes: config.ruleStateSnapshotMb * 1024 * 1024,
          log: (event, detail) => emit(log, event, detail),
        });
      } catch (e) {
        stateRedis.disconnect();
        throw e;
      }
      const opened = heldHere;
      // Registered before the queue's and the threads' hooks, so it runs after them: the state is
      // given back once no job can call it any more.
      app.addHook('onClose', async () => {
        await opened.close();
        await stateRedis.quit().catch(() => undefined);
      });
    }
    const deps: EvaluateDeps = {
      store: writerStore,
      engine: (at) => rulesets.engineAt(at),
      registry,
      context: { ...(heldHere ? heldHere.context() : { state: createRedisWindowState(redis, config.queuePrefix), ...createRedisRuleStates(redis, config.queuePrefix) }), calendar },
      telemetry,
      onStored,
      healthy,
      ...(refuse ? { refuseTransactionIds: new Set(refuse) } : {}),
    };
    const queue = await createEvaluationQueue(config, replica, config.runWorker && (!inThreads || overflow) ? (records) => createEvaluateProcessor({ ...deps, records }) : undefined);
    app.addHook('onClose', () => queue.close());
    logQueueErrors(queue.queue, log, 'evaluate queue');
    if (queue.worker) logQueueErrors(queue.worker, log, 'evaluate worker');
    queue.worker?.on('failed', (job, err) => emit(log, 'job.failed', { jobId: job?.id, attempts: job?.attemptsMade, err: errorMessage(err) }));
    let pool: EvaluationThreads | undefined;
    let overflowControl: OverflowControl | undefined;
    if (inThreads) {
      const threads = await EvaluationThreads.start({
        count: config.evaluationThreads,
        redisUrl: config.redisUrl,
        prefix: config.queuePrefix,
        queue: queue.name,
        records: queue.records,
        concurrency: config.workerConcurrency,
        store: writerStore,
        healthy,
        onStored,
        onEnded: queue.ended,
        telemetry,
        registry,
        rulesets,
        calendars: app.calendars,
        log,
        ...(refuse ? { refuseTransactionIds: refuse } : {}),
        ...(heldHere ? { ruleState: heldHere } : {}),
        ...(overflow ? { startPaused: true } : {}),
      });
      // Registered after the queue's hook, so it runs before it: the threads' active jobs finish
      // while the writer and the store are still open.
      app.addHook('onClose', () => threads.close());
      pool = threads;
      if (overflow) {
        const control = startOverflowControl({
          threads,
          onChange: (active, sample) =>
            emit(log, active ? 'eval.overflow_started' : 'eval.overflow_ended', {
              hubElu: round2(sample.hubElu),
              threadsElu: round2(sample.threadsElu),
              idleCores: round2(sample.idleCores),
            }),
        });
        overflowControl = control;
        app.addHook('onClose', () => control.stop());
      }
    }
    let hubJobs = 0;
    queue.worker?.on('completed', () => void hubJobs++);
    app.decorate('evaluation', {
      status: (): EvaluationStatus => ({
        mode: !config.runWorker ? 'none' : !inThreads ? 'hub' : overflow ? 'overflow' : 'threads',
        threads: pool?.size ?? 0,
        threadsTaking: pool ? pool.taking : false,
        jobsHub: hubJobs,
        jobsThreads: pool?.jobsDone ?? 0,
        overflowResumed: overflowControl?.status().resumed ?? 0,
      }),
    });
    const held = heldHere;
    app.decorate('ruleState', { mode: config.ruleState, status: async () => held?.status() });
    // What the hold path reads: what the state's calls would answer now, writing nothing.
    const peek: PeekRuleStates = !local
      ? createPeekRuleStates(redis, config.queuePrefix)
      : held
        ? held.peekStates()
        : statesOver({ run: () => Promise.reject(new Error('RULE_STATE_UNAVAILABLE: this hub evaluates nothing (JG_WORKER=0), so it holds no rule state to decide holds with')) }, false);
    app.decorate('queue', queue);

    // Static credentials are pre-approved; their key is bound in the credential or by an
    // administrator's approval, never on first use; enrolled collectors wait for approval
    // (hub/src/collectors/service.ts). The record path asks the collector service whether a
    // collector may report for an institution, and the service releases held batches through
    // the record path: the two are wired here, once, rather than knowing each other.
    let mayReportFor: (collectorId: string, institutionId: string) => boolean = () => false;
    const recordDeps: RecordDeps = {
      store,
      registry,
      queue: {
        ...queue,
        submit: (job, ms, onTaken) => {
          // Its records could only be evaluated here (jobs/queue.ts): refuse rather than wait.
          if (!config.runWorker) return Promise.reject(new Error('this hub runs no evaluation worker (JG_WORKER=0); collectors must report to a hub that does'));
          return queue.submit(job, ms, onTaken);
        },
      },
      telemetry,
      ackTimeoutMs: config.ackTimeoutMs,
      limits: { maxRecordAgeMs: config.maxRecordAgeDays * 86_400_000, maxFutureSkewMs: config.maxFutureSkewS * 1000 },
      mayReportFor: (collectorId, institutionId) => mayReportFor(collectorId, institutionId),
      pseudonyms,
    };
    const recordsChannel = `${config.queuePrefix}:collectors`;
    const collectors = await CollectorService.create({
      // Chain rows (one per batch) coalesce with the evaluate path's inserts.
      store: writerStore,
      registry,
      log,
      calendar,
      publish: (warnings) => wall.published(warnings),
      process: (collectorId, batch) => processBatch(recordDeps, collectorId, batch),
      silentMinutes: config.collectorSilentMinutes,
      checkIntervalMs: config.collectorCheckIntervalMs,
      // Twice the proof's validity window, so a proof cannot outlive its "used" mark.
      firstUse: async (proof) =>
        (await redis.set(`${config.queuePrefix}:proof:${crypto.createHash('sha256').update(proof).digest('hex')}`, '1', 'PX', 2 * AUTH_PROOF_MAX_SKEW_MS + 60_000, 'NX')) === 'OK',
      maxPending: config.enrolMaxPending,
      maxPendingPerInstitution: config.enrolMaxPendingPerInstitution,
      allowEnrolment: async (address) => {
        const key = `${config.queuePrefix}:enrol:${crypto.createHash('sha256').update(address).digest('hex').slice(0, 32)}`;
        const [[, n]] = (await redis.multi().incr(key).expire(key, config.enrolWindowS, 'NX').exec()) as [[unknown, number], unknown];
        return n <= config.enrolPerAddress;
      },
      throttle: async (key, ms) => (await redis.set(`${config.queuePrefix}:throttle:${key}`, '1', 'PX', ms, 'NX')) === 'OK',
      heldQuotaBytes: config.heldQuotaBytes,
      atRest: pseudonyms,
      tamperIntervalMs: config.tamperIntervalS * 1000,
      keys: config.collectorKeys,
      connectedElsewhere: (collectorId) => presence.elsewhere(collectorId),
      // Every replica keeps the collector records in memory: a change made here is announced
      // (the message is this replica's id) so the others read them again (below).
      announce: () =>
        void redis.publish(recordsChannel, presence.replicaId).catch((e: unknown) => emit(log, 'collector.reload_failed', { err: `announce: ${errorMessage(e)}` })),
    });
    const unfollowRecords = await followChannel(redis, recordsChannel, {
      reload: (from) => {
        if (from === presence.replicaId) return;
        void collectors.recordsChanged().catch((e: unknown) => emit(log, 'collector.reload_failed', { err: errorMessage(e) }));
      },
      onError: (e) => emit(log, 'redis.error', { message: errorMessage(e) }),
    });
    app.addHook('onClose', async () => unfollowRecords());
    mayReportFor = (collectorId, institutionId) => collectors.mayReportFor(collectorId, institutionId);
    app.addHook('onClose', () => collectors.close());
    await collectors.registerStatic([...readCollectorsFile(config.collectorsFile), ...config.collectors]);
    app.decorate('collectors', collectors);

    collect = attachCollectNamespace(io, {
      ...recordDeps,
      hubVersion: version,
      collectors,
      authFailed: (claimed, address, code, message) =>
        auditLater(app, { actor: `collector:${claimed}`, action: 'collector.auth_failed', method: 'WS', path: '/collect', ip: address, result: 'denied', status: 401, targetType: 'collector', targetId: claimed, detail: JSON.stringify({ code, message: message.slice(0, 300) }) }),
      ...(config.faultInjection ? { faultInjection: config.faultInjection } : {}),
    });
    collect.hook({
      onPresence: () => {
        wall.touch();
        presence.changed();
      },
    });
    app.decorate('collect', collect);
    await presence.start();
    app.addHook('onClose', () => presence.close());

    // Synchronous hold (hub/src/decisions/): blocking rules only, rule state read, never written.
    const decisions = new DecisionService({
      store,
      registry,
      calendar,
      engine: () => rulesets.engineAt(),
      peek,
      log,
      flushMs: config.decisionFlushMs,
    });
    app.addHook('onClose', () => decisions.close());
    collect.hook(decisionSocketHook({ decisions, collectors, pseudonyms, audit: (e) => auditLater(app, e) }));
    app.decorate('decisions', decisions);

    // Backtests and the scheduled peer-deviation job (BullMQ queues `backtest`, `peer`).
    const jobDeps = { store, registry, calendar, rulesets, redisUrl: config.redisUrl, prefix: config.queuePrefix, runWorker: config.runWorker, pageSize: config.backtestPageSize, log };
    const backtests = await BacktestService.create({ ...jobDeps, examples: config.backtestExamples });
    app.addHook('onClose', () => backtests.close());
    app.decorate('backtests', backtests);
    const peer = await PeerDeviationService.create({
      ...jobDeps,
      cron: config.peerCron,
      onRaised: (warnings) => {
        wall.published(warnings);
        supervision.raised(warnings);
      },
    });
    app.addHook('onClose', () => peer.close());
    app.decorate('peer', peer);
  },
  { name: 'jg-pipeline', dependencies: ['jg-infrastructure', 'jg-registry', 'jg-supervision'] },
);
