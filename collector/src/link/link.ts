/**
 * The link to the hub: a socket.io client on `${hubUrl}/collect` that ships the outbox in order,
 * one batch in flight at a time, and deletes from the outbox only what the hub acknowledged.
 *
 *   peek(after ackedSeq) ──▶ batch `${collectorId}:${firstSeq}-${lastSeq}` ──▶ emitWithAck
 *        ▲                                                                     │
 *        └── outbox.ack(lastSeq) ◀── {ok:true} ───────────────────────────────┘
 *            {ok:false, retryable} / timeout / disconnect → same batch again after a
 *            full-jitter exponential backoff (minMs..maxMs). Non-retryable → logged as an
 *            error, retried at maxMs pace, never deleted.
 *
 * A batch, once formed, is re-sent with exactly the same records and batch id until it is
 * acknowledged, so the hub can de-duplicate on the batch id (its BullMQ job id) as well as on
 * transaction ids. Records the hub rejected (dead-lettered) are durable on the hub, so an
 * `ok:true` acknowledges them too.
 *
 * With an identity (collector/src/identity), the handshake carries the public key and a fresh
 * proof, and every batch is sealed before its first send — batchSeq, prevHash, records digest,
 * Ed25519 signature, persisted in chain.json — so a re-send, also after a restart, is the same
 * signed batch. Nothing is sent before `hub.hello`, which tells the collector its status
 * (pending collectors' batches are held by the hub) and the hub's chain tip (a collector whose
 * chain.json was lost resumes from it). BATCH_CHAIN_CONFLICT makes the link take the hub's tip
 * and seal the same records again on top of it.
 *
 * A disk error on the way (chain.json cannot be written, so the batch is not sent; ack.json cannot
 * be written, so nothing is deleted) is retried with the same full-jitter backoff, not left to the
 * send loop's restart: the usual cause is a full disk, and every acknowledgement that gets through
 * deletes segments and makes room. The outbox keeps free space in reserve for exactly these
 * writes (outbox.ts, "Disk space").
 */
import { io, type Socket } from 'socket.io-client';
import {
  DECISION_EVENT,
  NAMESPACE_COLLECT,
  PROTOCOL_VERSION,
  withRecordsAsBytes,
  type Batch,
  type BatchAck,
  type ChainTip,
  type CollectClientToServer,
  type CollectServerToClient,
  type DecisionRequest,
} from '@jianguan/protocol';
import { errorMessage } from '../errors.js';
import { BatchChain, type ChainEvent } from '../identity/chain.js';
import type { CollectorIdentity } from '../identity/keys.js';
import type { Outbox, OutboxRecord } from '../outbox/outbox.js';

export type LinkState = 'connecting' | 'connected' | 'disconnected';

export interface LinkCounters {
  /** Records submitted (a re-sent record counts again). */
  sent: number;
  /** Records acknowledged by the hub (stored or dead-lettered). */
  acked: number;
  /** Records the hub acknowledged as rejected (dead-lettered). */
  rejected: number;
  batchesSent: number;
  batchesAcked: number;
  /** Submissions that failed (timeout, disconnect, ok:false). */
  batchFailures: number;
  lastAckAt: number | null;
}

export type LinkEvent =
  | { event: 'link.connecting'; url: string }
  | { event: 'link.connected'; socketId: string | undefined }
  | { event: 'link.disconnected'; reason: string }
  | { event: 'link.connect_error'; message: string }
  | { event: 'link.rejected'; code: string; message: string; retryInMs: number }
  | { event: 'hub.hello'; hubVersion: string; protocol: number; institutionId: string; status?: string; chain?: ChainTip | null }
  | { event: 'link.pending'; message: string }
  | ChainEvent
  | { event: 'chain.abandoned'; batchId: string; batchSeq: number; reason: string }
  | { event: 'batch.sent'; batchId: string; records: number; bytes: number; attempt: number; batchSeq?: number }
  | { event: 'batch.acked'; batchId: string; records: number; stored: number; rejected: number; warnings: number; ms: number; held?: boolean }
  | { event: 'batch.rejected_records'; batchId: string; rejected: { id?: string; code: string; reason: string }[] }
  | { event: 'batch.failed'; batchId: string; code: string; message: string; retryable: boolean; attempt: number; retryInMs: number }
  | { event: 'link.error'; message: string };

