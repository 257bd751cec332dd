/**
 * The hub's one configuration module: every setting, its default and its env name, validated
 * up front so a bad value stops the process with a message naming the variable.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { HubError } from './errors.js';
import { describeIssues } from './validation/issues.js';

/**
 * Collector ids prefix every record id and batch id they send (`${collectorId}:…`), so they may
 * not contain ':' (one id could otherwise be another's prefix).
 */
export const CollectorId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'collectorId: letters, digits, . _ - only');

export const CollectorCredential = z.object({
  collectorId: CollectorId,
  institutionId: z.string().min(1).max(64),
  token: z.string().min(16),
  /**
   * OPTIONAL. Other institutions this collector may report business for (a collector reading the
   * platform's sync database at the vehicle office, say). By default a collector's records must
   * name its own institution.
   */
  reportsFor: z.array(z.string().min(1).max(64)).max(10_000).optional(),
  /**
   * OPTIONAL. The collector's Ed25519 public key (base64 SPKI DER, as `jianguan-collector key`
   * prints it), bound by the administrator who writes this file. Without it, the first key the
   * collector presents waits for an administrator's approval (hub/src/collectors/service.ts).
   */
  publicKey: z.string().min(40).max(200).optional(),
});
export type CollectorCredential = z.infer<typeof CollectorCredential>;

/**
 * Redis over TCP (`redis://`, `rediss://`) or over a Unix socket (`unix:///abs/path.sock`, Redis on
 * the hub's host; access then follows the socket's file permissions). ioredis and BullMQ take a
 * socket as a bare absolute path, so that is what a `unix:` value is turned into.
 */
