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