export interface LinkOptions {
  collectorId: string;
  /** Static credential; absent = enrolment mode (identity and `enrol` required). */
  token?: string;
  /** Signs the handshake proof (the chain signs batches with the same key). */
  identity?: CollectorIdentity;
  /** Seals batches; without it batches go unsigned (older hubs, tests). */
  chain?: BatchChain;
  /** Sent in the handshake: an unknown (or revoked, with a new key) collector id is filed as pending (事前备案). */
  enrol?: { institutionId: string; counter: string };
  hubUrl: string;
  /** PEM CA certificate(s): the only roots the wss:// link trusts (config hubCa). */
  ca?: string;
  batch: { maxRecords: number; maxBytes: number; lingerMs: number };
  ackTimeoutMs: number;
  backoff: { minMs: number; maxMs: number };
  outbox: Outbox;
  counters: LinkCounters;
  emit: (e: LinkEvent) => void;
  /** Called after every acknowledgement has been applied to the outbox. */
  onAcked?: () => void;
  /** Producer finished: no point lingering for more records. */
  sourceDone?: () => boolean;
}

/** Full-jitter exponential backoff: uniform in [minMs, min(maxMs, minMs·2^attempt)]. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * Math.max(0, cap - minMs));
}

/** A wake-up flag: `notify()` before `wait()` is not lost. */
class Signal {
  private flag = false;
  private waiter: (() => void) | undefined;

  notify(): void {
    this.flag = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves on the next notify (or at once if one is pending), or after `ms`. */
  wait(ms?: number): Promise<void> {
    if (this.flag) {
      this.flag = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = () => {
        if (timer) clearTimeout(timer);
        this.flag = false;
        resolve();
      };
      if (ms !== undefined) {
        timer = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, ms);
      }
    });
  }
}

type SubmitOutcome =
  | { ok: true; ack: Extract<BatchAck, { ok: true }> }
  | { ok: false; code: string; message: string; retryable: boolean; chain?: ChainTip | null };

/** How long to wait for hub.hello after connecting before sending anyway (a hub without it). */
const HELLO_TIMEOUT_MS = 5_000;

