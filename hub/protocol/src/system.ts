/**
 * REST response views of the system routes, shared by the hub (route response schemas, checked
 * under test) and the dashboard (types inferred from them). zod and types only.
 *
 *   GET /healthz                  HealthSchema (also the body of its 503 when degraded)
 *   GET /api/v1/totals            TotalsSchema
 *   GET /api/v1/stats/pipeline    PipelineStatsSchema
 *   GET /api/v1/dead-letters      DeadLetterListSchema
 *   GET /api/v1/geo/counties      CountyBoundariesSchema (the deployment's boundary file, verbatim)
 *   GET /api/v1/institutions      InstitutionListSchema
 *   GET /api/v1/rules             RuleListSchema
 *   GET /api/v1/people            PeopleListSchema
 *   GET/POST /api/v1/backups      BackupListSchema / BackupSchema
 *   GET /api/v1/calendar          WorkCalendarViewSchema (PUT …/hours, PUT …/years/:year, POST …/notice)
 *   GET /api/v1/readiness         ReadinessSchema
 *   warning detail and actions    WarningDetailSchema, WarningActionResultSchema … (hub/src/workflow/routes.ts)
 */
import { z } from 'zod';
import { InstitutionSchema, InstitutionType, TypeHoursSchema, WorkPeriodSchema } from '@jianguan/rules';
import { CONCLUSIONS, DISPOSAL_ACTIONS, EVENT_TYPES, WARNING_STATES } from './workflow.js';
import { TransactionViewSchema, WarningDueSchema, WarningItemSchema } from './warnings.js';
import { RuleMetaSchema } from './releases.js';

// ---- health and pipeline -----------------------------------------------------------------------

/** GET /healthz. Figures the hub could not read (store or Redis down) are -1. */
export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  /** Physical rows (see TotalsSchema); -1 when the store is down. */
  transactions_stored: z.number().int(),
  warnings_raised: z.number().int(),
  dead_letters: z.number().int(),
  /** Collectors connected to this replica. */
  collectors_connected: z.number().int().nonnegative(),
  /** Batches waiting in the queue; -1 when Redis is down. */
  queue_waiting: z.number().int(),
  store: z.object({ driver: z.enum(['clickhouse', 'chdb']), status: z.enum(['ok', 'down']), database: z.string() }),
  redis: z.object({ status: z.enum(['ok', 'down']) }),
  /** Version of the rule set in force. */
  rule_set: z.string(),
  /**
   * Where rule state lives (JG_RULE_STATE) and whether it answers: with `local`, `ready` once
   * restored; `lost` while another process holds its lease (evaluation fails until it is back;
   * status degraded); `unavailable` when this hub holds none (JG_WORKER=0) or its thread does not
   * answer. Keys and entries held in memory, the snapshot's generation and the log since (bytes).
   */
  rule_state: z
    .object({
      mode: z.enum(['local', 'redis']),
      state: z.enum(['ready', 'opening', 'lost', 'closed', 'unavailable']),
      keys: z.number().int().nonnegative().optional(),
      entries: z.number().int().nonnegative().optional(),
      generation: z.number().int().nonnegative().optional(),
      log_bytes: z.number().int().nonnegative().optional(),
    })
    .optional(),
  /**
   * Which threads evaluate batches (JG_EVALUATION_MODE): `hub` (no evaluation threads), `threads`
   * (the threads, always), `overflow` (the hub thread first, the threads while it is busy and a
   * core is idle), `none` (JG_WORKER=0); whether the threads are taking jobs now, and how many
   * batches each side stored since the start.
   */
  evaluation: z
    .object({
      mode: z.enum(['none', 'hub', 'threads', 'overflow']),
      threads: z.number().int().nonnegative(),
      threads_taking: z.boolean(),
      batches_hub: z.number().int().nonnegative(),
      batches_threads: z.number().int().nonnegative(),
    })
    .optional(),
  uptime_s: z.number().int().nonnegative(),
  /**
   * Years the work calendar needs and has no holidays for (GET /api/v1/calendar `missing`): the
   * current year, and from 1 November the next. Not an outage (status stays ok), but until it is
   * entered every rule and time limit takes that year's holidays for working days.
   */
  calendar_missing: z.array(z.number().int()).optional(),
  /**
   * The disk of the hub's data directory: bytes free (to the hub's user) and in all, `low` below
   * JG_DISK_LOW_BYTES. Not an outage by itself (status stays ok); absent when it cannot be read.
   */
  disk: z.object({ free_bytes: z.number().int().nonnegative(), total_bytes: z.number().int().nonnegative(), status: z.enum(['ok', 'low']) }).optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/**
 * GET /api/v1/totals: physical rows stored (a re-sent batch may count twice until ClickHouse
 * merges its parts; never fewer than the distinct rows).
 */
