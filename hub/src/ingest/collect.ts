/**
 * The /collect namespace: authenticate the collector (token and/or key, enrolment — see
 * hub/src/collectors/service.ts), verify each batch's signature and chain, validate each record
 * on its own, keep the invalid ones in the dead-letter table with their reason, enqueue the rest
 * (or hold the whole batch while the collector is pending approval), and acknowledge the batch
 * only once everything in it is durable (stored, dead-lettered or held).
 */
import type { Namespace, Server, Socket } from 'socket.io';
import { TransactionSchema } from '@jianguan/rules';
import type { z } from 'zod';
import {
  BatchSchema,
  CollectorAuthSchema,
  NAMESPACE_COLLECT,
  PROTOCOL_VERSION,
  type Batch,
  type BatchAck,
  type ChainTip,
  type CollectClientToServer,
  type CollectServerToClient,
  type RejectedRecord,
} from '../protocol/index.js';
import type { CollectorService, ProcessedAck } from '../collectors/service.js';
import { HubError, errorMessage, isHubError } from '../errors.js';
import type { EvaluationQueue } from '../jobs/queue.js';
import type { Registry } from '../registry/registry.js';
import { deadLetterRow, type DeadLetter } from '../store/repo.js';
import type { Store } from '../store/store.js';
import type { Telemetry } from '../telemetry/events.js';

interface SocketData {
  collectorId: string;
  institutionId: string;
}

type CollectNamespace = Namespace<CollectClientToServer, CollectServerToClient, Record<string, never>, SocketData>;

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
}

/** What the record path needs (also used to release held batches). */
export type RecordDeps = Pick<IngestDeps, 'store' | 'registry' | 'queue' | 'telemetry' | 'ackTimeoutMs'>;

/** "field.path: message" for each zod issue, so a dead letter says exactly what was wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ');
}

function recordIdOf(r: unknown): string {
  if (typeof r === 'object' && r !== null && 'id' in r && typeof (r as { id: unknown }).id === 'string') {
    return (r as { id: string }).id.slice(0, 128);
  }
  return '';
}

function safeJson(r: unknown): string {
  try {
    return JSON.stringify(r) ?? 'undefined';
  } catch (e) {
    return `<unserialisable: ${errorMessage(e)}>`;
  }
}

export function attachCollectNamespace(io: Server, deps: IngestDeps): { connected: () => number } {
  const nsp = io.of(NAMESPACE_COLLECT) as unknown as CollectNamespace;

  nsp.use((socket, next) => {
    const parsed = CollectorAuthSchema.safeParse(socket.handshake.auth);
    const claimed = String((socket.handshake.auth as { collectorId?: unknown })?.collectorId ?? '?');
    const refuse = (code: string, message: string): void => {
      deps.telemetry.collectorAuthFailed(claimed, socket.handshake.address);
      const err = new Error(`${code}: ${message}`) as Error & { data?: unknown };
      err.data = { code };
      next(err);
    };
    if (!parsed.success) {
      refuse('AUTH_FAILED', describeIssues(parsed.error));
      return;
    }
    deps.collectors.authenticate(parsed.data).then(
      (rec) => {
        socket.data.collectorId = rec.collectorId;
        socket.data.institutionId = rec.institutionId;
        next();
      },
      (e) => refuse(isHubError(e) ? e.code : 'AUTH_FAILED', errorMessage(e)),
    );
  });

  deps.collectors.setDisconnector((collectorId) => {
    for (const s of nsp.sockets.values()) {
      if (s.data.collectorId === collectorId) s.disconnect(true);
    }
  });

  let dropAcks = deps.faultInjection?.dropAckAfterStore ?? 0;

  nsp.on('connection', (socket) => {
    const collectorId = socket.data.collectorId;
    deps.collectors.connected(collectorId);
    deps.telemetry.collectorConnected(collectorId, nsp.sockets.size);
    const hello = (h: Awaited<ReturnType<CollectorService['hello']>> | undefined) =>
      socket.emit('hub.hello', {
        hubVersion: deps.hubVersion,
        protocol: PROTOCOL_VERSION,
        collectorId,
        institutionId: socket.data.institutionId,
        ...(h ? { status: h.status, chain: h.chain } : {}),
      });
    deps.collectors.hello(collectorId).then(hello, () => hello(undefined));
    socket.on('batch.submit', (batch, ack) => {
      if (typeof ack !== 'function') return;
      handleBatch(deps, socket as Socket<CollectClientToServer, CollectServerToClient, Record<string, never>, SocketData>, batch).then(
        (res) => {
          if (res.ok && dropAcks > 0) {
            // Fault injection: everything is stored, the ack is lost with the connection.
            dropAcks -= 1;
            socket.disconnect(true);
            return;
          }
          ack(res);
        },
        (e) => {
          const code = isHubError(e) ? e.code : 'EVALUATION_FAILED';
          const batchId = typeof batch === 'object' && batch && 'batchId' in batch ? String(batch.batchId) : '';
          deps.telemetry.batchFailed(batchId, collectorId, code, errorMessage(e));
          const chain = (e as { chain?: unknown }).chain;
          ack({
            ok: false,
            batchId,
            code,
            message: errorMessage(e),
            retryable: isHubError(e) ? e.retryable : true,
            ...(chain !== undefined ? { chain: chain as ChainTip | null } : {}),
          });
        },
      );
    });
    socket.on('disconnect', (reason) => {
      deps.collectors.disconnected(collectorId);
      deps.telemetry.collectorDisconnected(collectorId, reason, nsp.sockets.size);
    });
  });

  return { connected: () => nsp.sockets.size };
}

async function handleBatch(
  deps: IngestDeps,
  socket: Socket<CollectClientToServer, CollectServerToClient, Record<string, never>, SocketData>,
  raw: unknown,
): Promise<BatchAck> {
  const env = BatchSchema.safeParse(raw);
  if (!env.success) throw new HubError('BATCH_INVALID', describeIssues(env.error));
  const batch = env.data;
  const collectorId = socket.data.collectorId;
  if (batch.collectorId !== collectorId) {
    throw new HubError('COLLECTOR_MISMATCH', `batch says ${batch.collectorId}, connection is ${collectorId}`);
  }
  deps.telemetry.transactionsReceived(batch.batchId, collectorId, batch.records.length);
  // One batch of a collector at a time: verify → chain → store or hold → chain row → ack.
  return deps.collectors.exclusive(collectorId, async () => {
    const admission = await deps.collectors.admit(collectorId, batch);
    const ack = admission.hold ? await deps.collectors.hold(admission, batch) : await processBatch(deps, collectorId, batch);
    await deps.collectors.commit(admission, batch);
    return ack;
  });
}

/**
 * The record path: validate each record, dead-letter the bad ones, evaluate and store the rest
 * through the BullMQ job of the batch. Resolves only when all of it is durable.
 */
