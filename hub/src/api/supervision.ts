/**
 * The supervision side of the hub, assembled in one place: sessions and audit, the warning
 * workflow, the registry with maker-checker, institution evaluation, rule quality, exports and
 * the API documentation. app.ts calls `createSupervision` once the store, Redis and socket.io
 * exist, and `registerSupervisionRoutes` with the other routes.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import type { Redis } from 'ioredis';
import type { Namespace, Server } from 'socket.io';
import { COUNTY_BY_CODE, type WorkCalendar } from '@jianguan/rules';
import type { HubConfig } from '../config.js';
import { auditLater, installAuthHooks, protectWallNamespace, registerAuthRoutes, type AuthDeps } from '../auth/plugin.js';
import { KioskTokens } from '../auth/kiosk.js';
import { LoginLimits } from '../auth/login-limits.js';
import { SessionStore } from '../auth/sessions.js';
import { DEMO_USERS, listUsers, seedDemoUsers } from '../auth/users.js';
import { createHubPseudonyms } from '../pseudonyms.js';
import { NAMESPACE_WALL, type WallClientToServer, type WallServerToClient } from '../protocol/index.js';
import { RegistryChanges } from '../registry/changes.js';
import { emitToScopes } from '../live/wall.js';
import type { Registry } from '../registry/registry.js';
import { registerRegistryRoutes } from './registry.js';
import { installTableJobs } from '../exports/table-jobs.js';
import fs from 'node:fs';
import { HubError, errorMessage } from '../errors.js';
import { DEFAULT_EVALUATION, EvaluationOverrides, withOverrides, type EvaluationConfig } from '../evaluation/scoring.js';
import { EvaluationService } from '../evaluation/service.js';
import { registerEvaluationRoutes } from './evaluation.js';
import type { Store } from '../store/store.js';
import { STATE_LABELS } from '../workflow/machine.js';
import { WorkflowService } from '../workflow/service.js';
import { registerDocs } from './docs.js';
import { registerWarningRoutes } from './warnings.js';
import { describeIssues } from '../validation/issues.js';
import { emit } from '../telemetry/events.js';

export interface SupervisionDeps {
  app: FastifyInstance;
  io: Server;
  store: Store;
  redis: Redis;
  registry: Registry;
  calendar: WorkCalendar;
  config: HubConfig;
  version: string;
}

export interface Supervision {
  sessions: SessionStore;
  /** Login limits, kiosk tokens and the policy switches the auth routes share. */
  auth: AuthDeps;
  workflow: WorkflowService;
  changes: RegistryChanges;
  evaluation: EvaluationService;
  /** Warnings just stored by the evaluation worker. */
  raised(ids: readonly string[]): void;
  start(): void;
  close(): Promise<void>;
}

/**
 * Creates the services and installs the request hooks. Call before any route is registered (the
 * auth hooks must see every route).
 */
