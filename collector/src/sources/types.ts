/**
 * What a source hands the collector: a transaction as the local business system knows it, with
 * raw identity and licence numbers. The collector assigns id/seq/capturedAt and pseudonymises
 * (pseudonym.ts) before anything is written to the outbox.
 */
import type { Transaction } from '@jianguan/rules';

export interface RawPerson {
  /** 18-character identity number, raw. Never leaves the collector. */
  idNumber: string;
}

export interface RawVehicle {
  hpzl: string;
  hphm?: string;
  vin?: string;
  /** Registered owner's raw identity number. */
  ownerIdNumber?: string;
}

export interface RawLicence {
  /** Licence archive number (档案编号), raw. */
  number: string;
  zjcx?: string;
}

export type RawTransaction = Omit<
  Transaction,
  'id' | 'collectorId' | 'seq' | 'capturedAt' | 'subject' | 'agent' | 'vehicle' | 'licence'
> & {
  subject?: RawPerson;
  agent?: RawPerson;
  vehicle?: RawVehicle;
  licence?: RawLicence;
};

/** The rules the simulator knows how to trigger, plus the marker for records built to fail validation. */
export const INJECTABLE_RULES = [
  'counter.off_hours',
  'agent.frequent',
  'check.short_duration',
  'check.inspector_unfiled',
  'points.licence_multi_vehicle',
] as const;
export type InjectableRuleId = (typeof INJECTABLE_RULES)[number];
export const MALFORMED_RULE_ID = '__malformed__';
export type InjectedRuleId = InjectableRuleId | typeof MALFORMED_RULE_ID;

/** One record from a source, with what (if anything) was injected into it. */
export interface SourceRecord {
  raw: RawTransaction;
  /** Set on the one record that should make the hub raise `ruleId` (or fail validation). */
  injected?: { ruleId: InjectedRuleId; detail?: string };
}

/** An anomaly the simulator injected, as recorded for tests, the bench and the demo. */
export interface InjectedAnomaly {
  /** `${collectorId}:${seq}` of the record that should raise the warning. */
  transactionId: string;
  ruleId: InjectedRuleId;
  collectorId: string;
  institutionId: string;
  /** Epoch ms when the record was captured (its capturedAt). */
  at: number;
  /** Short description of what was injected, e.g. 'duration 97s'. */
  detail?: string;
}

// ---- configured sources (file tail, drop folder, local HTTP) ------------------------------------

export type SourceType = 'simulator' | 'file' | 'drop' | 'http';

/** What a running source reports for status and metrics. */
export interface SourceStatus {
  /** Config `sources[].name`. */
  name: string;
  type: SourceType;
  adapter?: string;
  /** running: reading/serving · waiting: nothing to read (file missing) · outbox_full: holding records · error: see lastError */
  state: 'starting' | 'running' | 'waiting' | 'outbox_full' | 'error' | 'stopped';
  /** Records appended to the outbox by this source, this run. */
  captured: number;
  /** Source records rejected (written to rejects.jsonl), this run. */
  rejected: number;
  lastCapturedAt: number | null;
  lastError?: string;
  /** Source-specific: file, offset, lag, open pairs, listening URL … */
  detail: Record<string, unknown>;
}

/** A source the collector runs next to (or instead of) the simulator. */
export interface Source {
  readonly name: string;
  readonly type: SourceType;
  /** Recovers the source's cursor and starts reading or listening. */
  start(): Promise<void>;
  /** Stops reading; an in-flight append completes first. */
  stop(): Promise<void>;
  status(): SourceStatus;
}

/** Events of the configured sources, logged by main.ts like every collector event. */
export type SourceEvent =
  | { event: 'source.started'; source: string; type: SourceType; detail: string }
  | { event: 'source.recovered'; source: string; resolution: string; detail?: string }
  | { event: 'source.captured'; source: string; count: number; firstSeq: number; lastSeq: number }
  | { event: 'source.rejected'; source: string; file: string; line: number; reason: string }
  | { event: 'source.rotated'; source: string; file: string; detail: string }
  | { event: 'source.truncated'; source: string; file: string; detail: string }
  | { event: 'source.outbox_full'; source: string; message: string }
  | { event: 'source.error'; source: string; message: string }
  | { event: 'drop.imported'; source: string; file: string; records: number; rejected: number; movedTo: string }
  | { event: 'drop.rejected_file'; source: string; file: string; reason: string; movedTo: string }
  | { event: 'drop.duplicate'; source: string; file: string; sha256: string; movedTo: string }
  | { event: 'http.listening'; source: string; url: string }
  | { event: 'decision.answered'; requestId: string; decision: 'allow' | 'hold'; ms: number }
  | { event: 'decision.fallback'; requestId: string; decision: 'allow' | 'hold'; reason: string; ms: number }
  | { event: 'metrics.error'; message: string };
