/**
 * Held batches: a pending collector's batches, verified and chained, stored whole (sealed at rest)
 * and acknowledged, then evaluated in first_seq order once an administrator approves it. Each
 * pending collector may hold at most `quotaBytes` (HELD_QUOTA, retryable: the batch stays in the
 * device's outbox), counted in the store rather than in this replica's memory: a collector that
 * reconnects to another replica does not get a fresh quota there. Callers hold the collector's
 * lock (CollectorService.exclusive); the lock is per replica, so two replicas holding batches of
 * one collector at the same moment could each pass the check once — a collector keeps one
 * connection, so that takes a reconnect in the middle of a batch.
 */
import type { FastifyBaseLogger } from 'fastify';
import { HubError } from '../errors.js';
import type { Batch, BatchAck } from '../protocol/index.js';
import type { HubPseudonyms } from '../pseudonyms.js';
import type { Store } from '../store/store.js';
import { emit } from '../telemetry/events.js';
import { heldBytesOf, insertHeld, listHeld, markReleased } from './repo.js';

export type ProcessedAck = Extract<BatchAck, { ok: true }>;

/** What a sealed held payload is bound to: it opens only in its own row. */
function heldContext(collectorId: string, batchId: string): string {
  return `held|${collectorId}|${batchId}`;
}

export interface HeldDeps {
  store: Store;
  log: FastifyBaseLogger;
  /** Ingest's record path: validate, dead-letter, evaluate, store. */
  process: (collectorId: string, batch: Batch) => Promise<ProcessedAck>;
  atRest: Pick<HubPseudonyms, 'sealAtRest' | 'openAtRest'>;
  /** @defaultValue 4 MiB */
  quotaBytes?: number;
  now: () => number;
}

export class HeldBatches {
  /** Approved collectors that still have held batches to evaluate. */
  private readonly pending = new Set<string>();

  constructor(private readonly deps: HeldDeps) {}

  /** State read back from the store at start: approved collectors whose held batches are still due. */
  reset(approvedWithHeld: Iterable<string>): void {
    for (const id of approvedWithHeld) this.pending.add(id);
  }

  /** The collector was approved: its held batches are due. */
  due(collectorId: string): void {
    this.pending.add(collectorId);
  }

  /** The collector was revoked: its held batches are never evaluated. */
  drop(collectorId: string): void {
    this.pending.delete(collectorId);
  }

  isDue(collectorId: string): boolean {
    return this.pending.has(collectorId);
  }

  dueCollectors(): string[] {
    return [...this.pending];
  }

  /** Stores a batch of a pending collector whole, for evaluation on approval. */
  async hold(collectorId: string, batch: Batch): Promise<ProcessedAck> {
    const payload = this.deps.atRest.sealAtRest(JSON.stringify(batch), heldContext(collectorId, batch.batchId));
    const quota = this.deps.quotaBytes ?? 4 * 1024 * 1024;
    const used = await heldBytesOf(this.deps.store, collectorId, batch.batchId);
    if (used + payload.length > quota) {
      // Retryable: the batch stays in the device's outbox and flows once an administrator approves.
      throw new HubError('HELD_QUOTA', `${collectorId} is pending approval and already holds ${used} bytes (quota ${quota}); the batch stays on the collector until approval`);
    }
    await insertHeld(this.deps.store, {
      collectorId,
      batchId: batch.batchId,
      batchSeq: batch.batchSeq ?? 0,
      firstSeq: batch.firstSeq,
      lastSeq: batch.lastSeq,
      records: batch.records.length,
      payload,
      receivedAt: this.deps.now(),
    });
    emit(this.deps.log, 'batch.held', { collectorId, batchId: batch.batchId, records: batch.records.length });
    return { ok: true, batchId: batch.batchId, stored: 0, rejected: [], warnings: 0, held: true };
  }

  /** Evaluates the held batches of an approved collector, in order. Returns how many. */
  async release(collectorId: string): Promise<number> {
    const held = await listHeld(this.deps.store, collectorId);
    for (const h of held) {
      const batch = JSON.parse(this.deps.atRest.openAtRest(h.payload, heldContext(h.collectorId, h.batchId))) as Batch;
      const ack = await this.deps.process(collectorId, batch);
      await markReleased(this.deps.store, h, this.deps.now());
      emit(this.deps.log, 'batch.released', { collectorId, batchId: h.batchId, stored: ack.stored, rejected: ack.rejected.length, warnings: ack.warnings });
    }
    this.pending.delete(collectorId);
    return held.length;
  }
}
