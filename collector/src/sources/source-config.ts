/**
 * Configuration of the collector's sources: `sources: [...]` in the collector config, each entry
 * one of the types below (a discriminated union on `type`; a bad entry is reported as e.g.
 * `sources.1.port: Too big: expected number to be <=65535`).
 *
 * Without `sources`, the collector runs the simulator as before (when `simulator.enabled`). With
 * `sources`, exactly the listed sources run; `{ "type": "simulator" }` takes its settings from the
 * top-level `simulator` section.
 */
import path from 'node:path';
import { z } from 'zod';
import { ADAPTER_NAMES, AdapterOptionsSchema } from '../adapters/types.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const SourceName = z
  .string()
  .min(1)
  .max(48)
  .regex(/^[A-Za-z0-9._-]+$/, 'name may contain letters, digits, . _ - only');

const AdapterName = z.enum(ADAPTER_NAMES);
const Encoding = z.enum(['utf8', 'gb18030']);
const Delimiter = z.enum([',', '\t', '|', ';']);

export const SimulatorSourceSchema = z
  .object({
    type: z.literal('simulator'),
    name: SourceName.optional(),
  })
  .strict();

export const FileSourceSchema = z
  .object({
    type: z.literal('file'),
    /** Shown in status, metrics and rejects. @defaultValue the file's base name */
    name: SourceName.optional(),
    /** The file to follow (relative paths in a config file are relative to that file). */
    path: z.string().min(1),
    /** How to read its records (adapters/index.ts); CSV or JSONL follows from the adapter. */
    adapter: AdapterName,
    /** @defaultValue 'utf8' ('gb18030' reads GBK exports too) */
    encoding: Encoding.default('utf8'),
    /** CSV delimiter. @defaultValue ',' */
    delimiter: Delimiter.default(','),
    /** How often to look for new data, rotation and truncation. @defaultValue 500 */
    pollMs: z.number().int().min(10).max(60_000).default(500),
    /** Where to begin when there is no saved position yet. @defaultValue 'beginning' */
    startAt: z.enum(['beginning', 'end']).default('beginning'),
    /** A record longer than this is rejected and skipped. @defaultValue 1 MiB */
    maxRecordBytes: z.number().int().min(1 * KiB).max(64 * MiB).default(1 * MiB),
    adapterOptions: AdapterOptionsSchema.prefault({}),
  })
  .strict();

export const DropFileRuleSchema = z
  .object({
    /** File-name pattern (* and ? wildcards, case-insensitive), e.g. "VEH_FLOW_*.csv". */
    glob: z.string().min(1).max(200),
    adapter: AdapterName,
    encoding: Encoding.default('utf8'),
    delimiter: Delimiter.default(','),
    adapterOptions: AdapterOptionsSchema.prefault({}),
  })
  .strict();

export const DropSourceSchema = z
  .object({
    type: z.literal('drop'),
    /** @defaultValue 'drop-' + the folder's base name */
    name: SourceName.optional(),
    /** The drop folder; imported files move to `<dir>/done/`, unreadable ones to `<dir>/rejected/`. */
    dir: z.string().min(1),
    /** First matching rule wins; files matching none are left alone. */
    files: z.array(DropFileRuleSchema).min(1, 'give at least one {glob, adapter} rule'),
    /** @defaultValue 1000 */
    pollMs: z.number().int().min(10).max(60_000).default(1000),
    /** A file is complete once its size and mtime have not changed for this long. @defaultValue 2000 */
    settleMs: z.number().int().min(0).max(3_600_000).default(2000),
    maxRecordBytes: z.number().int().min(1 * KiB).max(64 * MiB).default(1 * MiB),
  })
  .strict();

export const DecisionFallbackSchema = z
  .object({
    /** @defaultValue 'allow' */
    decision: z.enum(['allow', 'hold']).default('allow'),
    /** Tell the counter the transaction will be checked afterwards. @defaultValue true */
    postCheck: z.boolean().default(true),
  })
  .strict();

export const HttpSourceSchema = z
  .object({
    type: z.literal('http'),
    /** @defaultValue 'http' */
    name: SourceName.optional(),
    /** Loopback only: the endpoint is for software on this machine. @defaultValue '127.0.0.1' */
    host: z.enum(['127.0.0.1', '::1', 'localhost']).default('127.0.0.1'),
    /** 0 = any free port (tests). @defaultValue 8791 */
    port: z.number().int().min(0).max(65_535).default(8791),
    /** Adapter for POST /v1/transactions without ?format=. @defaultValue 'native' */
    defaultFormat: AdapterName.default('native'),
    /** @defaultValue 4 MiB */
    maxBodyBytes: z.number().int().min(1 * KiB).max(64 * MiB).default(4 * MiB),
    /** Records per request at most. @defaultValue 5000 */
    maxRecords: z.number().int().min(1).max(100_000).default(5000),
    /**
     * Time a client has to send a request's headers; a slower one is answered 408 and
     * disconnected (node:http `headersTimeout`). @defaultValue 10000
     */
    headersTimeoutMs: z.number().int().min(20).max(300_000).default(10_000),
    /**
     * Time a client has to send a request's body once its headers are in; then 408
     * REQUEST_TIMEOUT and the connection is closed. Loopback moves 4 MiB in milliseconds, so
     * only a stuck or hostile caller ever meets it. @defaultValue 30000
     */
    bodyTimeoutMs: z.number().int().min(20).max(600_000).default(30_000),
    /**
     * Open connections at most (keep-alive ones included); a connection beyond it is closed as
     * soon as it is accepted. @defaultValue 32
     */
    maxConnections: z.number().int().min(1).max(4096).default(32),
    /** An idle keep-alive connection is closed after this long. @defaultValue 5000 */
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
    /** Requests one keep-alive connection may carry; then the server closes it. @defaultValue 1000 */
    maxRequestsPerSocket: z.number().int().min(1).max(1_000_000).default(1000),
    /** When set, requests must carry `Authorization: Bearer <token>` (GET /metrics too). */
    authToken: z.string().min(16, 'authToken must be at least 16 characters').optional(),
    /** How long POST /v1/decisions waits for the hub before the fallback. @defaultValue 800 */
    decisionTimeoutMs: z.number().int().min(10).max(60_000).default(800),
    /** The answer when the hub does not answer in time (or the link is down). */
    decisionFallback: DecisionFallbackSchema.prefault({}),
    adapterOptions: AdapterOptionsSchema.prefault({}),
  })
  .strict();

