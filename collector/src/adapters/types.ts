/**
 * Adapters map one record of a real source system (a CSV row of a platform export, one JSON event
 * of an inspection station …) to the normalised transaction (rules/src/model/transaction.ts).
 *
 * An adapter is pure apart from the `state` object it is handed: the same record, context and
 * state always give the same output. Stateful adapters (pairing start and end events) keep open
 * pairs in that JSON-serialisable state; the source persists it with its read position, so a
 * restart does not lose a pairing (sources/cursor-store.ts).
 *
 * Identity and licence numbers are pseudonymised INSIDE the adapter with the collector's keyed
 * hash: what an adapter returns, and what it keeps in its state, never holds a raw number.
 */
import type { Channel, Transaction } from '@jianguan/rules';
import { z } from 'zod';
import type { Pseudonymizer } from '../pseudonym.js';

/** A normalised transaction before the collector assigns id, collectorId, seq and capturedAt. */
export type PendingTransaction = Omit<Transaction, 'id' | 'collectorId' | 'seq' | 'capturedAt'>;

export const ADAPTER_NAMES = ['native', 'veh_flow', 'drv_flow', '18c', 'check_av', 'exam', 'queue'] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];

/** Per-source adapter settings (config `sources[].adapterOptions`). Each adapter reads the ones it needs. */
export const AdapterOptionsSchema = z
  .object({
    /** Institution of every record; @defaultValue the collector's institutionId. */
    institutionId: z.string().min(1).max(64).optional(),
    /**
     * Institution by the source's own unit code: GLBM (管理部门) for platform flows, jyjgbh for
     * inspection stations, KCDM for exam venues. Unmapped codes fall back to `institutionId`.
     */
    institutionByCode: z.record(z.string(), z.string().min(1).max(64)).optional(),
    /** Channel of every record; @defaultValue per adapter ('counter' for platform flows and queues, else 'institution'). */
    channel: z.enum(['counter', 'institution', 'self_service', 'internet']).optional(),
    /** Offset of the source system's local clock from UTC, minutes. @defaultValue 480 (Asia/Shanghai) */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    /**
     * 18C: filed minimum duration of an inspection item in seconds, by `jyxm` or `line:jyxm`
     * (the line-specific key wins). Overrides the built-in suggestions (adapters/inspection-18c.ts).
     */
    itemMinSeconds: z.record(z.string(), z.number().int().min(0).max(86_400)).optional(),
    /** 18C / check A/V: open tests or checks older than this are dropped (never ended). @defaultValue 86400000 (24 h) */
    maxOpenMs: z.number().int().min(60_000).default(86_400_000),
  })
  .strict();
export type AdapterOptionsInput = z.input<typeof AdapterOptionsSchema>;
export type AdapterOptions = z.output<typeof AdapterOptionsSchema>;

export interface AdapterContext {
  collectorId: string;
  /** The collector's institution (default institution of every record). */
  institutionId: string;
  pseudonymizer: Pseudonymizer;
  options: AdapterOptions;
}

/** What one record produced: zero or more transactions, or why the record was rejected. */
export type MapResult = { ok: true; transactions: PendingTransaction[] } | { ok: false; reason: string };

export interface Adapter<S = unknown> {
  readonly name: AdapterName;
  /** `source` of the transactions produced (SOURCE_SYSTEMS in rules). */
  readonly source: string;
  /** How a file of this adapter is laid out: CSV with a header row, or one JSON object per line. */
  readonly format: 'csv' | 'jsonl';
  readonly description: string;
  /** CSV: columns the header must contain (upper case); a file without them is unreadable. */
  readonly requiredColumns?: readonly string[];
  /** Default channel when the options do not set one. */
  readonly defaultChannel: Channel;
  /** A fresh state (stateful adapters only). */
  initialState?(): S;
  /**
   * Maps one record: a CSV row (column name upper-cased → cell text) or a parsed JSON value.
   * May mutate `state` (stateful adapters); the caller snapshots it to roll back a failed append.
   */
  map(record: unknown, ctx: AdapterContext, state: S): MapResult;
  /** Counts for status (e.g. open pairs); optional. */
  describeState?(state: S): Record<string, number>;
}
