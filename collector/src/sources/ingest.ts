/**
 * The path every file and HTTP source shares, from source records to durable outbox records:
 *
 *   raw records ─▶ parse (CSV row / JSON) ─▶ adapter.map (pseudonymises) ─▶ schema + sanity check
 *        │ failures: rejects.jsonl (file, line, reason)            │
 *        ▼                                                        ▼
 *   cursor intent ─▶ appender.append (durable) ─▶ cursor commit ─▶ link.wake
 *
 * Mapping is pure: it works on a copy of the adapter state, so an append that fails (outbox full)
 * leaves the source exactly where it was and the same records can be tried again.
 */
import { validatePending } from '../adapters/index.js';
import type { Adapter, AdapterContext, PendingTransaction } from '../adapters/types.js';
import { errorMessage, isCollectorError } from '../errors.js';
import type { Appender } from './appender.js';
import type { CursorSnapshot, CursorStore } from './cursor-store.js';
import { decodeRecord, headerColumns, jsonNestedDeeperThan, MAX_JSON_DEPTH, parseCsvRecord, rowObject, type Encoding, type RawRecord } from './records.js';
import type { RejectEntry, RejectLog } from './rejects.js';
import type { SourceEvent, SourceStatus } from './types.js';

/** One source record, parsed or not. */
export interface SourceInput {
  /** 1-based line in the file (record index for HTTP bodies). */
  line: number;
  /** Text for the reject report. */
  raw: string;
  value?: unknown;
  /** Why the record could not even be parsed. */
  error?: string;
}

export interface MappedChunk<S> {
  items: { line: number; pending: PendingTransaction }[];
  rejects: { line: number; reason: string; raw: string }[];
  /** Adapter state after these records. */
  state: S;
}

/** The earliest business time a record may carry (the schema's floor too). */
export const MIN_BUSINESS_TIME = Date.UTC(2000, 0, 1);
/** How far ahead of the collector's clock a business time may be (clock skew between PCs). */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
const TIME_FIELDS = ['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt'] as const;

/**
 * What a source checks beyond the transaction schema. These are records the hub would refuse for
 * good (or, worse, store): refusing them here puts them in the reject report with a reason instead
 * of shipping them to be refused forever.
 */
export interface RecordGuard {
  /** The collector's clock (epoch ms) when the records are mapped. */
  now: number;
  /**
   * Institutions the records may name; undefined = any. The HTTP endpoint sets it (local callers
   * must not report for another institution); file sources are configured by the operator.
   */
  institutions?: ReadonlySet<string> | undefined;
}

const ISO = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** Business times outside [2000-01-01, now + 1 day]; checked before the schema so the reason is plain. */
function timeProblem(t: Record<string, unknown>, now: number): string | undefined {
  for (const f of TIME_FIELDS) {
    const v = t[f];
    if (typeof v !== 'number') continue;
    if (v < MIN_BUSINESS_TIME) return `${f}: ${ISO(v)} is before 2000-01-01`;
    if (v > now + MAX_FUTURE_MS) return `${f}: ${ISO(v)} is more than 1 day after the collector's clock (${ISO(now)})`;
  }
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls and DEL: no field of a transaction (numbers, names, plates, codes) holds one, and
// they break the text formats the record travels through downstream (CSV exports, logs).
const CONTROL = /[\u0000-\u001F\u007F]/;

const hex = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a text cannot travel as well-formed Unicode without control characters, or undefined. */
function textProblem(text: string): string | undefined {
  const s = LONE_SURROGATE.exec(text);
  if (s) return `lone surrogate ${hex(s[0].charCodeAt(0))} at character ${s.index + 1} (not well-formed Unicode text)`;
  const c = CONTROL.exec(text);
  if (c) return `control character ${hex(c[0].charCodeAt(0))} at character ${c.index + 1}`;
  return undefined;
}

/** Every text (keys included) of a schema-checked transaction; the schema bounds its depth. */
function textsProblem(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    const p = textProblem(value);
    return p ? `${path || '(record)'}: ${p}` : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = textsProblem(value[i], `${path}.${i}`);
      if (p) return p;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    const kp = textProblem(k);
    if (kp) return `${path || '(record)'}: key ${JSON.stringify(k)}: ${kp}`;
    const p = textsProblem(v, at);
    if (p) return p;
  }
  return undefined;
}

