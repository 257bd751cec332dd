/**
 * The collector's one configuration module: every setting, its default and its env name,
 * validated up front so a bad value stops the collector with a message naming the field.
 *
 * Sources, in increasing precedence: schema defaults < `--config file.json` < JG_* environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CollectorError } from './errors.js';
import { applySources, resolveSourcePaths, sourceListIssues, SourcesConfigSchema } from './sources/source-config.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const BatchConfigSchema = z.object({
  /** Records per batch. The hub accepts at most 5000. @defaultValue 200 */
  maxRecords: z.number().int().min(1).max(5000).default(200),
  /** Serialized record bytes per batch (socket.io's default maxHttpBufferSize is 1e6). @defaultValue 512 KiB */
  maxBytes: z.number().int().min(1024).max(64 * MiB).default(512 * KiB),
  /**
   * How long a partial batch waits for the next record before it is sent (it goes as soon as that
   * record arrives, or at the end of the wait). Short on purpose: a counter captures a record every
   * few minutes, so most batches are one record and every millisecond here is a millisecond
   * before the wall sees it; under load the batches grow anyway, from what is captured while the
   * previous batch is in flight (one batch at a time). 50 ms until 2026-12-04: 10 took 40 ms off
   * capture → stored at 20 records/s and did not cost the hub at 1,000/s (docs/benchmarks.md).
   * @defaultValue 10
   */
  lingerMs: z.number().int().min(0).max(60_000).default(10),
});

export const BackoffConfigSchema = z
  .object({
    /** First retry delay and floor of every delay. @defaultValue 250 */
    minMs: z.number().int().min(1).default(250),
    /** Ceiling of the exponential backoff; non-retryable failures retry at this pace. @defaultValue 30000 */
    maxMs: z.number().int().min(1).default(30_000),
  })
  .refine((b) => b.maxMs >= b.minMs, { message: 'maxMs must be >= minMs', path: ['maxMs'] });

export const OutboxConfigSchema = z.object({
  /** Bound on the outbox's disk usage; appends beyond it fail with OUTBOX_FULL. @defaultValue 1 GiB */
  maxBytes: z.number().int().min(64 * KiB).default(GiB),
  /** Segment files roll at this size. @defaultValue 8 MiB */
  segmentBytes: z.number().int().min(4 * KiB).default(8 * MiB),
  /** 'always': fsync every append batch and every ack ledger write. 'never': leave it to the OS. @defaultValue 'always' */
  fsync: z.enum(['always', 'never']).default('always'),
  /**
   * Free space kept on the outbox's disk (JG_OUTBOX_RESERVE_BYTES): records that would leave less
   * are refused with OUTBOX_FULL (the sources hold them, the HTTP endpoint answers 507) while the
   * backlog drains. The reserve is what the state files written on the way out — chain.json before
   * every batch, ack.json before any segment is deleted, metrics, source cursors — are written
   * into: with the disk full to the last block the collector could neither send nor free anything.
   * 0 turns the check off (only where free space cannot be read). @defaultValue 32 MiB
   */
  reserveBytes: z.number().int().min(0).default(32 * MiB),
  /**
   * Part of the reserve kept as the file spare.bin in the outbox directory
   * (JG_OUTBOX_SPARE_BYTES; at most half the reserve): when another program fills the disk to the
   * last block, a state write that fails deletes it and goes on, so the backlog still drains; it
   * is written again once the disk has room. 0: no spare file. @defaultValue 1 MiB
   */
  spareBytes: z.number().int().min(0).default(MiB),
});

export const SimulatorConfigSchema = z.object({
  /** Run the built-in simulator source. @defaultValue true */
  enabled: z.boolean().default(true),
  /** Transactions per second (JG_SIM_RATE). @defaultValue 2 */
  ratePerSec: z.number().positive().max(100_000).default(2),
  /** Probability per generated record of starting an injected anomaly (JG_SIM_ANOMALY_RATE). @defaultValue 0.05 */
  anomalyRate: z.number().min(0).max(1).default(0.05),
  /** Probability per generated record of emitting a record that fails validation (JG_SIM_MALFORMED_RATE). @defaultValue 0 */
  malformedRate: z.number().min(0).max(1).default(0),
  /** Stop after this many records (JG_SIM_MAX_RECORDS); unset = run forever. */
  maxRecords: z.number().int().positive().optional(),
  /** PRNG seed for reproducible content (JG_SIM_SEED); unset = random. */
  seed: z.union([z.string().min(1), z.number()]).optional(),
  /** Append every injected anomaly as a JSON line here (JG_SIM_INJECTED_LOG). */
  injectedLogPath: z.string().min(1).optional(),
  /** Institution type, needed only when institutionId is not in the demonstration registry. */
  institutionType: z
    .enum([
      'vehicle_office',
      'vehicle_office_branch',
      'registration_station',
      'dealer',
      'inspection_station',
      'driving_school',
      'exam_venue',
      'hospital',
      'post_office',
    ])
    .optional(),
});