export async function processBatch(deps: RecordDeps, collectorId: string, batch: Batch): Promise<ProcessedAck> {
  const receivedAt = Date.now();
  const valid: z.infer<typeof TransactionSchema>[] = [];
  const rejected: RejectedRecord[] = [];
  const dead: DeadLetter[] = [];
  batch.records.forEach((record, index) => {
    const id = recordIdOf(record);
    let code = 'RECORD_INVALID';
    let reason = '';
    const parsed = TransactionSchema.safeParse(record);
    if (!parsed.success) {
      reason = describeIssues(parsed.error);
    } else if (parsed.data.collectorId !== collectorId) {
      code = 'COLLECTOR_MISMATCH';
      reason = `collectorId: record says ${parsed.data.collectorId}, connection is ${collectorId}`;
    } else if (!deps.registry.institution(parsed.data.institutionId)) {
      code = 'UNKNOWN_INSTITUTION';
      reason = `institutionId: ${parsed.data.institutionId} is not in the registry`;
    } else {
      valid.push(parsed.data);
      return;
    }
    rejected.push({ index, ...(id ? { id } : {}), code, reason });
    dead.push({
      recordKey: id || `${batch.batchId}#${index}`,
      batchId: batch.batchId,
      collectorId,
      recordIndex: index,
      recordId: id,
      code,
      reason,
      payload: safeJson(record),
      receivedAt,
    });
  });

  if (dead.length > 0) {
    await deps.store.insert('dead_letters', dead.map(deadLetterRow));
    deps.telemetry.recordsDeadLettered(batch.batchId, collectorId, rejected);
  }

  let stored = 0;
  let warnings = 0;
  if (valid.length > 0) {
    try {
      const res = await deps.queue.submit({ batchId: batch.batchId, collectorId, receivedAt, records: valid }, deps.ackTimeoutMs);
      stored = res.stored;
      warnings = res.warnings;
    } catch (e) {
      if (isHubError(e)) throw e;
      const msg = errorMessage(e);
      throw new HubError(/timed out/i.test(msg) ? 'EVALUATION_TIMEOUT' : 'EVALUATION_FAILED', msg, { cause: e });
    }
  }
  deps.telemetry.batchAcked(batch.batchId, collectorId, stored, rejected.length);
  return { ok: true, batchId: batch.batchId, stored, rejected, warnings };
}
