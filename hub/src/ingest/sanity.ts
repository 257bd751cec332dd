/**
 * What zod's shape check does not catch but the store (or common sense) would refuse. A record
 * that passes TransactionSchema can still be unstorable: ClickHouse refuses text that is not
 * valid UTF-8 (a lone UTF-16 surrogate such as "A\ud800" has no UTF-8 encoding), and an insert
 * spanning more partitions than `max_partitions_per_insert_block` (partitions are months of
 * capturedAt) fails whole. Such failures used to surface as retryable batch errors, so one bad
 * record blocked every later record of its collector. Checking here turns them into per-record
 * dead letters with a reason, before anything is enqueued.
 */
import type { Transaction } from '@jianguan/rules';

export interface SanityLimits {
  /** Oldest accepted capturedAt, as an age relative to receipt (partition bound). */
  maxRecordAgeMs: number;
  /** How far ahead of the hub's clock any time of a record may be (counter clock skew). */
  maxFutureSkewMs: number;
}

const MAX_DEPTH = 8;
// C0 controls and DEL: no field of a normalised transaction is free text that could need them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function describeString(s: string): string | undefined {
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode text)';
  if (CONTROL.test(s)) return 'contains a control character';
  return undefined;
}

/**
 * Walks a raw record (before zod) and names the first string that cannot be stored, with its
 * path. Bounded: at most MAX_DEPTH levels (a transaction is three deep) and the batch size
 * limit bounds the breadth. `stringsClean`: the caller knows no string holds a control character
 * or a lone surrogate (records parsed from JSON text without a backslash); only the depth is
 * checked then.
 */
export function findUnstorableText(value: unknown, stringsClean = false): string | undefined {
  // The path is built only for the one string that fails. On the hot path (every record of every
  // batch, nearly always fine) the walk allocates nothing: no closures per call, one shared list
  // of path segments (the walk is synchronous, so no two walks interleave).
  try {
    return walk(value, 0, stringsClean);
  } finally {
    if (PATH.length !== 0) PATH.length = 0;
  }
}

/** The keys and indices from the record down to the value being looked at. */
const PATH: (string | number)[] = [];

function pathOf(): string {
  let p = '';
  for (const s of PATH) p = typeof s === 'number' ? `${p}[${s}]` : p ? `${p}.${safeKey(s)}` : safeKey(s);
  return p || '(record)';
}

function walk(v: unknown, depth: number, stringsClean: boolean): string | undefined {
  if (typeof v === 'string') {
    if (stringsClean) return undefined;
    const why = describeString(v);
    return why ? `${pathOf()}: ${why}` : undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth >= MAX_DEPTH) return `${pathOf()}: nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      PATH.push(i);
      const r = walk(v[i], depth + 1, stringsClean);
      PATH.pop();
      if (r) return r;
    }
    return undefined;
  }
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    PATH.push(k);
    const keyWhy = stringsClean ? undefined : describeString(k);
    const r = keyWhy ? `${pathOf()}: field name ${keyWhy}` : walk((v as Record<string, unknown>)[k], depth + 1, stringsClean);
    PATH.pop();
    if (r) return r;
  }
  return undefined;
}

const safeKey = (k: string) => k.toWellFormed().replace(CONTROL, '?');

const TIME_FIELDS = ['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt'] as const;

/** Times outside the window the store and the rules can sensibly hold; undefined when fine. */
export function findTimeOutOfWindow(t: Transaction, receivedAt: number, limits: SanityLimits): string | undefined {
  const latest = receivedAt + limits.maxFutureSkewMs;
  const iso = (ms: number) => new Date(ms).toISOString();
  if (t.capturedAt > latest) return `capturedAt: ${iso(t.capturedAt)} is in the future (hub time ${iso(receivedAt)})`;
  if (t.capturedAt < receivedAt - limits.maxRecordAgeMs) {
    return `capturedAt: ${iso(t.capturedAt)} is older than ${Math.round(limits.maxRecordAgeMs / 86_400_000)} days`;
  }
  for (const f of TIME_FIELDS) {
    const v = t[f];
    if (v !== undefined && v > latest) return `${f}: ${iso(v)} is in the future (hub time ${iso(receivedAt)})`;
  }
  return undefined;
}

/** A string safe to put in a reason or a log line, whatever it was. */
export function printable(s: string, max = 128): string {
  // eslint-disable-next-line no-control-regex
  return s.slice(0, max).toWellFormed().replace(/[\u0000-\u001f\u007f]/g, '?');
}