export const SourceConfigSchema = z.discriminatedUnion('type', [SimulatorSourceSchema, FileSourceSchema, DropSourceSchema, HttpSourceSchema]);

export const SourcesConfigSchema = z.array(SourceConfigSchema).max(32);

export type SourceConfigInput = z.input<typeof SourceConfigSchema>;
type Parsed = z.output<typeof SourceConfigSchema>;
/** A source entry with its name filled in. */
export type SourceConfig = Parsed & { name: string };
export type FileSourceConfig = Extract<SourceConfig, { type: 'file' }>;
export type DropSourceConfig = Extract<SourceConfig, { type: 'drop' }>;
export type HttpSourceConfig = Extract<SourceConfig, { type: 'http' }>;

function defaultName(s: Parsed): string {
  const clean = (v: string): string => v.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || s.type;
  switch (s.type) {
    case 'simulator':
      return 'simulator';
    case 'http':
      return 'http';
    case 'file':
      return clean(path.basename(s.path));
    case 'drop':
      return `drop-${clean(path.basename(path.resolve(s.dir)))}`;
  }
}

/**
 * Fills in names and checks the list as a whole. Returns issues (path + message) for zod's
 * superRefine, so they are reported like any other config error.
 */
export function normaliseSources(list: readonly Parsed[]): { sources: SourceConfig[]; issues: { path: (string | number)[]; message: string }[] } {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const seen = new Map<string, number>();
  const sources = list.map((s, i) => {
    const name = s.name ?? defaultName(s);
    const prev = seen.get(name);
    if (prev !== undefined) issues.push({ path: [i, 'name'], message: `source name '${name}' is already used by sources.${prev}; give each source a distinct name` });
    seen.set(name, i);
    return { ...s, name } as SourceConfig;
  });
  const count = (t: string): number => sources.filter((s) => s.type === t).length;
  if (count('simulator') > 1) issues.push({ path: [], message: 'at most one simulator source' });
  const files = new Map<string, number>();
  sources.forEach((s, i) => {
    if (s.type !== 'file') return;
    const p = path.resolve(s.path);
    const prev = files.get(p);
    if (prev !== undefined) issues.push({ path: [i, 'path'], message: `file ${p} is already followed by sources.${prev}` });
    files.set(p, i);
  });
  const ports = new Map<number, number>();
  sources.forEach((s, i) => {
    if (s.type !== 'http' || s.port === 0) return;
    const prev = ports.get(s.port);
    if (prev !== undefined) issues.push({ path: [i, 'port'], message: `port ${s.port} is already used by sources.${prev}` });
    ports.set(s.port, i);
  });
  return { sources, issues };
}

/**
 * The effective source list of a parsed collector config: without `sources`, the simulator alone
 * (when `simulator.enabled`); with `sources`, exactly those — and `simulator.enabled` follows
 * whether a simulator entry is listed.
 */
export function applySources<C extends { sources?: readonly Parsed[] | undefined; simulator: { enabled: boolean } }>(c: C): { sources: SourceConfig[]; simulator: C['simulator'] } {
  if (c.sources === undefined) {
    return { sources: c.simulator.enabled ? [{ type: 'simulator', name: 'simulator' }] : [], simulator: c.simulator };
  }
  const { sources } = normaliseSources(c.sources);
  return { sources, simulator: { ...c.simulator, enabled: sources.some((s) => s.type === 'simulator') } };
}

/** Zod issues for the source list as a whole (duplicate names, files, ports). */
export function sourceListIssues(sources: readonly Parsed[] | undefined): { path: (string | number)[]; message: string }[] {
  return sources === undefined ? [] : normaliseSources(sources).issues.map((i) => ({ path: ['sources', ...i.path], message: i.message }));
}

/** In a config FILE, relative source paths are relative to the file (like outboxDir). */
export function resolveSourcePaths(sources: unknown, baseDir: string): void {
  if (!Array.isArray(sources)) return;
  for (const s of sources) {
    if (typeof s !== 'object' || s === null) continue;
    const o = s as Record<string, unknown>;
    if (typeof o.path === 'string') o.path = path.resolve(baseDir, o.path);
    if (typeof o.dir === 'string') o.dir = path.resolve(baseDir, o.dir);
  }
}
