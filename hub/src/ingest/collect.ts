/**
 * The /collect namespace: authenticate the collector (token and/or key, enrolment — see
 * hub/src/collectors/service.ts), verify each batch's signature and chain, validate each record
 * on its own, keep the invalid ones in the dead-letter table with their reason, enqueue the rest
 * (or hold the whole batch while the collector is pending approval), and acknowledge the batch
 * only once everything in it is durable (stored, dead-lettered or held).
 *
 * Everything here faces the network, so every handler is total: the handshake middleware, the
 * event listeners and their acknowledgements never throw, whatever shape arrives (objects with
 * a throwing `toString`, arrays, huge strings). What a collector sends is bound to it: batch ids
 * and record ids must start with `${collectorId}:`, and a record may only name the collector's
 * own institution (or ones it is configured to report for) — so no collector can overwrite,
 * pre-empt or forge another's data. A record the store would refuse is dead-lettered here, one
 * row per occurrence; a batch the store still refuses is split until the refused record stands
 * alone and is dead-lettered — a bad record never blocks the good ones behind it.
 */
import { isUtf8 } from 'node:buffer';
import type { Server, Socket } from 'socket.io';
import type { Transaction } from '@jianguan/rules';
import {
  CollectorAuthSchema,
  WireBatchSchema,
  materialiseBatch,
  PROTOCOL_VERSION,
  type Batch,
  type BatchAck,
  type ChainTip,
  type CollectClientToServer,
  type CollectServerToClient,
  type RejectedRecord,
  type WireBatch,
} from '../protocol/index.js';
import type { CollectorService, ProcessedAck } from '../collectors/service.js';
import { HubError, errorMessage, isHubError } from '../errors.js';
import { sha256Hex } from '../collectors/keys.js';
import { isStoreRefusal } from '../jobs/evaluate.js';
import { batchContent, heldOnce, type EvaluationQueue, type HeldRecords } from '../jobs/queue.js';
import type { Registry } from '../registry/registry.js';
import { deadLetterRow, type DeadLetter } from '../store/repo.js';
import type { HubPseudonyms } from '../pseudonyms.js';
import type { Store } from '../store/store.js';
import type { Telemetry } from '../telemetry/events.js';
import { findTimeOutOfWindow, findUnstorableText, printable, type SanityLimits } from './sanity.js';
import { readRecordsJson } from './records-json.js';
import { describeIssues } from '../validation/issues.js';
import { transactionOf } from '../validation/transaction.js';
import { collectNamespace, type CollectSocket, type CollectSocketData } from '../sockets.js';

// CollectSocketData (sockets.ts) is set by the handshake below: a socket without it never authenticated.

/**
 * What other features add to /collect without owning a piece of it: this module is the one
 * owner of the namespace (handshake, batches, presence); others hook in here.
 */
export interface CollectHooks {
  /** Installs further event handlers on each authenticated socket (the hold path's `decision.request`). */
  onSocket?: (socket: CollectSocket) => void;
  /** A collector connected or disconnected (the wall's connected-collectors figure). */
  onPresence?: () => void;
}

export interface CollectNamespaceHandle {
  connected(): number;
  /** Collectors connected to this replica: collector id → county adcode ('' when unknown). */
  here(): Map<string, string>;
  /** Adds hooks; they apply to sockets that connect afterwards (register them before listening). */
  hook(hooks: CollectHooks): void;
}