/** Why an adapter's output must not enter the outbox, or undefined (then `value` is the checked record). */
export function checkPending(t: PendingTransaction, guard: RecordGuard): { ok: true; value: PendingTransaction } | { ok: false; reason: string } {
  if (typeof t !== 'object' || t === null) return { ok: false, reason: 'the adapter produced no record' };
  const time = timeProblem(t as unknown as Record<string, unknown>, guard.now);
  if (time) return { ok: false, reason: time };
  const v = validatePending(t);
  if (!v.ok) return { ok: false, reason: `invalid transaction: ${v.reason}` };
  const text = textsProblem(v.value, '');
  if (text) return { ok: false, reason: text };
  if (guard.institutions && !guard.institutions.has(v.value.institutionId)) {
    const allowed = [...guard.institutions];
    return {
      ok: false,
      reason: `institutionId: '${v.value.institutionId}' is not an institution this collector reports for (${allowed.slice(0, 5).join(', ')}${allowed.length > 5 ? ', …' : ''}; see reportsFor)`,
    };
  }
  return v;
}

/**
 * Maps parsed records through the adapter on a copy of `state`. `guard` defaults to the current
 * clock and any institution. An adapter that throws on a record rejects that record only: a
 * source must never stall on one hostile line.
 */
export function mapInputs<S>(adapter: Adapter<S>, ctx: AdapterContext, state: S, inputs: readonly SourceInput[], guard: RecordGuard = { now: Date.now() }): MappedChunk<S> {
  const next = (state === undefined || state === null ? state : structuredClone(state)) as S;
  const out: MappedChunk<S> = { items: [], rejects: [], state: next };
  for (const input of inputs) {
    if (input.error !== undefined) {
      out.rejects.push({ line: input.line, reason: input.error, raw: input.raw });
      continue;
    }
    let r: ReturnType<Adapter<S>['map']>;
    try {
      r = adapter.map(input.value, ctx, next);
    } catch (e) {
      r = { ok: false, reason: `cannot be read: ${errorMessage(e)}` };
    }
    if (!r.ok) {
      out.rejects.push({ line: input.line, reason: r.reason, raw: input.raw });
      continue;
    }
    for (const t of r.transactions) {
      const v = checkPending(t, guard);
      if (v.ok) out.items.push({ line: input.line, pending: v.value });
      else out.rejects.push({ line: input.line, reason: v.reason, raw: input.raw });
    }
  }
  return out;
}

export interface ParseOptions {
  csv: boolean;
  encoding: Encoding;
  delimiter: string;
  /** Columns a CSV header must have. */
  requiredColumns?: readonly string[] | undefined;
}

/**
 * Turns raw records into inputs. For CSV the first non-blank record of a file is its header;
 * `header` is the header already read (null at the start of a file). Blank records are skipped.
 */
export function parseRecords(records: readonly RawRecord[], header: string[] | null, o: ParseOptions): { inputs: SourceInput[]; header: string[] | null } {
  const inputs: SourceInput[] = [];
  let h = header;
  for (const rec of records) {
    let text: string;
    try {
      text = decodeRecord(rec.bytes, o.encoding);
    } catch (e) {
      inputs.push({ line: rec.line, raw: rec.bytes.toString('latin1').slice(0, 500), error: (e as Error).message });
      continue;
    }
    if (text.trim() === '') continue;
    if (!o.csv) {
      if (jsonNestedDeeperThan(text, MAX_JSON_DEPTH)) {
        inputs.push({ line: rec.line, raw: text.slice(0, 500), error: `invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels` });
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        inputs.push({ line: rec.line, raw: text, error: `invalid JSON: ${(e as Error).message}` });
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) inputs.push({ line: rec.line, raw: text, error: 'a JSON line must hold one object' });
      else inputs.push({ line: rec.line, raw: text, value });
      continue;
    }
    let fields: string[];
    try {
      fields = parseCsvRecord(text, o.delimiter);
    } catch (e) {
      if (h === null) {
        // An unparsable first line still counts as the header so the rest can be reported.
        h = [];
      }
      inputs.push({ line: rec.line, raw: text, error: `bad CSV: ${(e as Error).message}` });
      continue;
    }
    if (h === null) {
      h = headerColumns(fields);
      continue;
    }
    const missing = headerProblem(h, o.requiredColumns);
    if (missing) {
      inputs.push({ line: rec.line, raw: text, error: missing });
      continue;
    }
    try {
      inputs.push({ line: rec.line, raw: text, value: rowObject(h, fields) });
    } catch (e) {
      inputs.push({ line: rec.line, raw: text, error: `bad CSV: ${(e as Error).message}` });
    }
  }
  return { inputs, header: h };
}