/** ENOSPC or EDQUOT, on the error or anything it wraps: no room on the disk (or the user's quota). */
export function isDiskFull(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && typeof x === 'object' && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

export class Link {
  private readonly o: LinkOptions;
  private readonly socket: Socket<CollectServerToClient, CollectClientToServer>;
  private readonly signal = new Signal();
  private _state: LinkState = 'connecting';
  private stopping = false;
  private loop: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private rejections = 0;
  private inFlight: Promise<unknown> | undefined;
  /** hub.hello seen (and any chain resync applied) on the current connection. */
  private ready = false;
  /** The hub on this connection takes records as bytes (hub.hello `recordsJson`). */
  private recordsAsBytes = false;
  private helloTimer: NodeJS.Timeout | undefined;
  /** Bumped when the chain is re-based: a batch formed before that must be formed again. */
  private chainEpoch = 0;

  constructor(options: LinkOptions) {
    this.o = options;
    const url = `${options.hubUrl.replace(/\/+$/, '')}${NAMESPACE_COLLECT}`;
    const { collectorId, token, identity, enrol } = options;
    this.socket = io(url, {
      // A function: a fresh proof (timestamp) on every connection attempt.
      auth: (cb) =>
        cb({
          collectorId,
          protocol: PROTOCOL_VERSION,
          ...(token !== undefined ? { token } : {}),
          ...(identity ? identity.proof(collectorId) : {}),
          ...(enrol ? { enrol } : {}),
        }),
      transports: ['websocket'],
      // TLS: with a pinned CA only that CA's certificates are accepted; never unverified.
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      rejectUnauthorized: true,
      forceNew: true,
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: options.backoff.minMs,
      reconnectionDelayMax: options.backoff.maxMs,
      randomizationFactor: 0.5,
      timeout: 10_000,
    });
    this.wire(url);
  }

  get state(): LinkState {
    return this._state;
  }

  start(): void {
    if (this.loop) return;
    this.socket.connect();
    this.loop = this.run().catch((e) => {
      this.o.emit({ event: 'link.error', message: `send loop stopped: ${errorMessage(e)}` });
    });
  }

  /** New records are in the outbox. */
  wake(): void {
    this.signal.notify();
  }

  /**
   * The hold decision (`decision.request`), a request/answer exchange beside the batch stream.
   * Fails at once when the hub is not connected: the caller applies its offline fallback.
   */
  async decide(request: DecisionRequest, timeoutMs: number): Promise<unknown> {
    if (!this.socket.connected) throw new Error('link to the hub is not connected');
    // Typed by the collect contract; the caller still checks the answer's shape (a hub of another
    // version, or a proxy in between, must not be trusted blindly with the counter's decision).
    return this.socket.timeout(timeoutMs).emitWithAck(DECISION_EVENT, request);
  }

  /**
   * Stops sending: lets an in-flight batch settle for up to `graceMs`, then closes the socket
   * (an unanswered batch stays in the outbox and is re-sent next time).
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.stopping) {
      await this.loop;
      return;
    }
    this.stopping = true;
    this.signal.notify();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (this.inFlight) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.inFlight.catch(() => {}), new Promise((r) => (t = setTimeout(r, graceMs)))]);
      if (t) clearTimeout(t);
    }
    this.socket.disconnect();
    this.socket.removeAllListeners();
    this._state = 'disconnected';
    await this.loop;
  }

  private wire(url: string): void {
    const s = this.socket;
    this.o.emit({ event: 'link.connecting', url });
    s.on('connect', () => {
      this._state = 'connected';
      this.rejections = 0;
      this.ready = false;
      this.recordsAsBytes = false;
      this.o.emit({ event: 'link.connected', socketId: s.id });
      if (this.helloTimer) clearTimeout(this.helloTimer);
      this.helloTimer = setTimeout(() => {
        if (this.ready || !s.connected) return;
        this.o.emit({ event: 'link.error', message: `no hub.hello within ${HELLO_TIMEOUT_MS} ms; sending anyway` });
        this.ready = true;
        this.signal.notify();
      }, HELLO_TIMEOUT_MS);
      this.signal.notify();
    });
    s.on('disconnect', (reason) => {
      this._state = this.stopping ? 'disconnected' : 'connecting';
      this.o.emit({ event: 'link.disconnected', reason });
      // The hub closed us on purpose (e.g. a restart drain): socket.io will not reconnect by itself.
      if (reason === 'io server disconnect' && !this.stopping) this.scheduleReconnect(this.o.backoff.minMs);
      this.signal.notify();
    });
    s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (this.stopping) return;
      if (!s.active) {
        // Refused by the hub's middleware (AUTH_FAILED …): socket.io gives up, we do not — a token
        // may be fixed hub-side — but retry slowly and say so loudly.
        this._state = 'disconnected';
        this.rejections += 1;
        const retryInMs = Math.max(this.o.backoff.maxMs, this.o.backoff.minMs);
        const code = err.data?.code ?? (/^([A-Z_]+):/.exec(err.message)?.[1] ?? 'CONNECT_REFUSED');
        this.o.emit({ event: 'link.rejected', code, message: err.message, retryInMs });
        this.scheduleReconnect(retryInMs);
      } else {
        this._state = 'connecting';
        this.o.emit({ event: 'link.connect_error', message: err.message });
      }
    });
    s.on('hub.hello', (info) => {
      // Records as bytes: the hub hashes them as they arrive instead of serialising them again.
      this.recordsAsBytes = info.recordsJson === true;
      this.o.emit({
        event: 'hub.hello',
        hubVersion: info.hubVersion,
        protocol: info.protocol,
        institutionId: info.institutionId,
        ...(info.status ? { status: info.status } : {}),
        ...(info.chain !== undefined ? { chain: info.chain } : {}),
      });
      if (info.status === 'pending') {
        this.o.emit({ event: 'link.pending', message: 'awaiting approval by an administrator: batches are held by the hub, not evaluated yet' });
      }
      const resync =
        this.o.chain && info.chain !== undefined
          ? this.o.chain.adopt(info.chain, { reason: 'hub.hello: the hub accepted more of this chain than chain.json knows', onEvent: (e) => this.o.emit(e) })
          : Promise.resolve(false);
      resync
        .then(
          (changed) => {
            if (changed) this.chainEpoch += 1;
          },
          (e) => this.o.emit({ event: 'link.error', message: `chain resync failed: ${errorMessage(e)}` }),
        )
        .finally(() => {
          if (this.helloTimer) clearTimeout(this.helloTimer);
          this.ready = true;
          this.signal.notify();
        });
    });
  }

  private scheduleReconnect(ms: number): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping && !this.socket.connected) {
        this._state = 'connecting';
        this.socket.connect();
      }
    }, ms);
  }

  /** The send loop, restarted after an unexpected error (a disk error must not stop shipping for good). */
  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.sendLoop();
      } catch (e) {
        if (this.stopping) break;
        this.o.emit({ event: 'link.error', message: `send loop: ${errorMessage(e)}; restarting in ${this.o.backoff.maxMs} ms` });
        const until = Date.now() + this.o.backoff.maxMs;
        while (!this.stopping && Date.now() < until) await this.signal.wait(until - Date.now());
      }
    }
  }

  private async sendLoop(): Promise<void> {
    const { outbox, batch: limits } = this.o;
    const chain = this.o.chain;
    let pending: Batch | undefined;
    let pendingEpoch = 0;
    let pendingBytes = 0;
    let attempt = 0;
    /** Consecutive failed chain.json / ack.json writes: paces their retries. */
    let diskFailures = 0;
    const diskBackoff = async (what: string, e: unknown): Promise<void> => {
      // A disk filled to the last block by something else: the outbox's spare file gives its
      // bytes back and the write is retried at once (outbox.ts, "Disk space").
      if (isDiskFull(e) && (await outbox.releaseSpare().catch(() => false))) {
        this.o.emit({ event: 'link.error', message: `${what}: ${errorMessage(e)}; the outbox's spare file was deleted to make room, retrying now` });
        return;
      }
      diskFailures += 1;
      const retryInMs = backoffDelay(diskFailures, this.o.backoff.minMs, this.o.backoff.maxMs);
      this.o.emit({ event: 'link.error', message: `${what}: ${errorMessage(e)}; retrying in ${retryInMs} ms` });
      const until = Date.now() + retryInMs;
      while (!this.stopping && Date.now() < until) await this.signal.wait(until - Date.now());
    };
    while (!this.stopping) {
      if (!this.socket.connected || !this.ready) {
        await this.signal.wait(1_000);
        continue;
      }
      // The chain was re-based under a formed batch: form (and seal) it again.
      if (pending && pendingEpoch !== this.chainEpoch) pending = undefined;
      if (!pending) {
        const epoch = this.chainEpoch;
        let recs: OutboxRecord[] | undefined;
        let header = chain?.pendingAfter(outbox.ackedSeq);
        if (header) {
          // A batch sealed before (this run or an earlier one): send it again unchanged.
          const again = await outbox.peek(outbox.ackedSeq, header.count);
          if (chain!.matches(header, again)) {
            recs = again;
          } else {
            this.o.emit({ event: 'chain.abandoned', batchId: header.batchId, batchSeq: header.batchSeq, reason: 'records changed on disk since sealing; sealing them again' });
            header = undefined;
          }
        }
        if (!recs) {
          recs = await outbox.peek(outbox.ackedSeq, limits.maxRecords, limits.maxBytes);
          if (recs.length === 0) {
            await this.signal.wait(1_000);
            continue;
          }
          if (recs.length < limits.maxRecords && limits.lingerMs > 0 && !this.o.sourceDone?.()) {
            await this.signal.wait(limits.lingerMs);
            if (this.stopping) break;
            recs = await outbox.peek(outbox.ackedSeq, limits.maxRecords, limits.maxBytes);
          }
          // Sealed (and persisted) before the first send. A header that could not be saved is not
          // sent: a restart would forget it and seal other records under the same batchSeq.
          if (chain) {
            try {
              header = await chain.seal(this.o.collectorId, recs);
            } catch (e) {
              await diskBackoff(`batch ${recs[0]!.seq}-${recs[recs.length - 1]!.seq} not sent, its chain header could not be saved`, e);
              continue;
            }
          }
        }
        const first = recs[0]!.seq;
        const last = recs[recs.length - 1]!.seq;
        pending = {
          batchId: header?.batchId ?? `${this.o.collectorId}:${first}-${last}`,
          collectorId: this.o.collectorId,
          firstSeq: first,
          lastSeq: last,
          sentAt: Date.now(),
          records: recs.map((r) => r.payload),
          ...(header ? BatchChain.wireFields(header) : {}),
        };
        // If the chain was re-based while this batch was formed, the check above forms it again.
        pendingEpoch = epoch;
        pendingBytes = recs.reduce((sum, r) => sum + r.bytes, 0);
        attempt = 0;
      }
      attempt += 1;
      const batch: Batch = { ...pending, sentAt: Date.now() };
      const bytes = pendingBytes;
      const t0 = Date.now();
      this.o.counters.sent += batch.records.length;
      this.o.counters.batchesSent += 1;
      this.o.emit({
        event: 'batch.sent',
        batchId: batch.batchId,
        records: batch.records.length,
        bytes,
        attempt,
        ...(batch.batchSeq !== undefined ? { batchSeq: batch.batchSeq } : {}),
      });
      const submit = this.submit(batch);
      this.inFlight = submit;
      const res = await submit;
      this.inFlight = undefined;

      if (res.ok) {
        try {
          await outbox.ack(batch.lastSeq);
        } catch (e) {
          // The hub has it; failing to record that only means a harmless re-send later.
          await diskBackoff(`outbox ack of ${batch.batchId} failed`, e);
          continue;
        }
        diskFailures = 0;
        const c = this.o.counters;
        c.acked += batch.records.length;
        c.rejected += res.ack.rejected.length;
        c.batchesAcked += 1;
        c.lastAckAt = Date.now();
        this.o.emit({
          event: 'batch.acked',
          batchId: batch.batchId,
          records: batch.records.length,
          stored: res.ack.stored,
          rejected: res.ack.rejected.length,
          warnings: res.ack.warnings,
          ms: Date.now() - t0,
          ...(res.ack.held ? { held: true } : {}),
        });
        if (res.ack.rejected.length > 0) {
          this.o.emit({
            event: 'batch.rejected_records',
            batchId: batch.batchId,
            rejected: res.ack.rejected.slice(0, 20).map((r) => ({ ...(r.id ? { id: r.id } : {}), code: r.code, reason: r.reason })),
          });
        }
        pending = undefined;
        this.o.onAcked?.();
        continue;
      }

      this.o.counters.batchFailures += 1;
      if (res.code === 'BATCH_CHAIN_CONFLICT' && chain && res.chain !== undefined) {
        // The hub accepted a different history: take its tip and seal these records again.
        this.o.emit({ event: 'batch.failed', batchId: batch.batchId, code: res.code, message: res.message, retryable: false, attempt, retryInMs: this.o.backoff.minMs });
        try {
          await chain.adopt(res.chain, { force: true, reason: `${res.code}: ${res.message}`, onEvent: (e) => this.o.emit(e) });
          this.chainEpoch += 1;
        } catch (e) {
          this.o.emit({ event: 'link.error', message: `chain resync failed: ${errorMessage(e)}` });
        }
        pending = undefined;
        await this.signal.wait(this.o.backoff.minMs);
        continue;
      }
      const retryInMs = res.retryable ? backoffDelay(attempt, this.o.backoff.minMs, this.o.backoff.maxMs) : this.o.backoff.maxMs;
      this.o.emit({
        event: 'batch.failed',
        batchId: batch.batchId,
        code: res.code,
        message: res.message,
        retryable: res.retryable,
        attempt,
        retryInMs,
      });
      // Sleep, but wake early when stopping. A reconnect does not cut the backoff short: the hub
      // may be restarting and a burst of collectors should spread out.
      const until = Date.now() + retryInMs;
      while (!this.stopping && Date.now() < until) await this.signal.wait(until - Date.now());
    }
  }

  private async submit(batch: Batch): Promise<SubmitOutcome> {
    if (!this.socket.connected) return { ok: false, code: 'DISCONNECTED', message: 'not connected', retryable: true };
    try {
      const ack = await this.socket.timeout(this.o.ackTimeoutMs).emitWithAck('batch.submit', this.recordsAsBytes ? withRecordsAsBytes(batch) : batch);
      if (typeof ack !== 'object' || ack === null) {
        return { ok: false, code: 'BAD_ACK', message: `unexpected acknowledgement ${JSON.stringify(ack)}`, retryable: true };
      }
      if (ack.ok) {
        if (ack.batchId !== batch.batchId) {
          return { ok: false, code: 'BAD_ACK', message: `ack names batch ${ack.batchId}, sent ${batch.batchId}`, retryable: true };
        }
        return { ok: true, ack: { ...ack, rejected: Array.isArray(ack.rejected) ? ack.rejected : [] } };
      }
      return { ok: false, code: ack.code, message: ack.message, retryable: ack.retryable !== false, ...(ack.chain !== undefined ? { chain: ack.chain } : {}) };
    } catch (e) {
      const message = errorMessage(e);
      const code = /timed out/i.test(message) ? 'ACK_TIMEOUT' : /disconnected/i.test(message) ? 'DISCONNECTED' : 'SEND_FAILED';
      return { ok: false, code, message, retryable: true };
    }
  }
}
