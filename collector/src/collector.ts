/**
 * One collector: source → pseudonymise → outbox → link → hub.
 *
 *   simulator.next() ─▶ toTransaction (id = `${collectorId}:${seq}`, keyed hashes) ─▶ outbox.append
 *        (paced at ratePerSec by a token bucket)                                        │ wake
 *                                                                                      ▼
 *                                                         link: batches, acks, outbox.ack
 *
 * Records are pseudonymised before they are written, so raw identity numbers never reach the
 * disk or the wire. When the outbox is full the source holds its records and retries; nothing
 * generated is dropped.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseConfig, type CollectorConfig, type CollectorConfigInput } from './config.js';
import { CollectorError, errorMessage, isCollectorError } from './errors.js';
import { BatchChain } from './identity/chain.js';
import { loadOrCreateIdentity, type CollectorIdentity } from './identity/keys.js';
import { Link, type LinkCounters, type LinkEvent, type LinkState } from './link/link.js';
import { Outbox, type OutboxEvent } from './outbox/outbox.js';
import { createPseudonymizer, toTransaction } from './pseudonym.js';
import { startSources, type SourcesHandle } from './sources/runtime.js';
import { createSimulator, type Simulator } from './sources/simulator.js';
import type { SourceEvent } from './sources/types.js';
import type { InjectedAnomaly, SourceRecord } from './sources/types.js';

export interface CollectorStatus {
  collectorId: string;
  institutionId: string;
  /** Records in the outbox not yet acknowledged by the hub. */
  outboxDepth: number;
  outboxBytes: number;
  /** Bytes held in the outbox's spare.bin: 0 after a disk filled by something else took it, until there is room again. */
  outboxSpareBytes: number;
  /** Epoch ms when the oldest unacknowledged record was appended; null when none. */
  oldestUnackedAt: number | null;
  link: LinkState;
  /** Epoch ms of the last acknowledgement (persisted in the outbox, survives restarts). */
  lastAckAt: number | null;
  /** Records submitted to the hub (re-sends count again). */
  sent: number;
  /** Records acknowledged by the hub (stored or dead-lettered). */
  acked: number;
  /** Records the hub dead-lettered (malformed). */
  rejected: number;
  /** Records produced by the source and written to the outbox by this run. */
  generated: number;
  /** Anomalies (and malformed records) injected by this run. */
  injected: number;
  batchesSent: number;
  batchesAcked: number;
  batchFailures: number;
  /** The seq the next record will get. */
  nextSeq: number;
  /** The source reached simulator.maxRecords (or there is no source). */
  sourceDone: boolean;
  startedAt: number;
}

/** One structured event, logged by main.ts as a JSON line. */
export type CollectorEvent = { at: number; collectorId: string } & (
  | LinkEvent
  | { event: 'collector.started'; institutionId: string; outboxDir: string; nextSeq: number; unacked: number; hubUrl: string }
  | { event: 'collector.stopped'; status: CollectorStatus }
  | { event: 'outbox.recovered'; segments: number; unacked: number; truncatedBytes: number; quarantined: number; nextSeq: number; ledgerReset: boolean }
  | { event: 'outbox.quarantined'; segment: string; offset: number; reason: string; seq?: number }
  | { event: 'outbox.full'; message: string }
  /** The disk was full to the last block: the spare file's bytes were given to a state write. */
  | { event: 'outbox.spare_released'; bytes: number }
  | { event: 'outbox.spare_written'; bytes: number }
  | { event: 'identity.loaded'; keyFingerprint: string; created: boolean; mode: 'token' | 'enrol' }
  | { event: 'outbox.error'; message: string }
  | { event: 'records.captured'; count: number; firstSeq: number; lastSeq: number }
  | { event: 'anomaly.injected'; transactionId: string; ruleId: string; detail?: string }
  | { event: 'source.done'; generated: number }
  | SourceEvent
);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type EventBody = DistributiveOmit<CollectorEvent, 'at' | 'collectorId'>;

export interface StartOptions {
  /** Receives every event (main.ts prints them as JSON lines). */
  onEvent?: (event: CollectorEvent) => void;
  /** Real clock for the simulator and capturedAt. @defaultValue Date.now */
  now?: () => number;
  /**
   * Reads the free bytes of the outbox's disk (OutboxOptions.freeSpace): lets a test run a
   * collector on a simulated full disk. @defaultValue statfs
   */
  freeSpace?: (dir: string) => Promise<number>;
}