const RedisUrl = z
  .string()
  .refine((v) => {
    if (v.startsWith('unix://')) return /^unix:\/\/\/[^?#\s]+(\?db=\d+)?$/.test(v);
    try {
      return ['redis:', 'rediss:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'expected redis://host:port, rediss://host:port or unix:///absolute/path.sock')
  .transform((v) => (v.startsWith('unix://') ? v.slice('unix://'.length) : v));

export const HubConfigSchema = z.object({
  /** JG_PORT — HTTP + socket.io port. 0 picks a free port (tests). @defaultValue 8080 */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** JG_HOST @defaultValue 0.0.0.0 */
  host: z.string().default('0.0.0.0'),
  /**
   * JG_REDIS_URL — `redis://[:password@]host:port[/db]`, `rediss://…`, or a Unix socket on this
   * host as `unix:///run/redis/redis-server.sock[?db=N]`. Held as ioredis takes it: a socket
   * becomes its absolute path. @defaultValue redis://127.0.0.1:6379
   */
  redisUrl: RedisUrl.default('redis://127.0.0.1:6379'),
  /** JG_QUEUE_PREFIX — BullMQ prefix and rule-state key prefix; isolates tests. @defaultValue jg */
  queuePrefix: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('jg'),
  /** JG_DATA_DIR — where the embedded store keeps its files. @defaultValue .data */
  dataDir: z.string().default('.data'),
  /** JG_CLICKHOUSE_URL — a ClickHouse server; unset = embedded chDB under dataDir/chdb. */
  clickhouseUrl: z.string().url().optional(),
  /** JG_CLICKHOUSE_USER / JG_CLICKHOUSE_PASSWORD / JG_CLICKHOUSE_DB */
  clickhouseUser: z.string().default('default'),
  clickhousePassword: z.string().default(''),
  clickhouseDatabase: z.string().regex(/^[A-Za-z0-9_]+$/).default('jianguan'),
  /** JG_DASHBOARD_DIR — the built dashboard (SvelteKit static build). Unset = no UI served. */
  dashboardDir: z.string().optional(),
  /** JG_BOUNDARY_GEOJSON — county boundaries the wall should draw instead of the schematic. */
  boundaryGeojson: z.string().optional(),
  /** JG_COLLECTORS_FILE — JSON array of {collectorId, institutionId, token}. */
  collectorsFile: z.string().optional(),
  /** Collectors given directly (tests, demo); merged with the file. */
  collectors: z.array(CollectorCredential).default([]),
  /** JG_SEED_DEMO — load the demonstration registry of 河池市 when the registry is empty. */
  seedDemo: z.coerce.boolean().default(false),
  /**
   * JG_WORKER — run the evaluation worker in this process (embedded chDB requires it). A hub
   * without it takes no batches: a job's records stay with the hub that received them
   * (jobs/queue.ts), so only that hub can evaluate them.
   */
  runWorker: z.coerce.boolean().default(true),
  /**
   * JG_REPLICA_NAME — this hub's name among replicas sharing one Redis: its evaluate queue is
   * `evaluate.<name>` (jobs/queue.ts). Letters, digits, `_`, `.`, `-`; unique per replica and
   * the same across its restarts. @defaultValue `<hostname>-<port>`
   */
  /**
   * JG_RULE_STATE — where rule state (windows, intervals, fingerprints, sequences) lives.
   * `local`: in the hub thread's memory, durable in Redis as a snapshot and a log, with a lease
   * making this hub the only writer under the Redis prefix (jobs/local-state.ts). `redis`:
   * computed inside Redis by Lua scripts (jobs/rule-state.ts) — what several replicas sharing one
   * Redis prefix need.
   * @defaultValue local
   */
  ruleState: z.enum(['local', 'redis']).default('local'),
  /**
   * JG_RULE_STATE_SNAPSHOT_MB — with JG_RULE_STATE=local, the log size (MiB) from which the state
   * is written whole again (the log is then dropped); larger snapshots wait for a log as large.
   * @defaultValue 64
   */
  ruleStateSnapshotMb: z.coerce.number().min(1).max(4096).default(64),
  replicaName: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, at most 64').optional(),
  /**
   * JG_CHDB_WRITE_CONNECTIONS / JG_CHDB_READ_CONNECTIONS — embedded store only: connections to the
   * same data directory for inserts and DDL, and for queries (store/store.ts). A connection runs
   * one statement at a time; separate ones keep inserts from waiting behind aggregates.
   */
  chdbWriteConnections: z.coerce.number().int().min(1).max(8).default(2),
  chdbReadConnections: z.coerce.number().int().min(1).max(8).default(2),
  /**
   * JG_WORKER_CONCURRENCY — evaluate jobs in progress at once, per worker (hub thread or evaluation
   * thread). A job spends most of its time waiting (Redis, the insert), so more of them in flight
   * make larger insert groups: 8 → 32 gave +15 % throughput at −15 % CPU per record in the
   * pipeline bench; 64 no more than 32. @defaultValue 32
   */
  workerConcurrency: z.coerce.number().int().min(1).max(256).default(32),
  /**
   * JG_EVALUATION_THREADS — worker threads that evaluate batches (jobs/eval-threads.ts), leaving
   * the hub thread to the network, the store and the API. 0 = evaluate in the hub thread.
   * @defaultValue one fewer than the cores, at most 4 (1 on two cores, 0 on one)
   */
  evaluationThreads: z.coerce.number().int().min(0).max(16).default(Math.max(0, Math.min(4, os.availableParallelism() - 1))),
  /**
   * JG_EVALUATION_MODE — which thread evaluates a batch when there are evaluation threads.
   * `overflow`: the hub thread, and the evaluation threads only while it is busy and a core is
   * idle (jobs/overflow.ts) — a job in a thread costs about a sixth more CPU (its records, rule
   * state calls and rows cross between threads). `threads`: the evaluation threads, always.
   * @defaultValue overflow
   */
  evaluationMode: z.enum(['overflow', 'threads']).default('overflow'),
  /** JG_ACK_TIMEOUT_MS — how long ingest waits for a batch to be stored before telling the collector to retry. */
  ackTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  /**
   * JG_WALL_FLUSH_MS — the wall broadcaster's throttle: a committed batch's warnings go out at
   * once unless an emit happened within this interval (then with the next one). At 1,000/s about
   * 17 batches a second carry warnings, so many of them met a busy interval: 20 instead of 50 ms
   * took 20–30 ms off capture → wall at p50 for no measurable CPU (docs/benchmarks.md).
   * @defaultValue 20
   */
  wallFlushMs: z.coerce.number().int().min(20).default(20),
  /**
   * JG_WALL_LIVE_MAX_AGE_MS — warnings about business older than this (a replayed past week, a
   * long backlog) are stored and worked but not pushed to the wall as live. Three days, so that
   * Monday morning's first business after a weekend still counts as live while a replayed past
   * week does not. @defaultValue 259200000 (72 h)
   */
  wallLiveMaxAgeMs: z.coerce.number().int().min(60_000).default(72 * 3_600_000),
  /** JG_STATS_INTERVAL_MS — how often county counters are recomputed when data changed. */
  statsIntervalMs: z.coerce.number().int().min(100).default(1000),
  /** JG_SLOW_QUERY_MS — store statements slower than this are logged (store.slow). @defaultValue 1000 */
  slowQueryMs: z.coerce.number().int().min(1).default(1000),
  /** JG_LOG_LEVEL @defaultValue info */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** JG_COLLECTOR_SILENT_MIN — working minutes without any sign of a collector before collector.silent. @defaultValue 30 */
  collectorSilentMinutes: z.coerce.number().int().min(1).default(30),
  /** JG_ENROL_MAX_PENDING — collectors waiting for approval, in all; more enrolments get ENROL_LIMIT (429). @defaultValue 200 */
  enrolMaxPending: z.coerce.number().int().min(1).default(200),
  /** JG_ENROL_MAX_PENDING_PER_INSTITUTION — the same cap per institution. @defaultValue 20 */
  enrolMaxPendingPerInstitution: z.coerce.number().int().min(1).default(20),
  /** JG_ENROL_PER_ADDRESS — new enrolments accepted from one network address per JG_ENROL_WINDOW_S; more get ENROL_RATE_LIMITED (429). @defaultValue 10 */
  enrolPerAddress: z.coerce.number().int().min(1).default(10),
  /** JG_ENROL_WINDOW_S @defaultValue 3600 */
  enrolWindowS: z.coerce.number().int().min(1).default(3600),
  /** JG_HELD_QUOTA_BYTES — batches a pending (not yet approved) collector may have held, in bytes; more are refused as retryable (HELD_QUOTA). @defaultValue 4194304 (4 MiB) */
  heldQuotaBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  /** JG_TAMPER_INTERVAL_S — at most one collector.tamper warning per collector per interval (refusals still happen each time). @defaultValue 600 */
  tamperIntervalS: z.coerce.number().int().min(1).default(600),
  /** JG_MAX_RECORD_AGE_DAYS — oldest capturedAt accepted (a record captured longer ago is dead-lettered). @defaultValue 400 */
  maxRecordAgeDays: z.coerce.number().int().min(1).max(3650).default(400),
  /** JG_MAX_FUTURE_SKEW_S — how far ahead of the hub's clock a record's times may be. @defaultValue 86400 */
  maxFutureSkewS: z.coerce.number().int().min(0).default(86_400),
  /** JG_COLLECTOR_CHECK_MS — how often collector silence is checked and last-seen times are saved. @defaultValue 60000 */
  collectorCheckIntervalMs: z.coerce.number().int().min(100).default(60_000),
  /**
   * JG_PRESENCE_REFRESH_MS — how often a replica publishes its connected collectors to the other
   * replicas and reads theirs (collectors/cluster-presence.ts; an entry lapses after three
   * periods without a refresh). @defaultValue 5000
   */
  presenceRefreshMs: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * Test-only faults, never read from the environment. `dropAckAfterStore: n` — for the first n
   * batches, store everything, then drop the connection instead of acknowledging (the hub
   * "dies" between the store commit and the ack).
   */
  faultInjection: z
    .object({
      dropAckAfterStore: z.number().int().min(0).optional(),
      /** Record ids the store "refuses" (a non-transient insert error), to exercise batch splitting. */
      refuseTransactionIds: z.array(z.string()).optional(),
    })
    .optional(),
  // ---- doors (hub/src/tls.ts, hub/src/auth/, docs/security.md) ----------------------------------
  /**
   * JG_WALL_PUBLIC — DEMO ONLY: the /wall namespace needs no login. Refused unless the hub binds a
   * loopback address. Otherwise a wall screen needs a wall_viewer (or other) login or a kiosk
   * token issued by a system administrator. @defaultValue false
   */
  wallPublic: z.coerce.boolean().default(false),
  /** JG_SESSION_TTL_S — idle lifetime of a login session, renewed on use. @defaultValue 28800 (8 h) */
  sessionTtlS: z.coerce.number().int().min(60).default(28_800),
  /** JG_SESSION_MAX_S — absolute lifetime of a login session, however active. @defaultValue 43200 (12 h) */
  sessionMaxS: z.coerce.number().int().min(10).default(43_200),
  /** JG_TLS_CERT — PEM certificate (chain) file; with JG_TLS_KEY the hub serves HTTPS/WSS only. Reloaded on SIGHUP and on change. */
  tlsCert: z.string().optional(),
  /** JG_TLS_KEY — PEM private key file of JG_TLS_CERT. */
  tlsKey: z.string().optional(),
  /** JG_TRUST_PROXY — false | true | hop count | comma-separated proxy addresses/CIDRs (see tls.ts). @defaultValue false */
  trustProxy: z.string().default('false'),
  /** JG_DEMO_ALLOW_REMOTE — allow demo mode (JG_SEED_DEMO) on a non-loopback bind. @defaultValue false */
  demoAllowRemote: z.coerce.boolean().default(false),
  /** JG_METRICS_TOKEN — /metrics requires `Authorization: Bearer <token>`; unset = loopback callers only. */
  metricsToken: z.string().min(24).optional(),
  /** JG_DOCS_PUBLIC — serve /docs without login (demo, development). @defaultValue false */
  docsPublic: z.coerce.boolean().default(false),
  /** JG_ALLOWED_ORIGINS — extra origins (comma-separated, e.g. https://jianguan.example) allowed to send cookie-authenticated writes besides the hub's own. */
  allowedOrigins: z.string().default(''),
  /** JG_LOGIN_RATE_PER_MIN — login requests per address per minute (@fastify/rate-limit, Redis). @defaultValue 30 */
  loginRatePerMin: z.coerce.number().int().min(1).default(30),
  /** JG_LOGIN_FAILS_PER_ADDRESS — failed logins per address per window, any user names. @defaultValue 50 */
  loginFailsPerAddress: z.coerce.number().int().min(1).default(50),
  /** JG_LOGIN_FAILS_PER_USER — failed logins per address and user name per window. @defaultValue 8 */
  loginFailsPerUser: z.coerce.number().int().min(1).default(8),
  /** JG_LOGIN_WINDOW_S @defaultValue 900 */
  loginWindowS: z.coerce.number().int().min(1).default(900),
  /** JG_WALL_CONN_PER_ADDRESS — open /wall connections per client address. @defaultValue 20 */
  wallConnPerAddress: z.coerce.number().int().min(1).default(20),
  /**
   * JG_REQUEST_TIMEOUT_S — a request (headers and body) must arrive whole within this, else 408
   * and the connection closed: a body trickled a byte at a time holds nothing for long. Long
   * enough for the largest import over a slow line. @defaultValue 300
   */
  requestTimeoutS: z.coerce.number().int().min(1).max(3600).default(300),
  /**
   * JG_CONN_PER_ADDRESS — open TCP connections per peer address (http/connections.ts); 0 = no
   * limit. @defaultValue 256, or 0 when JG_TRUST_PROXY is set (every connection then comes from
   * the proxy, which limits per client)
   */
  connPerAddress: z.coerce.number().int().min(0).optional(),
  /** JG_MAX_CONNECTIONS — open TCP connections in all. @defaultValue half the process's open-file limit */
  maxConnections: z.coerce.number().int().min(1).optional(),
  /**
   * JG_STOP_DEADLINE_S — how long a stop waits for everything to close before it closes the store
   * and exits 1 (server.ts): above JG_ACK_TIMEOUT_MS, so a job in flight may finish, and with the
   * store's 5 s below the service manager's stop timeout (60 s in the shipped unit). @defaultValue 40
   */
  stopDeadlineS: z.coerce.number().int().min(1).max(600).default(40),
  /**
   * JG_COLLECTOR_KEYS — 'required': every collector proves its bound Ed25519 key at the handshake
   * and signs its batches; a token alone is refused. 'optional': a static collector with no key
   * bound may still connect with its token alone (migration of old installations only).
   * @defaultValue required
   */
  collectorKeys: z.enum(['required', 'optional']).default('required'),
  /** JG_PSEUDONYM_SECRET_FILE — the hub's pseudonym keyring (JSON, see hub/src/pseudonyms.ts). */
  pseudonymSecretFile: z.string().optional(),
  /** The keyring given directly (tests); takes precedence over the file. */
  pseudonymSecrets: z.unknown().optional(),
  /**
   * JG_PSEUDONYM_KEY — OPTIONAL. The collectors' pseudonym key (the same value every counter PC
   * of the detachment has). Only the registry uses it: a staff member or a person list entry filed
   * with a raw identity number is hashed as a collector would hash it, then the hub layer is
   * applied (pseudonyms.ts). Without it the registry accepts collector-form hashes only.
   */
  collectorPseudonymKey: z.string().min(16).optional(),
  /** JG_EVIDENCE_MAX_BYTES — largest evidence attachment accepted. @defaultValue 10485760 (10 MiB) */
  evidenceMaxBytes: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /** JG_IMPORT_MAX_BYTES — largest registry import file (CSV or XLSX as uploaded). @defaultValue 20971520 (20 MiB) */
  importMaxBytes: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),
  /** JG_IMPORT_MAX_UNZIPPED_BYTES — an XLSX is a zip: the most all its parts may inflate to (zip-bomb guard). @defaultValue 134217728 (128 MiB) */
  importMaxUnzippedBytes: z.coerce.number().int().min(1024).default(128 * 1024 * 1024),
  /** JG_IMPORT_MAX_ROWS — data rows (header excluded) in one import. @defaultValue 50000 */
  importMaxRows: z.coerce.number().int().min(1).max(1_048_575).default(50_000),
  /** JG_IMPORT_MAX_COLUMNS — columns in one import (the widest registry entity has about 15). @defaultValue 64 */
  importMaxColumns: z.coerce.number().int().min(1).max(16_384).default(64),
  /** JG_IMPORT_MAX_CELL_CHARS — characters in one imported cell. @defaultValue 2000 */
  importMaxCellChars: z.coerce.number().int().min(1).default(2_000),
  /** JG_EXPORT_MAX_XLSX_CELLS — rows × columns above which an XLSX export is refused (EXPORT_TOO_LARGE); CSV has no such cap. @defaultValue 3000000 */
  exportMaxXlsxCells: z.coerce.number().int().min(1).default(3_000_000),
  /** JG_TABLE_JOBS_PER_USER — imports and exports one user may have in flight; more get TOO_MANY_JOBS (429). @defaultValue 2 */
  tableJobsPerUser: z.coerce.number().int().min(1).default(2),
  /** JG_TABLE_JOBS_TOTAL — the same cap for the whole hub. @defaultValue 8 */
  tableJobsTotal: z.coerce.number().int().min(1).default(8),
  /** JG_TABLE_WORKERS — worker threads that parse and build XLSX/CSV files, started on first use. @defaultValue 1 */
  tableWorkers: z.coerce.number().int().min(1).max(16).default(1),
  /** JG_BACKUP_DIR — where backups of the embedded store are written; best on another disk. @defaultValue <JG_DATA_DIR>/backups */
  backupDir: z.string().default(''),
  /** JG_BACKUP_HOUR — the daily backup's hour, China time (0–23); -1 = no daily backup. @defaultValue 3 */
  backupHour: z.coerce.number().int().min(-1).max(23).default(3),
  /** JG_BACKUP_KEEP — backups kept; the oldest beyond this are deleted after a backup succeeds. @defaultValue 7 */
  backupKeep: z.coerce.number().int().min(1).max(365).default(7),
  /**
   * JG_DISK_LOW_BYTES — below this many free bytes on the disk of JG_DATA_DIR (the embedded
   * store, evidence, backups by default) /healthz says `disk.status: low`, the hub logs disk.low
   * (once an hour while it lasts) and monitoring sees jg_data_disk_free_bytes fall. Not an outage
   * by itself; a full disk is: inserts fail and collectors keep their records until there is room.
   * @defaultValue 2147483648 (2 GiB)
   */
  diskLowBytes: z.coerce.number().int().min(0).default(2 * 1024 ** 3),
  /** JG_WORKFLOW_INTERVAL_MS — how often unassigned warnings are assigned and deadlines checked. @defaultValue 30000 */
  workflowIntervalMs: z.coerce.number().int().min(100).default(30_000),
  /** JG_SLA_HIGH_ACK_MIN — working minutes to acknowledge a high-severity warning. @defaultValue 60 */
  slaHighAckMinutes: z.coerce.number().int().min(1).default(60),
  /** JG_SLA_HIGH_VERIFY_MIN — working minutes to conclude a high-severity warning (1 working day). @defaultValue 600 */
  slaHighVerifyMinutes: z.coerce.number().int().min(1).default(600),
  /** JG_SLA_VERIFY_MIN — working minutes to conclude other warnings (3 working days). @defaultValue 1800 */
  slaVerifyMinutes: z.coerce.number().int().min(1).default(1800),
  /** JG_EVALUATION_INTERVAL_MS — how often institution scores are re-materialised. @defaultValue 300000 */
  evaluationIntervalMs: z.coerce.number().int().min(100).default(300_000),
  /** JG_EVALUATION_FILE — JSON overrides of the evaluation weights (per institution type), grades and veto rules. */
  evaluationFile: z.string().optional(),
  /** JG_RULESET_POLL_MS — how often each hub re-reads the released rule sets (also on a Redis signal). @defaultValue 5000 */
  ruleSetPollMs: z.coerce.number().int().min(50).default(5_000),
  /** JG_RULESET_MAX_TOTAL_CHANGE — backtest change of total warnings (fraction) above which approval needs an override. @defaultValue 0.2 */
  ruleSetMaxTotalChange: z.coerce.number().min(0).default(0.2),
  /** JG_RULESET_MAX_RULE_CHANGE — warnings added + removed for any one rule above which approval needs an override. @defaultValue 50 */
  ruleSetMaxRuleChange: z.coerce.number().int().min(0).default(50),
  /** JG_RULESET_REQUIRE_BACKTEST — approving a draft without a finished backtest needs an override. @defaultValue true */
  ruleSetRequireBacktest: z.coerce.boolean().default(true),
  /** JG_BACKTEST_PAGE — transactions read from the store per page in backtests and peer jobs. @defaultValue 2000 */
  backtestPageSize: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /** JG_BACKTEST_EXAMPLES — examples kept per rule and per institution in a backtest diff. @defaultValue 5 */
  backtestExamples: z.coerce.number().int().min(0).max(100).default(5),
  /** JG_PEER_CRON — schedule of the peer-deviation job (cron with seconds, Asia/Shanghai); 'off' = not scheduled. @defaultValue 0 30 2 * * * */
  peerCron: z.string().default('0 30 2 * * *'),
  /**
   * JG_STORE_LINGER_MS — how the store writer (hub/src/store/writer.ts) gathers the inserts of
   * concurrently finishing jobs into one per table: 0 = group commit (an idle table is written at
   * once; what arrives during an insert goes together right after it); n > 0 = the first caller
   * of a group also waits n ms for others. @defaultValue 0
   */
  storeLingerMs: z.coerce.number().int().min(0).max(1_000).default(0),
  /**
   * JG_STORE_INSERT_INTERVAL_MS — the store writer starts at most one insert per table per this
   * many ms (group commit, spaced: every insert costs the engine a fixed few ms of CPU, whatever
   * its size). An idle table is still written at once. 0 = inserts back to back. Under a steady
   * moderate load a longer spacing means fewer, larger parts: at 1,000/s, 60 instead of 25 ms took
   * about a sixth of the hub's CPU per record off with the wall and hold tails no longer
   * (docs/benchmarks.md). @defaultValue 60
   */
  storeInsertIntervalMs: z.coerce.number().int().min(0).max(1_000).default(60),
  /**
   * JG_STORE_BUSY_INTERVAL_MS / JG_STORE_BUSY_ROWS — the spacing of a table whose last insert
   * carried at least JG_STORE_BUSY_ROWS rows (thousands of records a second): fewer, larger parts
   * when CPU is what limits the hub. @defaultValue 150 / 250
   */
  storeBusyIntervalMs: z.coerce.number().int().min(0).max(2_000).default(150),
  storeBusyRows: z.coerce.number().int().min(1).default(250),
  /**
   * JG_MAIN_THREAD_NICE — the hub thread's nice value (Linux; the process's other threads keep
   * theirs): the thread that answers hold decisions and acknowledgements goes ahead of the
   * engine's and the evaluation's threads. Negative values need CAP_SYS_NICE or the unit's
   * `LimitNICE`; without, the hub logs it and runs as before. 0 = leave it. @defaultValue -10
   */
  mainThreadNice: z.coerce.number().int().min(-20).max(0).default(-10),
  /** JG_DECISION_FLUSH_MS — decisions are logged in batches at most this long after the answer. @defaultValue 200 */
  decisionFlushMs: z.coerce.number().int().min(10).default(200),
});
export type HubConfig = z.infer<typeof HubConfigSchema>;

const ENV: Record<string, keyof HubConfig> = {
  JG_PORT: 'port',
  JG_HOST: 'host',
  JG_REDIS_URL: 'redisUrl',
  JG_QUEUE_PREFIX: 'queuePrefix',
  JG_DATA_DIR: 'dataDir',
  JG_CLICKHOUSE_URL: 'clickhouseUrl',
  JG_CLICKHOUSE_USER: 'clickhouseUser',
  JG_CLICKHOUSE_PASSWORD: 'clickhousePassword',
  JG_CLICKHOUSE_DB: 'clickhouseDatabase',
  JG_DASHBOARD_DIR: 'dashboardDir',
  JG_BOUNDARY_GEOJSON: 'boundaryGeojson',
  JG_COLLECTORS_FILE: 'collectorsFile',
  JG_SEED_DEMO: 'seedDemo',
  JG_WORKER: 'runWorker',
  JG_WORKER_CONCURRENCY: 'workerConcurrency',
  JG_REPLICA_NAME: 'replicaName',
  JG_RULE_STATE: 'ruleState',
  JG_RULE_STATE_SNAPSHOT_MB: 'ruleStateSnapshotMb',
  JG_CHDB_WRITE_CONNECTIONS: 'chdbWriteConnections',
  JG_CHDB_READ_CONNECTIONS: 'chdbReadConnections',
  JG_EVALUATION_THREADS: 'evaluationThreads',
  JG_EVALUATION_MODE: 'evaluationMode',
  JG_ACK_TIMEOUT_MS: 'ackTimeoutMs',
  JG_WALL_FLUSH_MS: 'wallFlushMs',
  JG_WALL_LIVE_MAX_AGE_MS: 'wallLiveMaxAgeMs',
  JG_STATS_INTERVAL_MS: 'statsIntervalMs',
  JG_LOG_LEVEL: 'logLevel',
  JG_SLOW_QUERY_MS: 'slowQueryMs',
  JG_COLLECTOR_SILENT_MIN: 'collectorSilentMinutes',
  JG_ENROL_MAX_PENDING: 'enrolMaxPending',
  JG_ENROL_MAX_PENDING_PER_INSTITUTION: 'enrolMaxPendingPerInstitution',
  JG_COLLECTOR_CHECK_MS: 'collectorCheckIntervalMs',
  JG_PRESENCE_REFRESH_MS: 'presenceRefreshMs',
  JG_ENROL_PER_ADDRESS: 'enrolPerAddress',
  JG_ENROL_WINDOW_S: 'enrolWindowS',
  JG_HELD_QUOTA_BYTES: 'heldQuotaBytes',
  JG_TAMPER_INTERVAL_S: 'tamperIntervalS',
  JG_MAX_RECORD_AGE_DAYS: 'maxRecordAgeDays',
  JG_MAX_FUTURE_SKEW_S: 'maxFutureSkewS',
  JG_WALL_PUBLIC: 'wallPublic',
  JG_SESSION_TTL_S: 'sessionTtlS',
  JG_SESSION_MAX_S: 'sessionMaxS',
  JG_TLS_CERT: 'tlsCert',
  JG_TLS_KEY: 'tlsKey',
  JG_TRUST_PROXY: 'trustProxy',
  JG_DEMO_ALLOW_REMOTE: 'demoAllowRemote',
  JG_METRICS_TOKEN: 'metricsToken',
  JG_DOCS_PUBLIC: 'docsPublic',
  JG_ALLOWED_ORIGINS: 'allowedOrigins',
  JG_LOGIN_RATE_PER_MIN: 'loginRatePerMin',
  JG_LOGIN_FAILS_PER_ADDRESS: 'loginFailsPerAddress',
  JG_LOGIN_FAILS_PER_USER: 'loginFailsPerUser',
  JG_LOGIN_WINDOW_S: 'loginWindowS',
  JG_WALL_CONN_PER_ADDRESS: 'wallConnPerAddress',
  JG_REQUEST_TIMEOUT_S: 'requestTimeoutS',
  JG_CONN_PER_ADDRESS: 'connPerAddress',
  JG_MAX_CONNECTIONS: 'maxConnections',
  JG_STOP_DEADLINE_S: 'stopDeadlineS',
  JG_COLLECTOR_KEYS: 'collectorKeys',
  JG_PSEUDONYM_SECRET_FILE: 'pseudonymSecretFile',
  JG_PSEUDONYM_KEY: 'collectorPseudonymKey',
  JG_EVIDENCE_MAX_BYTES: 'evidenceMaxBytes',
  JG_IMPORT_MAX_BYTES: 'importMaxBytes',
  JG_IMPORT_MAX_UNZIPPED_BYTES: 'importMaxUnzippedBytes',
  JG_IMPORT_MAX_ROWS: 'importMaxRows',
  JG_IMPORT_MAX_COLUMNS: 'importMaxColumns',
  JG_IMPORT_MAX_CELL_CHARS: 'importMaxCellChars',
  JG_EXPORT_MAX_XLSX_CELLS: 'exportMaxXlsxCells',
  JG_TABLE_JOBS_PER_USER: 'tableJobsPerUser',
  JG_TABLE_JOBS_TOTAL: 'tableJobsTotal',
  JG_TABLE_WORKERS: 'tableWorkers',
  JG_BACKUP_DIR: 'backupDir',
  JG_BACKUP_HOUR: 'backupHour',
  JG_BACKUP_KEEP: 'backupKeep',
  JG_DISK_LOW_BYTES: 'diskLowBytes',
  JG_WORKFLOW_INTERVAL_MS: 'workflowIntervalMs',
  JG_SLA_HIGH_ACK_MIN: 'slaHighAckMinutes',
  JG_SLA_HIGH_VERIFY_MIN: 'slaHighVerifyMinutes',
  JG_SLA_VERIFY_MIN: 'slaVerifyMinutes',
  JG_EVALUATION_INTERVAL_MS: 'evaluationIntervalMs',
  JG_EVALUATION_FILE: 'evaluationFile',
  JG_RULESET_POLL_MS: 'ruleSetPollMs',
  JG_RULESET_MAX_TOTAL_CHANGE: 'ruleSetMaxTotalChange',
  JG_RULESET_MAX_RULE_CHANGE: 'ruleSetMaxRuleChange',
  JG_RULESET_REQUIRE_BACKTEST: 'ruleSetRequireBacktest',
  JG_BACKTEST_PAGE: 'backtestPageSize',
  JG_BACKTEST_EXAMPLES: 'backtestExamples',
  JG_PEER_CRON: 'peerCron',
  JG_DECISION_FLUSH_MS: 'decisionFlushMs',
  JG_STORE_LINGER_MS: 'storeLingerMs',
  JG_STORE_INSERT_INTERVAL_MS: 'storeInsertIntervalMs',
  JG_STORE_BUSY_INTERVAL_MS: 'storeBusyIntervalMs',
  JG_STORE_BUSY_ROWS: 'storeBusyRows',
  JG_MAIN_THREAD_NICE: 'mainThreadNice',
};

const BOOL_KEYS = new Set<keyof HubConfig>(['seedDemo', 'runWorker', 'wallPublic', 'ruleSetRequireBacktest', 'demoAllowRemote', 'docsPublic']);

/** Reads JG_* variables, applies overrides, validates. Throws CONFIG_INVALID naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<HubConfig> = {}): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[key] = BOOL_KEYS.has(key) ? ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()) : v;
  }
  Object.assign(raw, overrides);
  const parsed = HubConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(ENV).map(([n, k]) => [k, n]));
    // Every issue of a bad configuration, named by its environment variable.
    const name = (p: readonly PropertyKey[]): string => {
      const key = String(p[0]);
      return byKey[key] ?? key;
    };
    throw new HubError('CONFIG_INVALID', describeIssues(parsed.error, { max: 100, name }));
  }
  const cfg = parsed.data;
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined)) throw new HubError('CONFIG_INVALID', 'JG_TLS_CERT and JG_TLS_KEY go together');
  cfg.dataDir = path.resolve(cfg.dataDir);
  cfg.backupDir = path.resolve(cfg.backupDir || path.join(cfg.dataDir, 'backups'));
  if (cfg.dashboardDir) cfg.dashboardDir = path.resolve(cfg.dashboardDir);
  return cfg;
}
