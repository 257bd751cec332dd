/**
 * Starts the configured sources (file tail, drop folder, local HTTP) next to the simulator, all
 * appending through one Appender, and keeps the metrics snapshot file up to date.
 *
 * Start order matters: every source resolves its cursor intent against the outbox's recovered
 * nextSeq BEFORE anything is appended (sources/cursor-store.ts), so startCollector calls this
 * before it starts the simulator and the link.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CollectorConfig } from '../config.js';
import { CollectorError, errorMessage } from '../errors.js';
import { buildSnapshot, METRICS_FILE, writeMetricsFile, type MetricsSnapshot, type StatusLike } from '../metrics.js';
import type { Outbox } from '../outbox/outbox.js';
import type { Pseudonymizer } from '../pseudonym.js';
import { Appender } from './appender.js';
import { DropFolder } from './drop-folder.js';
import { FileTail, type SourceDeps } from './file-tail.js';
import type { Link } from '../link/link.js';
import { HttpSource, linkDecisionTransport, type DecisionTransport } from './http.js';
import { RejectLog } from './rejects.js';
import type { Source, SourceEvent, SourceStatus } from './types.js';

export interface StartSourcesOptions {
  config: CollectorConfig;
  outbox: Outbox;
  pseudonymizer: Pseudonymizer;
  emit: (e: SourceEvent) => void;
  /** The collector's status (read lazily: for /v1/status, /metrics and metrics.json). */
  status: () => StatusLike;
  /** New records are in the outbox (link.wake). */
  wake: () => void;
  /** The Link, for hold decisions over its socket (undefined until it exists). */
  link: () => Pick<Link, 'decide'> | undefined;
  /** Replaces the link transport for decisions (tests). */
  decisionTransport?: DecisionTransport;
  now?: () => number;
  /** How often metrics.json is rewritten; 0 = never. @defaultValue 5000 */
  metricsIntervalMs?: number;
}

export interface SourcesHandle {
  /** Every append to the outbox goes through here (the simulator's too). */
  readonly appender: Appender;
  readonly rejects: RejectLog;
  readonly sources: readonly Source[];
  /** The first HTTP source, if any (its URL for tests and logs). */
  readonly http: HttpSource | undefined;
  statuses(): SourceStatus[];
  metrics(): MetricsSnapshot;
  /** Stops every source (in-flight appends complete) and writes a last metrics snapshot. */
  stop(): Promise<void>;
}

export async function startSources(o: StartSourcesOptions): Promise<SourcesHandle> {
  const { config, outbox } = o;
  const now = o.now ?? Date.now;
  const sync = config.outbox.fsync === 'always';
  const appender = new Appender(outbox, (message) => o.emit({ event: 'source.error', source: 'appender', message }));
  const rejects = await RejectLog.open(outbox.dir, sync);
  const deps: SourceDeps = {
    collectorId: config.collectorId,
    institutionId: config.institutionId,
    reportsFor: config.reportsFor,
    outboxDir: outbox.dir,
    sync,
    pseudonymizer: o.pseudonymizer,
    appender,
    rejects,
    emit: o.emit,
    wake: o.wake,
    now,
  };

  const sources: Source[] = [];
  let http: HttpSource | undefined;
  const decisions = o.decisionTransport ?? linkDecisionTransport(o.link);
  const simulatorStatus = (): SourceStatus | undefined => {
    if (!config.simulator.enabled) return undefined;
    const s = o.status();
    return { name: config.sources.find((x) => x.type === 'simulator')?.name ?? 'simulator', type: 'simulator', state: 'running', captured: s.generated, rejected: 0, lastCapturedAt: null, detail: {} };
  };
  const statuses = (): SourceStatus[] => {
    const sim = simulatorStatus();
    return [...(sim ? [sim] : []), ...sources.map((s) => s.status())];
  };
  const decisionTotals = (): MetricsSnapshot['decisions'] => {
    const t = { allow: 0, hold: 0, fallback: 0 };
    for (const s of sources) {
      if (s instanceof HttpSource) {
        t.allow += s.decisionCounts.allow;
        t.hold += s.decisionCounts.hold;
        t.fallback += s.decisionCounts.fallback;
      }
    }
    return t;
  };
  const metrics = (): MetricsSnapshot => buildSnapshot(o.status(), statuses(), decisionTotals());
  const statusReport = () => ({ ...o.status(), sources: statuses(), decisions: decisionTotals(), rejectsFile: rejects.file });

  for (const sc of config.sources) {
    switch (sc.type) {
      case 'simulator':
        break; // run by startCollector itself
      case 'file':
        sources.push(new FileTail(sc, deps));
        break;
      case 'drop':
        sources.push(new DropFolder(sc, deps));
        break;
      case 'http': {
        const h = new HttpSource(sc, { ...deps, decisions, statusReport, metrics });
        http ??= h;
        sources.push(h);
        break;
      }
    }
  }

  const started: Source[] = [];
  try {
    for (const s of sources) {
      await s.start();
      started.push(s);
    }
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw new CollectorError('SOURCE_INVALID', `source ${sources[started.length]?.name ?? '?'}: ${errorMessage(e)}`, { cause: e });
  }

  // A temp file left by a process killed mid-write: nothing reads it, and on a full disk its
  // blocks are worth having back.
  await fsp.unlink(path.join(outbox.dir, `${METRICS_FILE}.tmp`)).catch(() => {});
  const intervalMs = o.metricsIntervalMs ?? 5_000;
  let writing: Promise<void> = Promise.resolve();
  let lastError = '';
  const writeMetrics = (): Promise<void> => {
    writing = writing
      .then(() => writeMetricsFile(outbox.dir, metrics()))
      .catch((e) => {
        const m = errorMessage(e);
        if (m !== lastError) o.emit({ event: 'metrics.error', message: `metrics.json: ${m}` });
        lastError = m;
      });
    return writing;
  };
  const timer = intervalMs > 0 ? setInterval(() => void writeMetrics(), intervalMs) : undefined;
  timer?.unref();

  let stopping: Promise<void> | undefined;
  return {
    appender,
    rejects,
    sources,
    http,
    statuses,
    metrics,
    stop() {
      stopping ??= (async () => {
        if (timer) clearInterval(timer);
        for (const s of [...sources].reverse()) {
          try {
            await s.stop();
          } catch (e) {
            o.emit({ event: 'source.error', source: s.name, message: `stop: ${errorMessage(e)}` });
          }
        }
        await writeMetrics();
      })();
      return stopping;
    },
  };
}