/** https anywhere; http only to the machine itself. */
export function hubUrlAllowed(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  if (u.protocol !== 'http:') return false;
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export const CollectorConfigSchema = z
  .object({
    /** Unique collector id, also the prefix of every transaction id (JG_COLLECTOR_ID). */
    collectorId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._-]+$/, 'collectorId may contain letters, digits, . _ - only'),
    /**
     * Static credential the hub checks on connect (JG_COLLECTOR_TOKEN). Unset = enrolment mode:
     * the collector asks to be filed with its key and stays pending until an administrator
     * approves it (its batches are held by the hub meanwhile).
     */
    token: z.string().min(16, 'token must be at least 16 characters').max(256).optional(),
    /** The counter / lane / window this collector sits at, named when enrolling (JG_COUNTER). @defaultValue '' */
    counter: z.string().max(64).default(''),
    /**
     * Base URL of the hub (JG_HUB_URL). https:// (the link is then wss://); plain http:// only to
     * a loopback address (a hub on the same machine), since the link carries the collector's
     * token and every record. @defaultValue https://127.0.0.1:8443
     */
    hubUrl: z
      .string()
      .url()
      .default('https://127.0.0.1:8443')
      .refine(hubUrlAllowed, 'hubUrl must be https:// (plain http:// only to 127.0.0.1, ::1 or localhost)'),
    /**
     * PEM file with the CA certificate(s) that signed the hub's certificate (JG_HUB_CA). When set,
     * it is the only trust anchor of the link (the system store is not consulted), so a
     * certificate from any other CA — a proxy on the office network, a mis-issued public one — is
     * refused. Unset = the system trust store.
     */
    hubCa: z.string().min(1).optional(),
    /** The institution this collector sits in (JG_INSTITUTION_ID). */
    institutionId: z.string().min(1).max(64),
    /**
     * Further institutions whose records this collector may send through its local HTTP endpoint
     * (JG_REPORTS_FOR, comma-separated), e.g. a branch office served from the same counter. The
     * endpoint refuses records naming any other institution than these, `institutionId` and the
     * institutions its own `adapterOptions` name. @defaultValue []
     */
    reportsFor: z.array(z.string().min(1).max(64)).max(256).default([]),
    /** Outbox directory (JG_OUTBOX_DIR). @defaultValue .data/collectors/<collectorId> */
    outboxDir: z.string().min(1).optional(),
    /** Keyed-hash secret for identity numbers (JG_PSEUDONYM_KEY). Every collector of a deployment shares it. */
    pseudonymKey: z.string().min(16, 'pseudonymKey must be at least 16 characters'),
    batch: BatchConfigSchema.default(BatchConfigSchema.parse({})),
    /**
     * How long to wait for the hub's acknowledgement of one batch (JG_ACK_TIMEOUT_MS). Longer than
     * the hub's own store timeout (30 s), so the hub's "retry" answer normally arrives first.
     * @defaultValue 45000
     */
    ackTimeoutMs: z.number().int().min(50).default(45_000),
    backoff: BackoffConfigSchema.default(BackoffConfigSchema.parse({})),
    outbox: OutboxConfigSchema.default(OutboxConfigSchema.parse({})),
    simulator: SimulatorConfigSchema.default(SimulatorConfigSchema.parse({})),
    /**
     * The sources to run (JG_SOURCES, a JSON array): simulator, file tail, drop folder, local HTTP
     * endpoint (sources/source-config.ts). Unset = the simulator alone, as `simulator.enabled` says.
     */
    sources: SourcesConfigSchema.optional(),
  })
  .superRefine((c, ctx) => {
    for (const i of sourceListIssues(c.sources)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  })
  .transform((c) => ({ ...c, ...applySources(c), outboxDir: path.resolve(c.outboxDir ?? path.join('.data', 'collectors', c.collectorId)) }));

/** What callers may pass: every field with a default is optional. */
export type CollectorConfigInput = z.input<typeof CollectorConfigSchema>;
/** The validated configuration, defaults applied, outboxDir resolved to an absolute path. */
export type CollectorConfig = z.output<typeof CollectorConfigSchema>;

type EnvType = 'string' | 'number' | 'boolean' | 'seed' | 'json' | 'list';

/** JG_* variable → dotted config path, and how to read it. */
const ENV_FIELDS: readonly { name: string; path: string; type: EnvType }[] = [
  { name: 'JG_COLLECTOR_ID', path: 'collectorId', type: 'string' },
  { name: 'JG_COLLECTOR_TOKEN', path: 'token', type: 'string' },
  { name: 'JG_HUB_URL', path: 'hubUrl', type: 'string' },
  { name: 'JG_HUB_CA', path: 'hubCa', type: 'string' },
  { name: 'JG_INSTITUTION_ID', path: 'institutionId', type: 'string' },
  { name: 'JG_REPORTS_FOR', path: 'reportsFor', type: 'list' },
  { name: 'JG_COUNTER', path: 'counter', type: 'string' },
  { name: 'JG_OUTBOX_DIR', path: 'outboxDir', type: 'string' },
  { name: 'JG_PSEUDONYM_KEY', path: 'pseudonymKey', type: 'string' },
  { name: 'JG_ACK_TIMEOUT_MS', path: 'ackTimeoutMs', type: 'number' },
  { name: 'JG_BATCH_MAX_RECORDS', path: 'batch.maxRecords', type: 'number' },
  { name: 'JG_BATCH_MAX_BYTES', path: 'batch.maxBytes', type: 'number' },
  { name: 'JG_BATCH_LINGER_MS', path: 'batch.lingerMs', type: 'number' },
  { name: 'JG_BACKOFF_MIN_MS', path: 'backoff.minMs', type: 'number' },
  { name: 'JG_BACKOFF_MAX_MS', path: 'backoff.maxMs', type: 'number' },
  { name: 'JG_OUTBOX_MAX_BYTES', path: 'outbox.maxBytes', type: 'number' },
  { name: 'JG_OUTBOX_FSYNC', path: 'outbox.fsync', type: 'string' },
  { name: 'JG_OUTBOX_RESERVE_BYTES', path: 'outbox.reserveBytes', type: 'number' },
  { name: 'JG_OUTBOX_SPARE_BYTES', path: 'outbox.spareBytes', type: 'number' },
  { name: 'JG_SIM_ENABLED', path: 'simulator.enabled', type: 'boolean' },
  { name: 'JG_SIM_RATE', path: 'simulator.ratePerSec', type: 'number' },
  { name: 'JG_SIM_ANOMALY_RATE', path: 'simulator.anomalyRate', type: 'number' },
  { name: 'JG_SIM_MALFORMED_RATE', path: 'simulator.malformedRate', type: 'number' },
  { name: 'JG_SIM_MAX_RECORDS', path: 'simulator.maxRecords', type: 'number' },
  { name: 'JG_SIM_SEED', path: 'simulator.seed', type: 'seed' },
  { name: 'JG_SIM_INJECTED_LOG', path: 'simulator.injectedLogPath', type: 'string' },
  { name: 'JG_SIM_INSTITUTION_TYPE', path: 'simulator.institutionType', type: 'string' },
  { name: 'JG_SOURCES', path: 'sources', type: 'json' },
];

export const CONFIG_ENV_NAMES: readonly string[] = ENV_FIELDS.map((f) => f.name);

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let obj = target;
  for (const k of keys.slice(0, -1)) {
    const next = obj[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) obj[k] = {};
    obj = obj[k] as Record<string, unknown>;
  }
  obj[keys[keys.length - 1]!] = value;
}