export interface CollectorHandle {
  readonly id: string;
  readonly config: CollectorConfig;
  status(): CollectorStatus;
  /**
   * Resolves when the source is finished (simulator.maxRecords reached, or no source) and every
   * record has been acknowledged. Rejects with DRAIN_TIMEOUT after `timeoutMs` (default: never).
   */
  drained(timeoutMs?: number): Promise<void>;
  /** Everything the simulator injected so far (this run). */
  injected(): InjectedAnomaly[];
  /** Stops the source, lets an in-flight batch settle, closes the socket and the outbox. */
  stop(): Promise<void>;
}

/** How often the source wakes up to produce due records. */
const TICK_MIN_MS = 10;
const TICK_MAX_MS = 200;
/** Records per append at most; bounds one write and one event. */
const MAX_CHUNK = 1000;

export async function startCollector(input: CollectorConfigInput | CollectorConfig, options: StartOptions = {}): Promise<CollectorHandle> {
  const config = parseConfig(input);
  const now = options.now ?? Date.now;
  const { collectorId, institutionId } = config;
  const emit = (e: EventBody): void => {
    if (!options.onEvent) return;
    try {
      options.onEvent({ at: Date.now(), collectorId, ...e } as CollectorEvent);
    } catch {
      /* a logger must not break the collector */
    }
  };
  const onOutboxEvent = (e: OutboxEvent): void => {
    if (e.type === 'outbox.quarantined') {
      emit({ event: 'outbox.quarantined', segment: e.entry.segment, offset: e.entry.offset, reason: e.entry.reason, ...(e.entry.seq !== undefined ? { seq: e.entry.seq } : {}) });
    } else if (e.type === 'outbox.free_space_unknown') {
      emit({ event: 'outbox.error', message: e.message });
    } else if (e.type === 'outbox.spare_released' || e.type === 'outbox.spare_written') {
      emit({ event: e.type, bytes: e.bytes });
    }
  };

  const pseudonymizer = createPseudonymizer(config.pseudonymKey);
  const outbox = await Outbox.open(config.outboxDir, {
    maxBytes: config.outbox.maxBytes,
    segmentBytes: config.outbox.segmentBytes,
    fsync: config.outbox.fsync,
    reserveBytes: config.outbox.reserveBytes,
    spareBytes: config.outbox.spareBytes,
    ...(options.freeSpace ? { freeSpace: options.freeSpace } : {}),
    onEvent: onOutboxEvent,
  });
  const r = outbox.recovery;
  emit({
    event: 'outbox.recovered',
    segments: r.segments,
    unacked: r.unacked,
    truncatedBytes: r.truncatedBytes,
    quarantined: r.quarantined,
    nextSeq: r.nextSeq,
    ledgerReset: r.ledgerReset,
  });

  // Identity and batch chain live next to the outbox (collector/src/identity).
  let identity: CollectorIdentity;
  let chain: BatchChain;
  try {
    identity = await loadOrCreateIdentity(config.outboxDir);
    chain = await BatchChain.open(config.outboxDir, { collectorId, identity, fsync: config.outbox.fsync === 'always', onEvent: (e) => emit(e) });
  } catch (e) {
    await outbox.close();
    throw e;
  }
  emit({ event: 'identity.loaded', keyFingerprint: identity.fingerprint, created: identity.created, mode: config.token ? 'token' : 'enrol' });

  let simulator: Simulator | undefined;
  try {
    simulator = config.simulator.enabled
      ? createSimulator({
          institutionId,
          ...(config.simulator.institutionType ? { institutionType: config.simulator.institutionType } : {}),
          anomalyRate: config.simulator.anomalyRate,
          malformedRate: config.simulator.malformedRate,
          ...(config.simulator.seed !== undefined ? { seed: config.simulator.seed } : {}),
          streamKey: `${collectorId}:${outbox.nextSeq}`,
          now,
        })
      : undefined;
  } catch (e) {
    await outbox.close();
    throw e;
  }

  const startedAt = Date.now();
  const counters: LinkCounters = { sent: 0, acked: 0, rejected: 0, batchesSent: 0, batchesAcked: 0, batchFailures: 0, lastAckAt: null };
  const injected: InjectedAnomaly[] = [];
  let generated = 0;
  let stopped = false;
  const maxRecords = config.simulator.maxRecords;
  let sourceDone = !simulator;

  // Drain watchers are re-checked after every ack and when the source finishes.
  const drainWaiters = new Set<() => void>();
  const isDrained = (): boolean => sourceDone && outbox.depth() === 0;
  const checkDrained = (): void => {
    if (!isDrained()) return;
    for (const w of [...drainWaiters]) w();
  };

  // Read once at start: a CA that cannot be read is a configuration error, not a silent downgrade.
  let hubCa: string | undefined;
  if (config.hubCa !== undefined) {
    try {
      hubCa = await fsp.readFile(config.hubCa, 'utf8');
    } catch (e) {
      await outbox.close();
      throw new CollectorError('CONFIG_INVALID', `hubCa (JG_HUB_CA) ${config.hubCa}: ${errorMessage(e)}`);
    }
  }
  const link = new Link({
    collectorId,
    ...(config.token ? { token: config.token } : {}),
    // Always offered: an id unknown to the hub (or revoked, with a new key) asks to be filed.
    enrol: { institutionId, counter: config.counter },
    identity,
    chain,
    hubUrl: config.hubUrl,
    ...(hubCa !== undefined ? { ca: hubCa } : {}),
    batch: config.batch,
    ackTimeoutMs: config.ackTimeoutMs,
    backoff: config.backoff,
    outbox,
    counters,
    emit: (e) => emit(e),
    onAcked: checkDrained,
    sourceDone: () => sourceDone,
  });

  // Configured sources (file tail, drop folder, local HTTP; sources/runtime.ts). They resolve their
  // cursors before anything is appended, and every append — the simulator's too — goes through
  // their appender.
  let sources: SourcesHandle;
  try {
    sources = await startSources({ config, outbox, pseudonymizer, emit: (e) => emit(e), status: () => status(), wake: () => link.wake(), link: () => link });
  } catch (e) {
    await link.stop(0);
    await outbox.close();
    throw e;
  }

  // ---- source pump -----------------------------------------------------------------------------
  let injectedLog: Promise<void> = Promise.resolve();
  if (config.simulator.injectedLogPath) await fsp.mkdir(path.dirname(config.simulator.injectedLogPath), { recursive: true });
  const recordInjected = (items: InjectedAnomaly[]): void => {
    injected.push(...items);
    for (const a of items) emit({ event: 'anomaly.injected', transactionId: a.transactionId, ruleId: a.ruleId, ...(a.detail ? { detail: a.detail } : {}) });
    const file = config.simulator.injectedLogPath;
    if (file && items.length > 0) {
      const text = items.map((a) => `${JSON.stringify(a)}\n`).join('');
      injectedLog = injectedLog.then(() => fsp.appendFile(file, text)).catch((e) => emit({ event: 'outbox.error', message: `injected log ${file}: ${errorMessage(e)}` }));
    }
  };

  let held: SourceRecord[] = [];
  // Records per append; halved on OUTBOX_FULL so a chunk larger than the free space (or than the
  // whole quota) still gets in piece by piece instead of waiting forever.
  let appendLimit = MAX_CHUNK;
  let tokens = 1;
  let lastTick = Date.now();
  let busy = false;
  let fullSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pumpDone: Promise<void> = Promise.resolve();
  const rate = config.simulator.ratePerSec;
  const tickMs = Math.min(TICK_MAX_MS, Math.max(TICK_MIN_MS, Math.floor(1000 / rate)));
  const burst = Math.max(1, Math.min(MAX_CHUNK, rate));

  const pump = async (): Promise<void> => {
    if (!simulator || stopped || sourceDone) return;
    const t = Date.now();
    tokens = Math.min(burst, tokens + (rate * (t - lastTick)) / 1000);
    lastTick = t;
    if (held.length === 0) {
      let n = Math.floor(tokens);
      if (maxRecords !== undefined) n = Math.min(n, maxRecords - generated);
      n = Math.min(n, MAX_CHUNK);
      if (n <= 0) return;
      tokens -= n;
      for (let i = 0; i < n; i++) held.push(simulator.next());
    }
    const batch = held.length > appendLimit ? held.slice(0, appendLimit) : held;
    const capturedAt = now();
    let seqs: number[];
    try {
      seqs = await sources.appender.append(batch, (rec, seq) => toTransaction(rec.raw, { collectorId, seq, capturedAt }, pseudonymizer));
    } catch (e) {
      if (isCollectorError(e, 'OUTBOX_FULL')) {
        appendLimit = Math.max(1, Math.floor(batch.length / 2));
        if (fullSince === undefined) {
          fullSince = Date.now();
          emit({ event: 'outbox.full', message: errorMessage(e) });
        }
      } else {
        emit({ event: 'outbox.error', message: errorMessage(e) });
      }
      return; // keep `held`; retried next tick
    }
    held = held.slice(batch.length);
    appendLimit = Math.min(MAX_CHUNK, appendLimit * 2);
    fullSince = undefined;
    generated += batch.length;
    emit({ event: 'records.captured', count: batch.length, firstSeq: seqs[0]!, lastSeq: seqs[seqs.length - 1]! });
    const inj: InjectedAnomaly[] = [];
    batch.forEach((rec, i) => {
      if (rec.injected) {
        inj.push({
          transactionId: `${collectorId}:${seqs[i]}`,
          ruleId: rec.injected.ruleId,
          collectorId,
          institutionId,
          at: capturedAt,
          ...(rec.injected.detail ? { detail: rec.injected.detail } : {}),
        });
      }
    });
    if (inj.length > 0) recordInjected(inj);
    link.wake();
    if (maxRecords !== undefined && generated >= maxRecords) {
      sourceDone = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      emit({ event: 'source.done', generated });
      link.wake();
      checkDrained();
    }
  };

  const tick = (): void => {
    if (busy) return;
    busy = true;
    pumpDone = pump()
      .catch((e) => emit({ event: 'outbox.error', message: `source: ${errorMessage(e)}` }))
      .finally(() => {
        busy = false;
      });
  };

  emit({
    event: 'collector.started',
    institutionId,
    outboxDir: config.outboxDir,
    nextSeq: outbox.nextSeq,
    unacked: outbox.depth(),
    hubUrl: config.hubUrl,
  });
  link.start();
  if (simulator) {
    timer = setInterval(tick, tickMs);
    tick();
  }

  const status = (): CollectorStatus => ({
    collectorId,
    institutionId,
    outboxDepth: outbox.isClosed ? 0 : outbox.depth(),
    outboxBytes: outbox.isClosed ? 0 : outbox.bytes(),
    outboxSpareBytes: outbox.isClosed ? 0 : outbox.spareBytes,
    oldestUnackedAt: outbox.isClosed ? null : (outbox.oldestUnacked()?.at ?? null),
    link: link.state,
    lastAckAt: outbox.lastAckAt,
    sent: counters.sent,
    acked: counters.acked,
    rejected: counters.rejected,
    generated,
    injected: injected.length,
    batchesSent: counters.batchesSent,
    batchesAcked: counters.batchesAcked,
    batchFailures: counters.batchFailures,
    nextSeq: outbox.nextSeq,
    sourceDone,
    startedAt,
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await pumpDone;
      await sources.stop();
      await link.stop(Math.min(config.ackTimeoutMs, 5_000));
      await injectedLog;
      const final = status();
      await outbox.close();
      for (const w of [...drainWaiters]) w();
      emit({ event: 'collector.stopped', status: final });
    })();
    return stopping;
  };

  return {
    id: collectorId,
    config,
    status,
    injected: () => [...injected],
    stop,
    drained(timeoutMs?: number): Promise<void> {
      if (isDrained()) return Promise.resolve();
      if (stopped) return Promise.reject(new CollectorError('STOPPED', `${collectorId} stopped before draining`));
      return new Promise<void>((resolve, reject) => {
        let t: NodeJS.Timeout | undefined;
        const done = (): void => {
          drainWaiters.delete(done);
          if (t) clearTimeout(t);
          if (isDrained()) resolve();
          else reject(new CollectorError('STOPPED', `${collectorId} stopped before draining`));
        };
        drainWaiters.add(done);
        if (timeoutMs !== undefined) {
          t = setTimeout(() => {
            drainWaiters.delete(done);
            const s = status();
            reject(
              new CollectorError(
                'DRAIN_TIMEOUT',
                `${collectorId}: after ${timeoutMs} ms generated=${s.generated} acked=${s.acked} depth=${s.outboxDepth} link=${s.link} sourceDone=${s.sourceDone}`,
              ),
            );
          }, timeoutMs);
        }
      });
    },
  };
}
