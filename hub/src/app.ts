/**
 * The hub's one composition root: fastify with socket.io on the same port (/collect for
 * collectors, /wall for screens), built from plugins in tiers (hub/src/plugins/):
 *
 *   infrastructure  store (migrated), Redis, socket.io with its Redis adapter
 *   registry        the in-memory registry and the released rule sets
 *   supervision     doors and auth hooks, sessions, workflow, evaluation, registry changes
 *   pipeline        wall broadcaster, evaluate queue, collectors, ingest, holds, backtests, peer
 *   routes          every feature's routes, the dashboard, the coded 404
 *
 * Each plugin closes what it opened in an onClose hook (fastify runs them in reverse order).
 * `startHub` is what server.ts, the demo, the bench and the tests call.
 */
// First: keeps String.prototype out of dictionary mode before any dependency loads (fast-prototypes.ts).
import './fast-prototypes.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Server } from 'socket.io';
import { loadConfig, type HubConfig } from './config.js';
import { HubError } from './errors.js';
import { clientErrorHandler, frameworkErrors } from './http-edges.js';
import type { Health } from './api/routes.js';
import type { CollectorService } from './collectors/service.js';
import type { EvaluationQueue } from './jobs/queue.js';
import type { RuleSetService } from './rulesets/service.js';
import type { DecisionService } from './decisions/service.js';
import type { BacktestService } from './backtest/service.js';
import type { PeerDeviationService } from './peer/service.js';
import type { WallBroadcaster } from './live/wall.js';
import type { Registry } from './registry/registry.js';
import type { Store } from './store/store.js';
import { emit } from './telemetry/events.js';
import { infrastructure } from './plugins/infrastructure.js';
import { registry as registryPlugin, pipeline } from './plugins/services.js';
import { supervision as supervisionPlugin, type Supervision } from './plugins/supervision.js';
import { routes } from './plugins/routes.js';
import { isLoopbackHost, readTlsMaterial, trustProxyOption, watchTls } from './tls.js';
import { defaultMaxConnections, limitConnections } from './http/connections.js';

export type { Supervision };

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
  /** Users and sessions, the warning workflow, registry changes, evaluation (plugins/supervision.ts). */
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
  // Given to the server as it is made: Node derives the headers' limit from the request's there
  // (a request limit set afterwards below 60 s waits for the 60 s headers limit), and checks both
  // on an interval — a tenth of the limit, so a trickled body is cut near it.
  const requestTimeout = config.requestTimeoutS * 1000;
  const requestLimits = { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeout / 10)) };
  const app = createApp({
    // TLS straight from the hub (tls.ts); X-Forwarded-* only from the proxies JG_TRUST_PROXY names.
    // A request must arrive whole in time (fastify turns Node's limit off): http/connections.ts.
    ...(tlsFiles ? { https: { ...readTlsMaterial(tlsFiles), ...requestLimits } } : { http: requestLimits }),
    requestTimeout: requestLimits.requestTimeout,
    trustProxy: trustProxyOption(config.trustProxy),
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // socket.io answers its own upgrade and polling requests on the same server.
    forceCloseConnections: true,
    // Plugins wait on the store's migrations and on Redis (which has its own 10 s limit with a
    // coded error); fastify's default 10 s would replace those errors with a generic timeout.
    pluginTimeout: 300_000,
    // A malformed URL or unparsable request gets the same coded 4xx body as every other error.
    frameworkErrors,
    clientErrorHandler,
  });
  const log = app.log;
  try {
    await app.register(infrastructure, { config });
    await app.register(registryPlugin);
    await app.register(supervisionPlugin, { version: HUB_VERSION });
    await app.register(pipeline, { version: HUB_VERSION });
    await app.register(routes, { version: HUB_VERSION });
    // Reloads the certificate when its files change; set once listening, closed with the app.
    let tls: { close(): void } | undefined;
    app.addHook('onClose', async () => tls?.close());

    limitConnections(
      app.server,
      { perAddress: config.connPerAddress ?? (trustProxyOption(config.trustProxy) ? 0 : 256), max: defaultMaxConnections(config.maxConnections) },
      (address, reason, open) => log.warn({ event: 'connections.refused', address, reason, open }, 'connection refused: over the limit'),
    );
    await app.listen({ port: config.port, host: config.host });
    if (tlsFiles) tls = watchTls(app.server as unknown as import('node:tls').Server, tlsFiles, log);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `${tlsFiles ? 'https' : 'http'}://127.0.0.1:${port}`;
    emit(log, 'hub.started', { url, store: app.store.driver, ruleSet: app.rulesets.versionAt(), worker: config.runWorker });
    app.supervision.start();

    return {
      config,
      url,
      port,
      app,
      io: app.io,
      store: app.store,
      registry: app.registry,
      queue: app.queue,
      wall: app.wall,
      collectors: app.collectors,
      supervision: app.supervision,
      rulesets: app.rulesets,
      decisions: app.decisions,
      backtests: app.backtests,
      peer: app.peer,
      health: () => app.health(),
      close: () => app.close(),
    };
  } catch (e) {
    // Whatever had opened closes in its own onClose hook, also after a failed start.
    await app.close().catch((err: unknown) => emit(log, 'hub.close_step_failed', { err }));
    throw e;
  }
}