function readEnvValue(raw: string, type: EnvType): unknown {
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      // A non-numeric value is passed through as a string so the schema error names the field.
      const n = Number(raw.trim());
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return raw;
    }
    case 'seed':
      return raw;
    case 'list':
      // "A, B,,C" → ['A', 'B', 'C']: stray spaces and empty items are not worth refusing.
      return raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
    case 'json':
      // Invalid JSON is passed through as text so the schema error names the variable.
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
  }
}

/** Formats zod issues as "field (ENV_NAME): message; …". */
function describe(error: z.ZodError): string {
  const envByPath = new Map(ENV_FIELDS.map((f) => [f.path, f.name]));
  return error.issues
    .map((i) => {
      const p = i.path.map(String).join('.') || '(config)';
      const env = envByPath.get(p);
      return `${p}${env ? ` (${env})` : ''}: ${i.message}`;
    })
    .join('; ');
}

/** Validates a configuration object; throws CollectorError CONFIG_INVALID naming each bad field. */
export function parseConfig(input: unknown): CollectorConfig {
  const parsed = CollectorConfigSchema.safeParse(input);
  if (!parsed.success) throw new CollectorError('CONFIG_INVALID', describe(parsed.error));
  return parsed.data;
}

/**
 * Builds a configuration from JG_* variables layered over `base` (e.g. the contents of a
 * --config file). Empty variables are ignored.
 */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env, base: Record<string, unknown> = {}): CollectorConfig {
  const raw: Record<string, unknown> = structuredClone(base);
  for (const f of ENV_FIELDS) {
    const v = env[f.name];
    if (v === undefined || v === '') continue;
    setPath(raw, f.path, readEnvValue(v, f.type));
  }
  return parseConfig(raw);
}

/** Reads a JSON config file (then JG_* variables override it). */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CollectorError('CONFIG_INVALID', `cannot read config file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CollectorError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CollectorError('CONFIG_INVALID', `config file ${file} must contain a JSON object`);
  }
  // Relative outbox / log paths in a file are relative to the file, not to the working directory.
  const obj = json as Record<string, unknown>;
  const dir = path.dirname(path.resolve(file));
  if (typeof obj.outboxDir === 'string') obj.outboxDir = path.resolve(dir, obj.outboxDir);
  if (typeof obj.hubCa === 'string') obj.hubCa = path.resolve(dir, obj.hubCa);
  const sim = obj.simulator as Record<string, unknown> | undefined;
  if (sim && typeof sim.injectedLogPath === 'string') sim.injectedLogPath = path.resolve(dir, sim.injectedLogPath);
  resolveSourcePaths(obj.sources, dir);
  return loadConfigFromEnv(env, obj);
}
