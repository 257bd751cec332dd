/**
 * Pseudonymisation at the counter: raw identity numbers (公民身份号码) and licence archive numbers
 * never leave the collector. Each becomes an HMAC-SHA256 under the deployment's `pseudonymKey`
 * (hex, 64 characters) plus, for people, a masked display form `45**************3X` (first 2,
 * last 2; rules/src/model/mask.ts says why).
 *
 * Every collector of a deployment must share the key: the hub's rules compare hashes across
 * collectors (an agent seen at two offices is the same agent) and across fields (a violation's
 * subject is the vehicle's owner when `subject.idHash === vehicle.ownerIdHash`).
 *
 * Hash inputs: a person is hashed over the upper-cased, trimmed identity number itself; a licence
 * over `licence:` + its archive number, so a licence hash can never equal a person hash.
 */
import crypto from 'node:crypto';
import { maskIdNumber, type PersonRef, type Transaction } from '@jianguan/rules';
import type { RawPerson, RawTransaction } from './sources/types.js';

export interface Pseudonymizer {
  /** Keyed hash of an identity number (hex). */
  idHash(idNumber: string): string;
  /** Keyed hash of a licence archive number (hex). */
  licenceHash(licenceNumber: string): string;
  person(p: RawPerson): PersonRef;
}

export function createPseudonymizer(key: string): Pseudonymizer {
  if (key.length < 16) throw new Error('pseudonymKey must be at least 16 characters');
  const hmac = (input: string): string => crypto.createHmac('sha256', key).update(input, 'utf8').digest('hex');
  const idHash = (idNumber: string): string => hmac(idNumber.trim().toUpperCase());
  return {
    idHash,
    licenceHash: (n) => hmac(`licence:${n.trim().toUpperCase()}`),
    // Masking as the rules package defines it: 45**************3X.
    person: (p) => ({ idHash: idHash(p.idNumber), masked: maskIdNumber(p.idNumber.trim().toUpperCase()).slice(0, 32) }),
  };
}

/** Collector-assigned fields of a record. */
export interface RecordMeta {
  collectorId: string;
  seq: number;
  capturedAt: number;
}

/**
 * Turns a source's raw record into the normalised transaction the hub expects: collector fields
 * first, people and licences replaced by their keyed hashes, raw numbers dropped. Fields the source
 * got wrong (a malformed record) pass through unchanged so the hub can dead-letter them.
 */
export function toTransaction(raw: RawTransaction, meta: RecordMeta, p: Pseudonymizer): Transaction {
  const { subject, agent, vehicle, licence, ...rest } = raw;
  const out: Record<string, unknown> = {
    id: `${meta.collectorId}:${meta.seq}`,
    collectorId: meta.collectorId,
    seq: meta.seq,
    ...rest,
    capturedAt: meta.capturedAt,
  };
  if (subject) out.subject = p.person(subject);
  if (agent) out.agent = p.person(agent);
  if (vehicle) {
    const { ownerIdNumber, ...v } = vehicle;
    out.vehicle = ownerIdNumber === undefined ? { ...v } : { ...v, ownerIdHash: p.idHash(ownerIdNumber) };
  }
  if (licence) {
    out.licence = licence.zjcx === undefined ? { numberHash: p.licenceHash(licence.number) } : { numberHash: p.licenceHash(licence.number), zjcx: licence.zjcx };
  }
  return out as Transaction;
}