export async function createSupervision(deps: SupervisionDeps): Promise<Supervision> {
  const { app, io, store, redis, registry, config } = deps;
  const log = app.log;
  const sessions = new SessionStore(redis, config.queuePrefix, config.sessionTtlS, config.sessionMaxS);
  const kiosk = new KioskTokens(redis, config.queuePrefix);
  const limits = new LoginLimits(redis, { prefix: config.queuePrefix, perAddress: config.loginFailsPerAddress, perUser: config.loginFailsPerUser, windowS: config.loginWindowS });
  let wallGuard: { disconnectKiosk(id: string): void } | undefined;
  const authDeps: AuthDeps = { store, sessions, limits, kiosk, demo: config.seedDemo, docsPublic: config.docsPublic, onKioskRevoked: (id) => wallGuard?.disconnectKiosk(id) };
  installAuthHooks(app, authDeps);
  await app.register(multipart, { limits: { fileSize: config.evidenceMaxBytes, files: 1, fields: 10 } });
  await registerDocs(app, deps.version);

  if (config.wallPublic) {
    // Checked in app.ts too (loopback only); said again here where the door is left open.
    emit(log, 'wall.open', { host: config.host }, 'DEMO: the /wall namespace is OPEN to anyone who can reach this loopback address (JG_WALL_PUBLIC)');
  } else {
    // One audit row per address and minute at most: a flood of refused screens is one line, not a flood.
    const lastDenied = new Map<string, number>();
    wallGuard = protectWallNamespace(io, NAMESPACE_WALL, {
      sessions,
      kiosk,
      perAddress: config.wallConnPerAddress,
      denied: (address, code, who) => {
        const now = Date.now();
        if ((lastDenied.get(address) ?? 0) > now - 60_000) return;
        if (lastDenied.size > 10_000) lastDenied.clear();
        lastDenied.set(address, now);
        auditLater(app, { actor: who, action: 'wall.denied', method: 'WS', path: NAMESPACE_WALL, ip: address, result: code === 'RATE_LIMITED' ? 'failed' : 'denied', status: code === 'RATE_LIMITED' ? 429 : 401, detail: JSON.stringify({ code }) });
      },
    });
  }
  const wall = io.of(NAMESPACE_WALL) as unknown as Namespace<WallClientToServer, WallServerToClient>;

  const evaluation = new EvaluationService({
    store,
    registry,
    redis,
    prefix: config.queuePrefix,
    config: evaluationConfig(config.evaluationFile),
    intervalMs: config.evaluationIntervalMs,
    log,
  });

  const workflow = new WorkflowService({
    store,
    redis,
    prefix: config.queuePrefix,
    calendar: deps.calendar,
    sla: { highAckMinutes: config.slaHighAckMinutes, highVerifyMinutes: config.slaHighVerifyMinutes, verifyMinutes: config.slaVerifyMinutes },
    evidenceDir: path.join(config.dataDir, 'evidence'),
    evidenceMaxBytes: config.evidenceMaxBytes,
    intervalMs: config.workflowIntervalMs,
    log,
    onAppended: (appended) => {
      if (appended.some((a) => a.before.conclusion !== a.after.conclusion)) evaluation.conclusionsChanged();
    },
    onOverdue: (items) => {
      // Each county's screens get that county's escalations only; city screens get them all.
      emitToScopes(
        items.map(({ warning: w, state, kind, dueAt }) => ({
          id: w.id,
          ruleId: w.rule_id,
          ruleName: w.rule_name,
          severity: w.severity as 'low' | 'medium' | 'high',
          institutionId: w.institution_id,
          institutionName: registry.institution(w.institution_id)?.name ?? w.institution_id,
          county: w.county,
          countyName: COUNTY_BY_CODE.get(w.county)?.name ?? '',
          state: state.state,
          stateLabel: STATE_LABELS[state.state],
          assignee: state.assignee ?? '',
          kind,
          dueAt,
          escalatedAt: state.updatedAt ?? Date.now(),
        })),
        (room, list) => wall.to(room).emit('warning.overdue', list),
      );
    },
  });

  // Staff identity hashes are filed in the collectors' form and stored under the hub's pseudonym
  // layer, like the transactions' person hashes, so counter.self_dealing can compare them.
  const changes = new RegistryChanges(store, redis, config.queuePrefix, registry, createHubPseudonyms(config));
  // Versions for registry rows that have none (demo seed, rows from before versioning).
  if (await changes.baseline()) await registry.reload();
  const unfollow = await changes.follow((e) => emit(log, 'registry.reload_failed', { err: errorMessage(e) }));

  if (config.seedDemo) {
    const created = await seedDemoUsers(store);
    const names = DEMO_USERS.map((u) => `${u.username}${u.scope ? `(${u.scope})` : ''}`).join(', ');
    // Never the password itself: logs are shipped and kept. The README says where it is written.
    emit(log, 'users.demo', { created, users: DEMO_USERS.map((u) => u.username) }, `DEMO MODE: demo accounts ${names} share the published demo password (README); never run demo mode with real data`);
  }
  // A new detachment starts with no user at all: say how to create the first administrator.
  if (!(await listUsers(store)).some((u) => u.active && u.roles.includes('system_admin'))) {
    emit(log, 'users.no_admin', {}, 'no administrator exists: create one on this machine with `jianguan-hub admin create <username>` (docs/go-live.md)');
  }

  return {
    sessions,
    auth: authDeps,
    workflow,
    changes,
    evaluation,
    raised: (ids) => workflow.raised(ids),
      start: () => {
      workflow.start();
      evaluation.start();
    },
    close: async () => {
      unfollow();
      await workflow.close();
      await evaluation.close();
    },
  };
}

export function registerSupervisionRoutes(app: FastifyInstance, s: Supervision, deps: SupervisionDeps): void {
  // Before any route that imports or exports a table: they share its limits and job gate.
  installTableJobs(app, deps.config);
  registerAuthRoutes(app, s.auth);
  registerWarningRoutes(app, { store: deps.store, registry: deps.registry, workflow: s.workflow, evidenceMaxBytes: deps.config.evidenceMaxBytes });
  registerRegistryRoutes(app, { registry: deps.registry, changes: s.changes });
  registerEvaluationRoutes(app, { registry: deps.registry, evaluation: s.evaluation, store: deps.store });
}

/** DEFAULT_EVALUATION with the overrides of JG_EVALUATION_FILE, validated (CONFIG_INVALID names the file). */
export function evaluationConfig(file: string | undefined): EvaluationConfig {
  if (!file) return DEFAULT_EVALUATION;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `JG_EVALUATION_FILE ${file}: ${errorMessage(e)}`);
  }
  const parsed = EvaluationOverrides.safeParse(raw);
  if (!parsed.success) throw new HubError('CONFIG_INVALID', `JG_EVALUATION_FILE ${file}: ${describeIssues(parsed.error)}`);
  return withOverrides(DEFAULT_EVALUATION, parsed.data);
}
