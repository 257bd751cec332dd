/**
 * GET /api/v1/readiness: the go-live check (readiness.ts) for system administrators. Read-only;
 * each call reads the facts afresh (the registry and collectors from memory, users, backups, the
 * rule sets' heads and one bounded store query).
 */
import type { FastifyInstance } from 'fastify';
import type { StoreBackups } from '../backup/backup.js';
import type { WorkCalendars } from '../calendar/calendar.js';
import type { CollectorService } from '../collectors/service.js';
import { diskSpace } from '../disk.js';
import { defineRoute } from '../http/define.js';
import { ReadinessSchema, type Readiness } from '../protocol/index.js';
import type { RegistryChanges } from '../registry/changes.js';
import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { totals } from '../store/repo.js';
import { param, sql } from '../store/sql.js';
import { listUsers } from '../auth/users.js';
import type { RuleSetService } from '../rulesets/service.js';
import { readinessOf, SUBJECTS_ALL, SUBJECTS_MAX } from './readiness.js';
import { z } from 'zod';

/** A record whose business is this much older than its capture was replayed from the past (go-live step 6). */
const REPLAYED_AFTER_DAYS = 3;

export interface ReadinessDeps {
  store: Store;
  registry: Registry;
  changes: RegistryChanges;
  collectors: CollectorService;
  calendars: WorkCalendars;
  backups: StoreBackups;
  rulesets: Pick<RuleSetService, 'builtinStatus'>;
  config: { seedDemo: boolean; tlsCert?: string | undefined; trustProxy: string; wallPublic: boolean; dataDir: string; diskLowBytes: number };
}

export async function gatherReadiness(d: ReadinessDeps, subjects = SUBJECTS_MAX, now = Date.now()): Promise<Readiness> {
  const [users, collectors, pending, replay, stored, rules] = await Promise.all([
    listUsers(d.store),
    d.collectors.list(),
    d.changes.list({ status: 'pending', limit: 10_000, offset: 0 }),
    // One row at most: the scan stops at the first replayed record (before go-live the table is
    // small). A store of years that was never replayed would be read whole: the read stops after
    // two seconds and counts as "none found" (the item then asks for a look, not more).
    d.store.query<{ replayed: number | string }>(sql`
      SELECT count() AS replayed FROM (SELECT 1 FROM transactions WHERE occurred_at < captured_at - toIntervalDay(${param.UInt32(REPLAYED_AFTER_DAYS)}) LIMIT 1)
      SETTINGS max_execution_time = 2, timeout_overflow_mode = 'break'`),
    totals(d.store),
    d.rulesets.builtinStatus(),
  ]);
  const disk = await diskSpace(d.config.dataDir);
  const list = d.backups.list();
  const verified = list.items.filter((b) => b.state === 'done' && b.verified && b.finishedAt !== null).map((b) => b.finishedAt!);
  return readinessOf({
    now,
    demo: d.config.seedDemo,
    users,
    institutions: d.registry.listInstitutions(),
    staff: d.registry.listStaff(),
    lines: d.registry.listLines(),
    pendingRequests: pending.items,
    collectors,
    calendar: d.calendars.view(now),
    rules: { current: rules.current, pending: rules.pending },
    replayed: Number(replay[0]?.replayed ?? 0) > 0,
    transactions: stored.transactions,
    backups: { supported: list.supported, hour: list.hour, newestVerifiedAt: verified.length ? Math.max(...verified) : null },
    disk: disk ? { ...disk, lowBytes: d.config.diskLowBytes } : null,
    tls: Boolean(d.config.tlsCert),
    proxy: d.config.trustProxy !== 'false',
    wallPublic: d.config.wallPublic,
  }, subjects);
}

export function registerReadinessRoutes(app: FastifyInstance, deps: ReadinessDeps): void {
  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/readiness',
    tags: ['运维'],
    summary: '上线检查：按上线步骤检查账号、备案、采集终端、工作日历、规则定义、历史业务回放、备份与访问方式，列出仍待办理的事项（只读）；subjects 为每项列出的名称数（默认 100，导出时至多 10000）',
    auth: ['system_admin'],
    scope: 'city',
    query: z.object({ subjects: z.coerce.number().int().min(1).max(SUBJECTS_ALL).default(SUBJECTS_MAX) }),
    response: ReadinessSchema,
    handler: async (req) => gatherReadiness(deps, req.query.subjects),
  });
}
