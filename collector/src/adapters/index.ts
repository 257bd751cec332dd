/**
 * The adapter registry: source system name → adapter (see each file for its record layout).
 *
 *   native    collector's own JSON shape (raw ids, pseudonymised here)        JSONL / HTTP
 *   veh_flow  综合应用平台 VEH_FLOW export                                     CSV
 *   drv_flow  综合应用平台 DRV_FLOW export                                     CSV
 *   18c       inspection-station 18Cxx events (paired into tests and items)   JSONL
 *   check_av  vehicle-check audio/video events (paired start/end)            JSONL
 *   exam      exam-system records                                            CSV
 *   queue     queue-and-call records                                         JSONL
 */
import { TransactionSchema } from '@jianguan/rules';
import { checkAvAdapter } from './check-av.js';
import { examAdapter } from './exam.js';
import { inspection18cAdapter } from './inspection-18c.js';
import { nativeAdapter } from './native.js';
import { drvFlowAdapter, vehFlowAdapter } from './platform-flow.js';
import { queueAdapter } from './queue.js';
import type { Adapter, AdapterName, PendingTransaction } from './types.js';

export const ADAPTERS: Readonly<Record<AdapterName, Adapter<any>>> = {
  native: nativeAdapter,
  veh_flow: vehFlowAdapter,
  drv_flow: drvFlowAdapter,
  '18c': inspection18cAdapter,
  check_av: checkAvAdapter,
  exam: examAdapter,
  queue: queueAdapter,
};

export function adapterByName(name: AdapterName): Adapter<unknown> {
  return ADAPTERS[name] as Adapter<unknown>;
}

/** The transaction schema without the collector-assigned fields: what an adapter must produce. */
export const PendingTransactionSchema = TransactionSchema.omit({ id: true, collectorId: true, seq: true, capturedAt: true });

/**
 * Validates an adapter's output; returns the parsed record or a reason naming the first bad fields
 * (e.g. "vehicle.vin: Too small: expected string to have >=17 characters").
 */
export function validatePending(t: PendingTransaction): { ok: true; value: PendingTransaction } | { ok: false; reason: string } {
  const r = PendingTransactionSchema.safeParse(t);
  if (r.success) return { ok: true, value: r.data as PendingTransaction };
  return {
    ok: false,
    reason: r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.map(String).join('.') || '(record)'}: ${i.message}`)
      .join('; '),
  };
}

export { checkAvAdapter, examAdapter, inspection18cAdapter, nativeAdapter, drvFlowAdapter, vehFlowAdapter, queueAdapter };
export { SUGGESTED_ITEM_MIN_SECONDS, type Inspection18cState } from './inspection-18c.js';
export type { CheckAvState } from './check-av.js';
export { normalisePlate, parseTime, LineError } from './common.js';
export * from './types.js';