export const TotalsSchema = z.object({
  transactions: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  deadLetters: z.number().int().nonnegative(),
});
export type Totals = z.infer<typeof TotalsSchema>;

/** GET /api/v1/stats/pipeline: throughput and capture→stored latency of the records captured since `since`. */
export const PipelineStatsSchema = z.object({
  /** Physical rows (a re-sent record may sit twice until ClickHouse merges parts). */
  rows: z.number().int().nonnegative(),
  /** Distinct transaction ids: what is logically stored. */
  stored: z.number().int().nonnegative(),
  /** Rows after FINAL: equals `stored` when there is no logical duplicate. */
  finalRows: z.number().int().nonnegative(),
  /** Epoch ms; 0 when nothing was captured in the period. */
  firstCapturedAt: z.number(),
  lastStoredAt: z.number(),
  /** Milliseconds from the collector's capture to the store commit. */
  latencyMs: z.object({ p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() }),
});
export type PipelineStats = z.infer<typeof PipelineStatsSchema>;

/** A record the hub could not accept (stored so its batch could still be acknowledged). */
export const DeadLetterSchema = z.object({
  recordKey: z.string(),
  batchId: z.string(),
  collectorId: z.string(),
  /** Position of the record in its batch. */
  recordIndex: z.number().int(),
  /** The record's id when it had a readable one, else ''. */
  recordId: z.string(),
  code: z.string(),
  reason: z.string(),
  /** The record as received (JSON text). */
  payload: z.string(),
  receivedAt: z.number(),
  /** The sending collector's institution as the hub knows it now ('' for a collector it no longer has). */
  institutionId: z.string(),
  /** That institution's filed name ('' when not filed). */
  institutionName: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** GET /api/v1/dead-letters: newest first. */
export const DeadLetterListSchema = z.object({ items: z.array(DeadLetterSchema) });
export type DeadLetterList = z.infer<typeof DeadLetterListSchema>;

// ---- map, institutions, rules, people -----------------------------------------------------------

/**
 * GET /api/v1/geo/counties: the deployment's own boundary file (JG_BOUNDARY_GEOJSON), served as
 * it is on disk (application/geo+json; 204 when none is configured). A GeoJSON FeatureCollection;
 * the wall maps its features to counties by an adcode or name property.
 */
export const CountyBoundariesSchema = z.looseObject({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.looseObject({
      type: z.literal('Feature'),
      properties: z.record(z.string(), z.unknown()).nullable(),
      geometry: z.looseObject({ type: z.string(), coordinates: z.unknown() }).nullable(),
    }),
  ),
});
export type CountyBoundaries = z.infer<typeof CountyBoundariesSchema>;

/** One institution of the registry as it stands now (the rules' Institution). */
export const InstitutionItemSchema = InstitutionSchema;
export type InstitutionItem = z.infer<typeof InstitutionItemSchema>;

/** GET /api/v1/institutions: the institutions in the caller's scope (optionally one county). */
export const InstitutionListSchema = z.object({ items: z.array(InstitutionItemSchema) });
export type InstitutionList = z.infer<typeof InstitutionListSchema>;

/** The rule states (RuleStateKind of @jianguan/rules): 'scheduled' rules run in a job, never per record. */



/** GET /api/v1/rules: the rule set in force and its rules. */
export const RuleListSchema = z.object({ version: z.string(), items: z.array(RuleMetaSchema) });
export type RuleList = z.infer<typeof RuleListSchema>;

/** The hub's roles (auth/principal.ts ROLES). */
export const USER_ROLES = ['wall_viewer', 'auditor', 'leader', 'registry_admin', 'rule_admin', 'system_admin'] as const;
export const UserRoleSchema = z.enum(USER_ROLES);

/** One person of the office directory. */
export const PersonSchema = z.object({
  username: z.string(),
  displayName: z.string(),
  roles: z.array(UserRoleSchema),
  /** Chinese names of the roles, in the same order. */
  roleNames: z.array(z.string()),
  /** County adcode the person is limited to; null = the whole city. */
  scope: z.string().nullable(),
});
export type Person = z.infer<typeof PersonSchema>;

/** GET /api/v1/people: active users (optionally the eligible assignees of a county's warnings). */
export const PeopleListSchema = z.object({ items: z.array(PersonSchema) });
export type PeopleList = z.infer<typeof PeopleListSchema>;

// ---- warning workflow answers (hub/src/workflow/routes.ts) --------------------------------------

/** A file attached to a warning, as referenced by its events and state. */
export const EvidenceRefSchema = z.object({ sha256: z.string(), name: z.string(), mime: z.string(), size: z.number().int().nonnegative() });
export type EvidenceRef = z.infer<typeof EvidenceRefSchema>;

/** Who acted: a role, or the hub itself (auto-assignment, escalation). */
export const ActorRoleSchema = z.enum([...USER_ROLES, 'system']);

/** A missed deadline (超期督办). */
export const OverdueSchema = z.object({ kind: z.enum(['acknowledge', 'verify']), dueAt: z.number() });

/** A warning's workflow state, folded from its events (a warning without events is 'raised' at seq 0). */
export const WarningStateSchema = z.object({
  warningId: z.string(),
  seq: z.number().int().nonnegative(),
  state: z.enum(WARNING_STATES),
  /** User name; null = unassigned. */
  assignee: z.string().nullable(),
  conclusion: z.enum(CONCLUSIONS).nullable(),
  disposal: z.array(z.enum(DISPOSAL_ACTIONS)),
  escalated: z.boolean(),
  acknowledgedAt: z.number().nullable(),
  concludedAt: z.number().nullable(),
  closedAt: z.number().nullable(),
  updatedAt: z.number().nullable(),
  evidence: z.array(EvidenceRefSchema),
  /** Comments made so far. */
  comments: z.number().int().nonnegative(),
});
export type WarningStateView = z.infer<typeof WarningStateSchema>;

/** What an event carries (which fields depends on its type). */
export const WorkflowEventPayloadSchema = z.object({
  assignee: z.string().optional(),
  conclusion: z.enum(CONCLUSIONS).optional(),
  disposal: z.array(z.enum(DISPOSAL_ACTIONS)).optional(),
  comment: z.string().optional(),
  evidence: EvidenceRefSchema.optional(),
  /** Evidence (sha256) a conclusion or disposal cites. */
  refs: z.array(z.string()).optional(),
  /** escalated: which deadline was missed and when it fell due. */
  overdue: OverdueSchema.optional(),
});

/** One event of a warning's timeline, with its Chinese label. */
export const WorkflowEventSchema = z.object({
  warningId: z.string(),
  seq: z.number().int().positive(),
  type: z.enum(EVENT_TYPES),
  label: z.string(),
  actor: z.string(),
  role: ActorRoleSchema,
  at: z.number(),
  payload: WorkflowEventPayloadSchema,
});
export type WorkflowEvent = z.infer<typeof WorkflowEventSchema>;

/** A stored evidence file of a warning. */
export const EvidenceFileSchema = z.object({
  sha256: z.string(),
  warningId: z.string(),
  name: z.string(),
  mime: z.string(),
  size: z.number().int().nonnegative(),
  uploadedBy: z.string(),
  at: z.number(),
});
export type EvidenceFile = z.infer<typeof EvidenceFileSchema>;

/** GET /api/v1/warnings/:id: the warning, its transaction, state, timeline, evidence and deadlines. */
export const WarningDetailSchema = z.object({
  warning: WarningItemSchema,
  /** null when the transaction is not (or no longer) stored. */
  transaction: TransactionViewSchema.nullable(),
  state: WarningStateSchema.extend({ label: z.string(), conclusionLabel: z.string().nullable() }),
  events: z.array(WorkflowEventSchema),
  evidence: z.array(EvidenceFileSchema),
  deadlines: z.object({
    /** High-severity warnings only; null otherwise. */
    acknowledgeBy: z.number().nullable(),
    verifyBy: z.number(),
    /** The first deadline already missed in the current state; null when none. */
    missed: WarningDueSchema,
  }),
  /** The actions the caller could take now (assign, acknowledge, … comment, evidence). */
  allowedActions: z.array(z.string()),
  /** Raised by a sampling rule (加强抽查's draw): its conclusions read as SAMPLING_CONCLUSION_LABELS. */
  sampling: z.boolean(),
});
export type WarningDetail = z.infer<typeof WarningDetailSchema>;

/** POST /api/v1/warnings/:id/actions. A stale expectedSeq is 409 CONFLICT with `current` instead. */
export const WarningActionResultSchema = z.object({ ok: z.literal(true), state: WarningStateSchema });
export type WarningActionResult = z.infer<typeof WarningActionResultSchema>;

/** POST /api/v1/warnings/:id/evidence. */
export const EvidenceUploadResultSchema = z.object({ ok: z.literal(true), sha256: z.string(), state: WarningStateSchema });
export type EvidenceUploadResult = z.infer<typeof EvidenceUploadResultSchema>;

/** One item of a bulk action: applied (its new seq and state) or refused (a code, and the current state on CONFLICT). */
export const BulkItemResultSchema = z.discriminatedUnion('ok', [
  z.object({ warningId: z.string(), ok: z.literal(true), seq: z.number().int().positive(), state: WarningStateSchema }),
  z.object({ warningId: z.string(), ok: z.literal(false), code: z.string(), message: z.string(), current: WarningStateSchema.optional() }),
]);
export type BulkItemResult = z.infer<typeof BulkItemResultSchema>;

/** POST /api/v1/warnings/bulk: counts, then one result per item in request order. */
export const BulkActionResultSchema = z.object({ ok: z.number().int().nonnegative(), failed: z.number().int().nonnegative(), results: z.array(BulkItemResultSchema) });
export type BulkActionResult = z.infer<typeof BulkActionResultSchema>;

/**
 * POST /api/v1/warnings/recheck: each warning's rule evaluated again on its transaction with
 * today's filings (as of the business's time) and today's work calendar. `still`: it would be
 * raised again (the explanation as it reads now); `no_longer`: it would not — a filing or the
 * calendar corrected since; `not_checkable`: `reason` says why (`stateful`: the rule counts
 * history, which a single record cannot replay; `not_per_record`: a scheduled or system warning;
 * `no_transaction`; `not_found`: no such warning). A warning outside the caller's county: 403
 * OUT_OF_SCOPE for the whole request, as on every warning route.
 */
export const RecheckItemSchema = z.object({
  id: z.string(),
  outcome: z.enum(['still', 'no_longer', 'not_checkable']),
  reason: z.enum(['stateful', 'not_per_record', 'no_transaction', 'not_found']).optional(),
  /** The explanation as raised. */
  explanationThen: z.string().optional(),
  /** still: the explanation as it would read now. */
  explanationNow: z.string().optional(),
});
export type RecheckItem = z.infer<typeof RecheckItemSchema>;
export const RecheckResultSchema = z.object({
  checked: z.number().int().nonnegative(),
  still: z.number().int().nonnegative(),
  noLonger: z.number().int().nonnegative(),
  notCheckable: z.number().int().nonnegative(),
  /** The rule set and calendar the check used (the live ones). */
  ruleSet: z.string(),
  results: z.array(RecheckItemSchema),
});
export type RecheckResult = z.infer<typeof RecheckResultSchema>;

/** GET /api/v1/workflow/meta: the workflow's vocabulary with Chinese labels. */
export const WorkflowMetaSchema = z.object({
  states: z.array(z.object({ state: z.enum(WARNING_STATES), label: z.string() })),
  /** `from`: the states an event may happen in ('any' = every state). */
  events: z.array(z.object({ type: z.enum(EVENT_TYPES), label: z.string(), from: z.union([z.array(z.enum(WARNING_STATES)), z.literal('any')]) })),
  conclusions: z.array(z.object({ conclusion: z.enum(CONCLUSIONS), label: z.string() })),
  disposals: z.array(z.object({ action: z.enum(DISPOSAL_ACTIONS), label: z.string() })),
});
export type WorkflowMeta = z.infer<typeof WorkflowMetaSchema>;

/** POST /api/v1/workflow/sweep: warnings auto-assigned and escalated by this run. */
export const WorkflowSweepResultSchema = z.object({ assigned: z.number().int().nonnegative(), escalated: z.number().int().nonnegative() });
export type WorkflowSweepResult = z.infer<typeof WorkflowSweepResultSchema>;

// ---- backups -----------------------------------------------------------------------------------

/** One table of a backup: its rows (physical, as `count()` reads them) and bytes on disk. */
export const BackupTableSchema = z.object({ name: z.string(), rows: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() });

/**
 * A backup of the embedded store (GET/POST /api/v1/backups): a directory that is itself a store
 * the hub can open, with the pseudonym keyring and the evidence files beside it.
 */
export const BackupSchema = z.object({
  /** Directory name under the backup directory, e.g. jianguan-20261207-030000. */
  name: z.string(),
  state: z.enum(['running', 'done', 'failed']),
  /** While running: what it is doing. */
  phase: z.enum(['snapshot', 'copy', 'verify', 'done']),
  trigger: z.enum(['schedule', 'manual']),
  /** Who asked for it ('' for the schedule). */
  by: z.string(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  /** Bytes copied so far and in all (the snapshot's size). */
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
  tables: z.array(BackupTableSchema),
  /** Every table opened from the copy and counted equal to the snapshot. */
  verified: z.boolean(),
  /** Evidence files copied; whether the keyring was (without it hashes cannot be joined again). */
  evidenceFiles: z.number().int().nonnegative(),
  keyring: z.boolean(),
  /**
   * The rule state (what the stateful rules count) copied from Redis beside the store: its
   * snapshot generation, the snapshot's size and the log entries after it; null when there was
   * none to copy (nothing counted yet, JG_RULE_STATE=redis, or Redis not reachable by the command).
   * Absent in backups made before it was copied.
   */
  ruleState: z.object({ generation: z.number().int().nonnegative(), snapshotBytes: z.number().int().nonnegative(), logEntries: z.number().int().nonnegative() }).nullable().optional(),
  /** Why it failed ('' otherwise): the technical detail, in English. */
  error: z.string(),
  /**
   * The failure's kind, for the screen to say in words: no_space (the backup directory is too
   * small), stopping (the hub stopped during it), not_verified (the copy did not read back),
   * failed (anything else: the detail says what). Absent unless failed.
   */
  failure: z.enum(['no_space', 'stopping', 'not_verified', 'failed']).optional(),
});
export type Backup = z.infer<typeof BackupSchema>;

export const BackupListSchema = z.object({
  /** Where backups are written (JG_BACKUP_DIR). */
  dir: z.string(),
  /** The daily backup's local hour (China time), null when off; how many are kept. */
  hour: z.number().int().min(0).max(23).nullable(),
  keep: z.number().int().positive(),
  /** Whether this hub can make them (the embedded store); a ClickHouse server is backed up by its own means. */
  supported: z.boolean(),
  /** Newest first: the one running (if any), then the finished ones on disk, then a failure kept in memory. */
  items: z.array(BackupSchema),
});
export type BackupList = z.infer<typeof BackupListSchema>;

// ---- the work calendar -------------------------------------------------------------------------

/** Who last changed an entry of the calendar, when and why. */
const CalendarChange = {
  note: z.string(),
  /** 'system' for the built-in baseline a new store starts with. */
  updatedBy: z.string(),
  updatedAt: z.number(),
};

/** The working hours: which weekdays and which periods of the day (China time). */
export const WorkHoursViewSchema = z.object({
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  workingDays: z.array(z.number().int().min(1).max(7)),
  periods: z.array(WorkPeriodSchema),
  /**
   * Institution types with business hours of their own (an inspection station open at the
   * weekend); `observesHolidays: false` = open on public holidays too. Types not listed keep the
   * hours above.
   */
  byType: z.partialRecord(InstitutionType, TypeHoursSchema).optional(),
  ...CalendarChange,
});
export type WorkHoursView = z.infer<typeof WorkHoursViewSchema>;

/** One year's public holidays and adjusted weekend workdays (调休上班), 'YYYY-MM-DD'. */
export const CalendarYearViewSchema = z.object({
  year: z.number().int(),
  holidays: z.array(z.string()),
  extraWorkdays: z.array(z.string()),
  /** How many times the year was saved (1 = as first entered). */
  revisions: z.number().int().positive(),
  /**
   * Festivals the law fixes (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节) that the entry does
   * not make a holiday — the day counts as a working day. Empty for a complete year. Dates of the
   * lunar festivals and Qingming are computed and may be a day off.
   */
  festivalsMissing: z.array(z.object({ name: z.string(), date: z.string() })),
  ...CalendarChange,
});
export type CalendarYearView = z.infer<typeof CalendarYearViewSchema>;

/**
 * GET /api/v1/calendar: the work calendar every rule, time limit and collector's silence is
 * judged by. `missing` lists the years that need an entry and have none: the current year, and
 * from 1 November the next (the State Council publishes it then); empty when all is in place.
 */
export const WorkCalendarViewSchema = z.object({
  hours: WorkHoursViewSchema,
  years: z.array(CalendarYearViewSchema),
  /** Today in China time, 'YYYY-MM-DD'. */
  today: z.string(),
  missing: z.array(z.number().int()),
});
export type WorkCalendarView = z.infer<typeof WorkCalendarViewSchema>;

/** POST /api/v1/calendar/notice: the State Council's notice read into a year's dates (nothing saved). */
export const HolidayNoticeSchema = z.object({
  year: z.number().int().nullable(),
  holidays: z.array(z.string()),
  extraWorkdays: z.array(z.string()),
  festivals: z.array(z.object({ name: z.string(), holidays: z.array(z.string()), extraWorkdays: z.array(z.string()) })),
  /** Sentences naming a date that were neither 放假 nor 上班: shown, not guessed at. */
  unread: z.array(z.string()),
});
export type HolidayNotice = z.infer<typeof HolidayNoticeSchema>;

// ---- go-live readiness -------------------------------------------------------------------------

/**
 * What a detachment checks before switching the counters on, in the order of docs/go-live.md:
 * accounts, filings, collectors, the calendar, a replay, backups, the doors.
 *
 * - admins: a system administrator, and two registry administrators (maker-checker).
 * - auditors: every county covered by an active auditor (subjects: the counties without one).
 * - institutions: institutions filed (subjects: counties with none).
 * - places: institutions without coordinates (drawn beside their county seat on the wall).
 * - staff: active institutions with no staff filing in force now (all their business would be
 *   flagged as done by unfiled staff).
 * - lines: inspection stations without an inspection line, exam venues without an exam route.
 * - requests: registry requests filed and not yet decided (subjects: the requests, by summary) —
 *   their filings are not in force until another registry administrator approves them.
 * - collectors: institutions without an approved collector (their own or reporting for them);
 *   counts.pending: enrolments waiting for approval.
 * - collectors_silent: approved collectors not heard from for a day, or never.
 * - calendar: years without their holiday arrangement (subjects), years missing a festival.
 * - replay: backtests of the rule set in force (docs/go-live.md step 6).
 * - backups: the newest verified backup of the embedded store and the daily hour; info for a
 *   ClickHouse server, which is backed up by its own means.
 * - transport: HTTPS on the hub (JG_TLS_CERT) or a proxy in front (JG_TRUST_PROXY).
 * - wall: the wall open without a login (JG_WALL_PUBLIC) outside demo mode.
 */
export const READINESS_KEYS = ['admins', 'auditors', 'institutions', 'places', 'staff', 'lines', 'requests', 'collectors', 'collectors_silent', 'calendar', 'rules', 'replay', 'backups', 'disk', 'transport', 'wall'] as const;
export const ReadinessKey = z.enum(READINESS_KEYS);
export type ReadinessKey = z.infer<typeof ReadinessKey>;

/** ok: done; todo: must be done before going live; warn: worth a look; info: nothing to do here. */
export const ReadinessStatus = z.enum(['ok', 'todo', 'warn', 'info']);
export type ReadinessStatus = z.infer<typeof ReadinessStatus>;

/** What an item is about, by name: an institution, a county, a year, a collector. */
export const ReadinessSubjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** For an institution or a collector: the county's adcode ('' when none). */
  county: z.string(),
});
export type ReadinessSubject = z.infer<typeof ReadinessSubjectSchema>;

export const ReadinessItemSchema = z.object({
  key: ReadinessKey,
  status: ReadinessStatus,
  /** The figures the screen words the item with (named per key above). */
  counts: z.record(z.string(), z.number()),
  /** What the item is about, by name: at most `?subjects=` of them (100 by default, 10,000 at most); `total` says how many in all. */
  subjects: z.array(ReadinessSubjectSchema).max(10_000),
  total: z.number().int().nonnegative(),
});
export type ReadinessItem = z.infer<typeof ReadinessItemSchema>;

/** GET /api/v1/readiness (system administrators). */
export const ReadinessSchema = z.object({
  checkedAt: z.number(),
  /** The hub runs in demo mode (demo accounts and data): the doors' items are info then. */
  demo: z.boolean(),
  items: z.array(ReadinessItemSchema),
});
export type Readiness = z.infer<typeof ReadinessSchema>;