export interface IngestDeps {
  store: Store;
  registry: Registry;
  queue: EvaluationQueue;
  telemetry: Telemetry;
  ackTimeoutMs: number;
  hubVersion: string;
  collectors: CollectorService;
  /** Test-only: see HubConfig.faultInjection. */
  faultInjection?: { dropAckAfterStore?: number };
  /** Where the record path's limits come from. */
  limits: SanityLimits;
  /** May this collector report business for this institution? (its own, or configured ones) */
  mayReportFor: (collectorId: string, institutionId: string) => boolean;
  /** OPTIONAL. Audits a refused handshake (the audit log's `collector.auth_failed`). Must not throw or wait. */
  authFailed?: (claimedId: string, address: string, code: string, message: string) => void;
  /**
   * The hub's pseudonym layer over the collectors' hashes: applied to each valid record once it
   * passed every check (after the batch signature was verified, before anything is evaluated or
   * stored), and to a dead letter's payload before it is stored — a malformed record still carries
   * collector-form hashes, which a stolen counter key reverses.
   */
  pseudonyms: Pick<HubPseudonyms, 'rekeyRecord' | 'rekeyOwnedRecord'>;
}

/** What the record path needs (also used to release held batches). */
export type RecordDeps = Pick<IngestDeps, 'store' | 'registry' | 'queue' | 'telemetry' | 'ackTimeoutMs' | 'limits' | 'mayReportFor' | 'pseudonyms'>;


