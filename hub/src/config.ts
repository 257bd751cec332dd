/**
 * The hub's one configuration module: every setting, its default and its env name, validated
 * up front so a bad value stops the process with a message naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { HubError } from './errors.js';

export const CollectorCredential = z.object({
  collectorId: z.string().min(1).max(64),
  institutionId: z.string().min(1).max(64),
  token: z.string().min(16),
});
export type CollectorCredential = z.infer<typeof CollectorCredential>;

export const HubConfigSchema = z.object({
  /** JG_PORT — HTTP + socket.io port. 0 picks a free port (tests). @defaultValue 8080 */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** JG_HOST @defaultValue 0.0.0.0 */
  host: z.string().default('0.0.0.0'),
  /** JG_REDIS_URL @defaultValue redis://127.0.0.1:6379 */
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
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
  /** JG_WORKER — run the evaluation worker in this process (embedded chDB requires it). */
  runWorker: z.coerce.boolean().default(true),
  /** JG_WORKER_CONCURRENCY @defaultValue 8 */
  workerConcurrency: z.coerce.number().int().min(1).max(256).default(8),
  /** JG_ACK_TIMEOUT_MS — how long ingest waits for a batch to be stored before telling the collector to retry. */
  ackTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  /** JG_WALL_FLUSH_MS — the wall broadcaster's batching interval. @defaultValue 250 */
  wallFlushMs: z.coerce.number().int().min(20).default(250),
  /** JG_STATS_INTERVAL_MS — how often county counters are recomputed when data changed. */
  statsIntervalMs: z.coerce.number().int().min(100).default(1000),
  /** JG_LOG_LEVEL @defaultValue info */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
  JG_ACK_TIMEOUT_MS: 'ackTimeoutMs',
  JG_WALL_FLUSH_MS: 'wallFlushMs',
  JG_STATS_INTERVAL_MS: 'statsIntervalMs',
  JG_LOG_LEVEL: 'logLevel',
};

const BOOL_KEYS = new Set<keyof HubConfig>(['seedDemo', 'runWorker']);

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
    const detail = parsed.error.issues
      .map((i) => {
        const key = String(i.path[0] ?? '');
        return `${byKey[key] ?? key}: ${i.message}`;
      })
      .join('; ');
    throw new HubError('CONFIG_INVALID', detail);
  }
  const cfg = parsed.data;
  cfg.dataDir = path.resolve(cfg.dataDir);
  if (cfg.dashboardDir) cfg.dashboardDir = path.resolve(cfg.dashboardDir);
  return cfg;
}
