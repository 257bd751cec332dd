/**
 * Tier 2, the supervision services: the doors (headers, CSRF, login rate, /metrics guard) and the
 * auth hooks (sessions, roles, kiosk tokens, audit) before any route; the /wall guard; registry
 * changes with maker-checker; institution evaluation; the warning workflow and its escalations
 * to the wall rooms.
 */
import path from 'node:path';
import fp from 'fastify-plugin';
import multipart from '@fastify/multipart';
import { COUNTY_BY_CODE } from '@jianguan/rules';
import { auditLater, installAuthHooks, protectWallNamespace, type AuthDeps } from '../auth/plugin.js';
import { installDoors } from '../auth/doors.js';
import { KioskTokens } from '../auth/kiosk.js';
import { LoginLimits } from '../auth/login-limits.js';
import { SessionStore } from '../auth/sessions.js';
import fastifyCookie from '@fastify/cookie';
import { DEMO_USERS, listUsers, refuseDemoPasswords, seedDemoUsers } from '../auth/users.js';
import { errorMessage } from '../errors.js';
import { evaluationConfig } from '../evaluation/config.js';
import { EvaluationService } from '../evaluation/service.js';
import { emitToScopes } from '../live/wall.js';
import { NAMESPACE_WALL } from '../protocol/index.js';
import { wallNamespace } from '../sockets.js';
import { RegistryChanges } from '../registry/changes.js';
import { StoreBackups } from '../backup/backup.js';
import { keyringFile } from '../pseudonyms.js';
import { emit } from '../telemetry/events.js';
import { STATE_LABELS } from '../workflow/machine.js';
import { WorkflowService, type FreshWarning } from '../workflow/service.js';
import { registerDocs } from '../api/docs.js';

export interface Supervision {
  sessions: SessionStore;
  /** Login limits, kiosk tokens and the policy switches the auth routes share. */
  auth: AuthDeps;
  workflow: WorkflowService;
  changes: RegistryChanges;
  evaluation: EvaluationService;
  /** Backups of the embedded store (backup/backup.ts). */
  backups: StoreBackups;
  /** Warnings just stored by the evaluation worker. */
  raised(warnings: readonly FreshWarning[]): void;
  start(): void;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    supervision: Supervision;
  }
}

export const supervision = fp<{ version: string }>(
  async (app, { version }) => {
    const { io, store, redis, registry, config } = app;
    const log = app.log;
    // Production on a store that was once a demo: no account may keep the published password.
    if (!config.seedDemo) await refuseDemoPasswords(store);
    await installDoors(app, { config, redis });
    const sessions = new SessionStore(redis, config.queuePrefix, config.sessionTtlS, config.sessionMaxS);
    const kiosk = new KioskTokens(redis, config.queuePrefix);
    const limits = new LoginLimits(redis, { prefix: config.queuePrefix, perAddress: config.loginFailsPerAddress, perUser: config.loginFailsPerUser, windowS: config.loginWindowS });
    let wallGuard: ReturnType<typeof protectWallNamespace> | undefined;
    const authDeps: AuthDeps = { store, sessions, limits, kiosk, demo: config.seedDemo, docsPublic: config.docsPublic, onKioskRevoked: (id) => wallGuard?.disconnectKiosk(id) };
    // Parses Cookie headers into req.cookies before the auth hook reads the session from them.
    await app.register(fastifyCookie);
    installAuthHooks(app, authDeps);
    await app.register(multipart, { limits: { fileSize: config.evidenceMaxBytes, files: 1, fields: 10 } });
    await registerDocs(app, version);

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
    app.addHook('onClose', async () => wallGuard?.close());
    const wall = wallNamespace(io);

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
      calendar: app.calendar,
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
    const changes = new RegistryChanges(store, redis, config.queuePrefix, registry, app.pseudonyms);
    // Versions for registry rows that have none (demo seed, rows from before versioning).
    if (await changes.baseline()) await registry.reload();
    const unfollow = await changes.follow((e) => emit(log, 'registry.reload_failed', { err: errorMessage(e) }));
    // Changes approved ahead of their time, and filings with an end date, take effect on time.
    const unschedule = changes.startSchedule((e) => emit(log, 'registry.reload_failed', { err: errorMessage(e) }));

    if (config.seedDemo) {
      const created = await seedDemoUsers(store);
      const names = DEMO_USERS.map((u) => `${u.username}${u.scope ? `(${u.scope})` : ''}`).join(', ');
      // Never the password itself: logs are shipped and kept. The README says where it is written.
      emit(log, 'users.demo', { created, users: DEMO_USERS.map((u) => u.username) }, `DEMO MODE: demo accounts ${names} share the published demo password (README); never run demo mode with real data`);
    }
    // A new detachment starts with no user at all: say how to create the first administrator.
    if (!(await listUsers(store)).some((u) => u.active && u.roles.includes('system_admin'))) {
      emit(log, 'users.no_admin', {}, 'no administrator exists: create one on this machine with `node hub/dist/cli.js admin create <username>` (the embedded store: with the hub stopped; docs/go-live.md)');
    }

    const backups = new StoreBackups(
      store,
      {
        ...config,
        keyringFile: keyringFile(config),
        evidenceDir: path.join(config.dataDir, 'evidence'),
        // What the stateful rules count, kept in Redis beside this hub's memory: copied into each backup.
        ...(config.ruleState === 'local' ? { ruleStateRedis: { redis: app.redis, prefix: config.queuePrefix } } : {}),
      },
      (event, fields, msg) => emit(log, event, fields, msg),
    );

    const close = async () => {
      // Before the store closes (plugins close in reverse order): a backup stops at its next file.
      await backups.close();
      unfollow();
      unschedule();
      await workflow.close();
      await evaluation.close();
    };
    app.addHook('onClose', close);
    app.decorate('supervision', {
      sessions,
      auth: authDeps,
      workflow,
      changes,
      evaluation,
      backups,
      raised: (warnings) => workflow.raised(warnings),
      start: () => {
        workflow.start();
        evaluation.start();
        backups.schedule();
      },
      close,
    } satisfies Supervision);
  },
  { name: 'jg-supervision', dependencies: ['jg-infrastructure', 'jg-registry'] },
);