/** The bytes as text when they are UTF-8 (checked natively, then decoded without a second check). */
function utf8Text(b: Uint8Array): string | undefined {
  return isUtf8(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : undefined;
}

/**
 * Batches parsed ahead of evaluation.
 *
 * A batch's records are parsed when its turn comes under its collector's lock. With many
 * collectors sending at once, each collector's current batch was then parsed and validated at
 * once and waited, as objects, in the evaluation queue behind the others' — at saturation a few
 * dozen batches, alive long enough to be copied by every young-generation collection and
 * promoted to the old generation, where a full collection has to find them dead again
 * (docs/benchmarks.md, "Batches parsed when the evaluation takes them"). The gate lets at most
 * `limit` batches be parsed and not yet taken by an evaluation worker; the others wait as the
 * bytes they arrived as. A slot is given back when a worker asks for the batch's records, or when
 * the batch's processing ends without that (held, refused, failed). It never waits on anything
 * but other batches' turns: a slot's holder reaches the queue without waiting for another slot.
 */
export class ParseGate {
  private free: number;
  private readonly waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.free = Math.max(1, Math.floor(limit));
  }

  /** Waits for a slot; the returned function gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

/**
 * Batches parsed ahead of evaluation (ParseGate). Two keep the worker fed: while it evaluates one,
 * the next is in the queue. What a parsed batch holds (its checked records and the strings they
 * share with the parse) lives until it is evaluated; with eight ahead that was about the interval
 * between two young-generation collections, so most of it was copied by one. One ahead leaves the
 * worker waiting on Redis for every job (docs/benchmarks.md, "Two batches ahead").
 */
export const PARSE_AHEAD = 2;

function recordIdOf(r: unknown): string {
  if (typeof r === 'object' && r !== null && !Array.isArray(r) && typeof (r as { id?: unknown }).id === 'string') {
    return printable((r as { id: string }).id, 128);
  }
  return '';
}

/** A printable batch id from anything (for logs and refusals), '' when there is none. */
function batchIdOf(b: unknown): string {
  if (typeof b === 'object' && b !== null && !Array.isArray(b) && typeof (b as { batchId?: unknown }).batchId === 'string') {
    return printable((b as { batchId: string }).batchId, 128);
  }
  return '';
}

/**
 * Calls a client's acknowledgement callback; a callback that throws is the client's problem.
 * Every acknowledgement on /collect goes through it (batch.submit here, decision.request in
 * decisions/routes.ts): a throw must not escape a socket handler or a promise callback.
 */
export function safeAck<A>(ack: (a: A) => void, answer: A): void {
  try {
    ack(answer);
  } catch {
    // socket.io's own ack callbacks do not throw; nothing useful to do if one did.
  }
}

function safeJson(r: unknown): string {
  try {
    return JSON.stringify(r) ?? 'undefined';
  } catch (e) {
    return `<unserialisable: ${errorMessage(e)}>`;
  }
}

export function attachCollectNamespace(io: Server, deps: IngestDeps): CollectNamespaceHandle {
  const nsp = collectNamespace(io);
  const hooks: CollectHooks[] = [];
  const presence = () => {
    for (const h of hooks) h.onPresence?.();
  };

  nsp.use((socket, next) => {
    // Total: whatever the handshake carries, this answers next() exactly once and never throws.
    let answered = false;
    const once = (err?: Error) => {
      if (answered) return;
      answered = true;
      next(err);
    };
    const address = typeof socket.handshake.address === 'string' ? socket.handshake.address : '';
    const refuse = (claimed: string, code: string, message: string): void => {
      try {
        deps.telemetry.collectorAuthFailed(claimed, address);
        deps.authFailed?.(claimed, address, code, message);
      } catch {
        // telemetry and audit must not decide whether a refusal is sent
      }
      const err = new Error(`${code}: ${message}`) as Error & { data?: unknown };
      err.data = { code };
      once(err);
    };
    try {
      const auth: unknown = socket.handshake.auth;
      const rawId = typeof auth === 'object' && auth !== null ? (auth as { collectorId?: unknown }).collectorId : undefined;
      const claimed = typeof rawId === 'string' ? printable(rawId, 64) : '?';
      const parsed = CollectorAuthSchema.safeParse(auth);
      if (!parsed.success) {
        refuse(claimed, 'AUTH_FAILED', describeIssues(parsed.error, { root: '(record)' }));
        return;
      }
      deps.collectors.authenticate(parsed.data, address).then(
        (rec) => {
          socket.data.collectorId = rec.collectorId;
          socket.data.institutionId = rec.institutionId;
          once();
        },
        (e) => refuse(claimed, isHubError(e) ? e.code : 'AUTH_FAILED', errorMessage(e)),
      );
    } catch (e) {
      refuse('?', 'AUTH_FAILED', errorMessage(e));
    }
  });

  deps.collectors.setDisconnector((collectorId) => {
    for (const s of nsp.sockets.values()) {
      if (s.data.collectorId === collectorId) s.disconnect(true);
    }
  });

  let dropAcks = deps.faultInjection?.dropAckAfterStore ?? 0;
  const gate = new ParseGate(PARSE_AHEAD);

  nsp.on('connection', (socket) => {
    const collectorId = socket.data.collectorId;
    deps.collectors.connected(collectorId);
    deps.telemetry.collectorConnected(collectorId, nsp.sockets.size);
    presence();
    for (const h of hooks) h.onSocket?.(socket);
    const hello = (h: Awaited<ReturnType<CollectorService['hello']>> | undefined) =>
      socket.emit('hub.hello', {
        hubVersion: deps.hubVersion,
        protocol: PROTOCOL_VERSION,
        recordsJson: true,
        collectorId,
        institutionId: socket.data.institutionId,
        ...(h ? { status: h.status, chain: h.chain } : {}),
      });
    deps.collectors.hello(collectorId).then(hello, () => hello(undefined));
    socket.on('batch.submit', (...args: unknown[]) => {
      // A client may emit anything, in any shape; only a callback can be answered, and socket.io
      // passes it last. Exactly (batch, ack) is processed; a missing batch or extra arguments are
      // answered with a coded refusal instead of silence.
      const ack = args[args.length - 1];
      if (typeof ack !== 'function') return;
      const reply = (a: BatchAck) => safeAck(ack as (a: BatchAck) => void, a);
      if (args.length !== 2) {
        reply({ ok: false, batchId: batchIdOf(args.length > 1 ? args[0] : undefined), code: 'BATCH_INVALID', message: `batch.submit takes one batch and an acknowledgement (got ${args.length - 1} argument(s))`, retryable: false });
        return;
      }
      const batch = args[0];
      const typed = socket as Socket<CollectClientToServer, CollectServerToClient, Record<string, never>, CollectSocketData>;
      const received = Date.now();
      handleBatch(deps, typed, batch, gate)
        .then(
          (res) => {
            if (res.ok && dropAcks > 0) {
              // Fault injection: everything is stored, the ack is lost with the connection.
              dropAcks -= 1;
              socket.disconnect(true);
              return;
            }
            reply(res);
          },
          (e) => {
            const code = isHubError(e) ? e.code : 'EVALUATION_FAILED';
            const batchId = batchIdOf(batch);
            deps.telemetry.batchFailed(batchId, collectorId, code, errorMessage(e), Date.now() - received);
            const chain = (e as { chain?: unknown }).chain;
            reply({
              ok: false,
              batchId,
              code,
              message: errorMessage(e),
              retryable: isHubError(e) ? e.retryable : true,
              ...(chain !== undefined ? { chain: chain as ChainTip | null } : {}),
            });
          },
        )
        .catch((e) => {
          // Only reachable if telemetry or the fault injection threw; keep the process alive.
          deps.telemetry.batchFailed(batchIdOf(batch), collectorId, 'INTERNAL', errorMessage(e), Date.now() - received);
        });
    });
    socket.on('disconnect', (reason) => {
      deps.collectors.disconnected(collectorId);
      deps.telemetry.collectorDisconnected(collectorId, reason, nsp.sockets.size);
      presence();
    });
  });

  const here = (): Map<string, string> => {
    const ids = new Map<string, string>();
    for (const socket of nsp.sockets.values()) {
      const { collectorId, institutionId } = socket.data as { collectorId?: unknown; institutionId?: unknown };
      if (typeof collectorId !== 'string') continue;
      ids.set(collectorId, (typeof institutionId === 'string' ? deps.registry.institution(institutionId)?.county : undefined) ?? '');
    }
    return ids;
  };
  return { connected: () => nsp.sockets.size, here, hook: (h) => void hooks.push(h) };
}

async function handleBatch(
  deps: IngestDeps,
  socket: Socket<CollectClientToServer, CollectServerToClient, Record<string, never>, CollectSocketData>,
  raw: unknown,
  gate: ParseGate,
): Promise<BatchAck> {
  const env = WireBatchSchema.safeParse(raw);
  if (!env.success) throw new HubError('BATCH_INVALID', describeIssues(env.error, { root: '(record)' }));
  const wire = env.data;
  const collectorId = socket.data.collectorId;
  if (wire.collectorId !== collectorId) {
    throw new HubError('COLLECTOR_MISMATCH', `batch says ${wire.collectorId}, connection is ${collectorId}`);
  }
  // Batch ids name their collector, so one collector cannot pre-empt another's (predictable)
  // next batch id and have that batch acknowledged without its records.
  if (!wire.batchId.startsWith(`${collectorId}:`)) {
    throw new HubError('BATCH_INVALID', `batchId: must start with "${collectorId}:" (got "${printable(wire.batchId, 64)}")`);
  }
  if (wire.firstSeq > wire.lastSeq) throw new HubError('BATCH_INVALID', `firstSeq ${wire.firstSeq} > lastSeq ${wire.lastSeq}`);
  // One batch of a collector at a time: verify → chain → (store or hold ‖ chain row) → ack.
  // The chain row is written while the batch is stored, not after (see the ordering note in
  // collectors/service.ts): the ack still waits for both. Records sent as bytes are parsed only
  // here, when it is the batch's turn and a slot of the parse gate is free: until then they are
  // bytes outside the JavaScript heap.
  return deps.collectors.exclusive(collectorId, async () => {
    const release = await gate.acquire();
    try {
      const m = materialiseBatch(wire, sha256Hex, utf8Text, readRecordsJson);
      if (!m.ok) throw new HubError('BATCH_INVALID', m.message);
      const batch = m.batch;
      deps.telemetry.transactionsReceived(batch.batchId, collectorId, batch.records.length);
      const admission = await deps.collectors.admit(collectorId, batch, m.digest);
      const [ack] = await Promise.all([
        admission.hold
          ? deps.collectors.hold(admission, batch)
          : processBatch(deps, collectorId, batch, { stringsClean: m.noEscapes === true, onTaken: release, ...(wire.recordsJson ? { reread: () => rereadRecords(wire) } : {}) }),
        deps.collectors.commit(admission, batch),
      ]);
      return ack;
    } finally {
      release();
    }
  });
}

/** A batch's records read again from its bytes, as handleBatch first read them (they were a batch then). */
function rereadRecords(wire: WireBatch): unknown[] {
  const again = materialiseBatch(wire, sha256Hex, utf8Text, readRecordsJson);
  if (!again.ok) throw new Error(again.message);
  return again.batch.records;
}

/**
 * The record path: validate each record, dead-letter the bad ones, evaluate and store the rest
 * through the BullMQ job of the batch. Resolves only when all of it is durable. `known.stringsClean`:
 * the records were parsed from JSON text without a backslash (findUnstorableText); `known.onTaken`:
 * called when an evaluation worker takes the batch's records (ParseGate); `known.reread`: the
 * records were read from bytes for this call alone and can be read from them again — they are
 * then let go once validated (`batch.records` is emptied) and read again when needed: a job's
 * second run, a split, a refused record's dead letter (jobs/queue.ts, "Records that die young").
 */
export async function processBatch(deps: RecordDeps, collectorId: string, batch: Batch, known: { stringsClean?: boolean; onTaken?: () => void; reread?: () => unknown[] } = {}): Promise<ProcessedAck> {
  const receivedAt = Date.now();
  const batchId = batch.batchId;
  const valid: Transaction[] = [];
  const validIndex: number[] = [];
  const rejected: RejectedRecord[] = [];
  const dead: DeadLetter[] = [];
  const seen = new Set<string>();
  const reject = (index: number, record: unknown, code: string, reason: string) => {
    const id = recordIdOf(record);
    rejected.push({ index, ...(id ? { id } : {}), code, reason });
    dead.push({
      // One row per occurrence: two bad records sharing an id are two dead letters; a re-sent
      // batch (same id, same index) replaces its own rows.
      recordKey: `${batchId}#${index}`,
      batchId,
      collectorId,
      recordIndex: index,
      recordId: id,
      code,
      reason,
      // Best effort over whatever shape arrived: hash-like values at the known paths only.
      payload: safeJson(deps.pseudonyms.rekeyRecord(record)),
      receivedAt,
    });
  };
  batch.records.forEach((record, index) => {
    const text = findUnstorableText(record, known.stringsClean);
    if (text) return reject(index, record, 'RECORD_TEXT_INVALID', text);
    const checked = transactionOf(record);
    if (!checked.ok) return reject(index, record, 'RECORD_INVALID', checked.message);
    const t = checked.t;
    if (t.collectorId !== collectorId) {
      return reject(index, record, 'COLLECTOR_MISMATCH', `collectorId: record says ${t.collectorId}, connection is ${collectorId}`);
    }
    if (!t.id.startsWith(`${collectorId}:`)) {
      return reject(index, record, 'RECORD_ID_FOREIGN', `id: must start with "${collectorId}:" (got "${printable(t.id, 64)}")`);
    }
    if (seen.has(t.id)) return reject(index, record, 'RECORD_DUPLICATE', `id: ${t.id} occurs more than once in this batch`);
    const when = findTimeOutOfWindow(t, receivedAt, deps.limits);
    if (when) return reject(index, record, 'RECORD_TIME_INVALID', when);
    if (!deps.registry.institution(t.institutionId)) {
      return reject(index, record, 'UNKNOWN_INSTITUTION', `institutionId: ${t.institutionId} is not in the registry`);
    }
    if (!deps.mayReportFor(collectorId, t.institutionId)) {
      return reject(index, record, 'INSTITUTION_NOT_ALLOWED', `institutionId: collector ${collectorId} may not report business of ${t.institutionId}`);
    }
    seen.add(t.id);
    // `t` is validation's copy, ours alone (the raw record stays as it arrived, for dead letters).
    valid.push(deps.pseudonyms.rekeyOwnedRecord(t));
    validIndex.push(index);
  });

  // With the bytes at hand the records need not stay: the queue holds the validated ones once
  // and reads them again from the bytes (validIndex picks them) if a job needs them again.
  const reread = known.reread;
  // The records as they arrived, for refused records' dead letters: read again at most once.
  let raw: unknown[] | undefined = reread ? undefined : batch.records;
  const rawAt = (index: number): unknown => (raw ??= reread!())[index];
  let records: Transaction[] | HeldRecords = valid;
  if (reread) {
    (batch.records as unknown[]).length = 0;
    records = heldOnce(valid, () => {
      const again = reread();
      return validIndex.map((i) => {
        const checked = transactionOf(again[i]);
        if (!checked.ok) throw new Error(`record ${i} no longer valid: ${checked.message}`);
        return deps.pseudonyms.rekeyOwnedRecord(checked.t);
      });
    });
  }
  let stored = 0;
  let warnings = 0;
  if (validIndex.length > 0) {
    const res = await storeSplitting(deps, { collectorId, batchId, content: batchContent(batch) }, receivedAt, records, '', known.onTaken);
    stored = res.stored;
    warnings = res.warnings;
    for (const r of res.refused) {
      const index = validIndex[r.position]!;
      reject(index, rawAt(index), 'STORE_REFUSED', r.reason);
    }
  }
  if (dead.length > 0) {
    await deps.store.insert('dead_letters', dead.map(deadLetterRow));
    deps.telemetry.recordsDeadLettered(batchId, collectorId, rejected);
  }
  rejected.sort((a, b) => a.index - b.index);
  deps.telemetry.batchAcked(batchId, collectorId, stored, rejected.length, Date.now() - receivedAt);
  return { ok: true, batchId, stored, rejected, warnings };
}

/** Whose batch, which, and what it holds (its job's id: jobs/queue.ts jobIdForBatch). */
interface BatchOf {
  collectorId: string;
  batchId: string;
  content: string;
}

interface StoredPart {
  stored: number;
  warnings: number;
  /** `position`: the refused record's place in the records first given to storeSplitting. */
  refused: { position: number; reason: string }[];
}

/**
 * Evaluates and stores `records` as one job; when the store refuses the data (not a transient
 * failure: see jobs/evaluate.ts), splits the records in two halves, in order, down to the single
 * record the store refuses, which the caller dead-letters. Transient failures propagate so the
 * collector re-sends later. `offset`: where `records` start among the batch's valid records.
 */
async function storeSplitting(deps: RecordDeps, of: BatchOf, receivedAt: number, records: Transaction[] | HeldRecords, part = '', onTaken?: () => void, offset = 0): Promise<StoredPart> {
  try {
    const res = await deps.queue.submit({ ...of, receivedAt, records, ...(part ? { part } : {}) }, deps.ackTimeoutMs, onTaken);
    return { stored: res.stored, warnings: res.warnings, refused: [] };
  } catch (e) {
    const msg = errorMessage(e);
    if (!isStoreRefusal(msg)) {
      if (isHubError(e)) throw e;
      throw new HubError(/timed out/i.test(msg) ? 'EVALUATION_TIMEOUT' : 'EVALUATION_FAILED', msg, { cause: e });
    }
    // The evaluation emptied the array it was given: take the records again to split them.
    const all = Array.isArray(records) ? records : records.take();
    if (all.length === 1) return { stored: 0, warnings: 0, refused: [{ position: offset, reason: msg.replace(/^.*?STORE_REFUSED:\s*/, '') }] };
    const mid = Math.ceil(all.length / 2);
    const a = await storeSplitting(deps, of, receivedAt, all.slice(0, mid), `${part}a`, undefined, offset);
    const b = await storeSplitting(deps, of, receivedAt, all.slice(mid), `${part}b`, undefined, offset + mid);
    return { stored: a.stored + b.stored, warnings: a.warnings + b.warnings, refused: [...a.refused, ...b.refused] };
  }
}