/** Why a CSV header cannot be used with the adapter, or undefined. */
export function headerProblem(header: readonly string[], required: readonly string[] | undefined): string | undefined {
  if (header.length === 0) return 'the file has no usable CSV header';
  const missing = (required ?? []).filter((c) => !header.includes(c));
  return missing.length > 0 ? `the CSV header lacks column(s) ${missing.join(', ')}` : undefined;
}

/** Counters a source keeps for status and metrics. */
/**
 * What a source's read loop does with a failed step. A full outbox pushes back: the next chunk is
 * halved (a chunk larger than the quota would otherwise wait forever) and the state says so; any
 * other error is reported once per distinct message. Returns the new chunk limit.
 */
export function noteSourceFailure(e: unknown, st: SourceStatus, chunkLimit: number, emit: (e: SourceEvent) => void): number {
  if (isCollectorError(e, 'OUTBOX_FULL')) {
    if (st.state !== 'outbox_full') emit({ event: 'source.outbox_full', source: st.name, message: errorMessage(e) });
    st.state = 'outbox_full';
    return Math.max(1, Math.floor(chunkLimit / 2));
  }
  const message = errorMessage(e);
  if (st.lastError !== message) emit({ event: 'source.error', source: st.name, message });
  st.state = 'error';
  st.lastError = message;
  return chunkLimit;
}

export function newStatus(name: string, type: SourceStatus['type'], adapter?: string): SourceStatus {
  return { name, type, ...(adapter ? { adapter } : {}), state: 'starting', captured: 0, rejected: 0, lastCapturedAt: null, detail: {} };
}

export interface IngestDeps {
  collectorId: string;
  name: string;
  appender: Appender;
  rejects: RejectLog;
  status: SourceStatus;
  emit: (e: SourceEvent) => void;
  /** New records are in the outbox. */
  wake: () => void;
  now: () => number;
}

/** At most this many `source.rejected` events per chunk (the report file has them all). */
const MAX_REJECT_EVENTS = 20;

/** Writes a chunk's rejects (de-duplicated) and reports them. */
export async function reportRejects(deps: IngestDeps, file: string, rejects: MappedChunk<unknown>['rejects']): Promise<RejectEntry[]> {
  if (rejects.length === 0) return [];
  const fresh = await deps.rejects.write(rejects.map((r) => ({ source: deps.name, file, line: r.line, reason: r.reason, raw: r.raw })));
  deps.status.rejected += fresh.length;
  fresh.slice(0, MAX_REJECT_EVENTS).forEach((r) => deps.emit({ event: 'source.rejected', source: deps.name, file: r.file, line: r.line, reason: r.reason }));
  if (fresh.length > MAX_REJECT_EVENTS) {
    deps.emit({ event: 'source.rejected', source: deps.name, file, line: fresh[MAX_REJECT_EVENTS]!.line, reason: `… and ${fresh.length - MAX_REJECT_EVENTS} more in ${deps.rejects.file}` });
  }
  return fresh;
}

/**
 * Makes a mapped chunk durable and moves the cursor to `next`: rejects first (so they are never
 * lost behind a committed position), then intent → append → commit. Rejects with the outbox
 * error (OUTBOX_FULL …) when nothing was appended; the cursor then still points at the chunk.
 */
export async function ingestChunk<P, S>(
  deps: IngestDeps,
  store: CursorStore<P> | undefined,
  file: string,
  chunk: MappedChunk<S>,
  next: CursorSnapshot<P> | undefined,
): Promise<number[]> {
  await reportRejects(deps, file, chunk.rejects);
  if (chunk.items.length === 0) {
    if (store && next) await store.commit(next);
    return [];
  }
  const capturedAt = deps.now();
  const { collectorId } = deps;
  const seqs = await deps.appender.append(
    chunk.items,
    (item, seq) => ({ id: `${collectorId}:${seq}`, collectorId, seq, ...item.pending, capturedAt }),
    store && next
      ? { prepare: (firstSeq, count) => store.prepare(firstSeq, count, next), commit: () => store.commit(next), abort: () => store.abort() }
      : {},
  );
  deps.status.captured += seqs.length;
  deps.status.lastCapturedAt = capturedAt;
  deps.emit({ event: 'source.captured', source: deps.name, count: seqs.length, firstSeq: seqs[0]!, lastSeq: seqs[seqs.length - 1]! });
  deps.wake();
  return seqs;
}
