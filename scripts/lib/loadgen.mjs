// The bench's load generator ("hub mode" of `npm run bench`): signed, chained collector batches,
// built and sealed BEFORE the timed window and only sent during it, over one real socket.io
// connection to /collect per collector credential. It runs as a child process of the bench
// (forked, IPC) so its CPU is its own and the bench process stays free to time the wall socket
// and the hold decisions.
//
// What a connection does, as a collector would (collector/src/link/link.ts):
//   - handshake auth: collectorId, protocol, token, publicKey, ts, proof = Ed25519 signature of
//     canonicalAuthProof(collectorId, publicKey, ts), and `enrol` — a fresh proof per attempt;
//     nothing is sent before `hub.hello` (which also gives the hub's chain tip to build on);
//   - records: the collector's own simulator (createSimulator, same seeds, same anomaly rate)
//     through its pseudonymiser (toTransaction), ids `${collectorId}:${seq}`;
//   - batches `${collectorId}:${firstSeq}-${lastSeq}` sealed like BatchChain.seal: batchSeq,
//     prevHash (sha256 of the previous canonical header; GENESIS_HASH first), recordsDigest =
//     sha256(JSON.stringify(records)), Ed25519 signature of canonicalBatchHeader.
//
// Differences from a collector, all on the sending side:
//   - up to `window` batches in flight per connection instead of one (the hub still takes a
//     collector's batches one at a time, in order: CollectorService.exclusive);
//   - batch boundaries are fixed in advance (`batch` records): batch b (over all connections,
//     round robin) is planned at t0 + b·batch/rate, and its records carry capture times spread
//     over the span since the connection's previous batch, the last one at the planned send time
//     (so capture → stored includes the time a record waited for its batch). t0 is chosen after the records are generated, from a
//     measured sealing cost, so that sealing finishes before it; sending starts at t0. A batch
//     sent late (window full, hub behind) keeps its planned capture time, so capture → stored
//     includes the lag, as a collector's outbox backlog would. With rate 'max' every batch is
//     due at t0 (a backlog captured at once) and only the window paces the sending.
//   - except with `pacing: 'collector'` (the latency phase): there the records alone are planned
//     (record k of the run captured at t0 + k/rate, round robin over the connections) and each
//     connection forms its batches as the collector's link does — one batch in flight; when it
//     is acknowledged, everything captured since (up to `batch` records), after waiting for the
//     next record or the linger (`lingerMs`) when fewer are there — sealed as it leaves. A
//     connection that fell behind after a slow acknowledgement sends a larger batch next, as a
//     collector's outbox does, instead of a backlog of small ones.
//
// Acknowledgements: a batch counts as stored only on an ok ack. A retryable refusal, an ack
// timeout or a disconnect puts it back; the connection then stops sending new batches, lets the
// ones in flight settle and re-sends the failed ones one at a time, unchanged (same records, same
// seal). BATCH_CHAIN_CONFLICT (a later batch was accepted over a failed one) makes it seal the
// remaining ones again on top of the hub's tip, as the collector does. Non-retryable refusals are
// counted and not re-sent.
//
// Parent → child: {type:'run', ...options}. Child → parent: {type:'connected'}, {type:'ready',
// t0, ...}, {type:'progress', ...}, {type:'result', ...} or {type:'error', message}.
import crypto from 'node:crypto';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT } from './proc.mjs';

const SELF = fileURLToPath(import.meta.url);
const sha256Hex = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function deps() {
  const collector = await import(path.join(ROOT, 'collector', 'dist', 'index.js'));
  const protocol = await import('@jianguan/protocol');
  const { io } = await import('socket.io-client');
  return { collector, protocol, io };
}

/**
 * Opens an authenticated /collect connection exactly as the collector's link does and resolves
 * with the socket and the hub's hello once it arrived. `identity` is a collector identity
 * (collector/dist loadOrCreateIdentity). Reconnects by itself (fresh proof each attempt).
 */
export async function connectCollector({ hubUrl, collectorId, token, institutionId, identity, counter = 'bench', timeoutMs = 20_000 }) {
  const { protocol, io } = await deps();
  const socket = io(`${hubUrl.replace(/\/+$/, '')}${protocol.NAMESPACE_COLLECT}`, {
    auth: (cb) =>
      cb({
        collectorId,
        protocol: protocol.PROTOCOL_VERSION,
        ...(token !== undefined ? { token } : {}),
        ...identity.proof(collectorId),
        enrol: { institutionId, counter },
      }),
    transports: ['websocket'],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 200,
    reconnectionDelayMax: 5_000,
    timeout: 10_000,
  });
  const state = { ready: false, hello: undefined, refused: '', closed: false };
  const waiters = new Set();
  socket.on('connect', () => {
    state.ready = false;
  });
  socket.on('disconnect', (reason) => {
    state.ready = false;
    // The hub closed us on purpose (e.g. a restart drain): socket.io does not reconnect by itself.
    if (reason === 'io server disconnect' && !state.closed) setTimeout(() => !state.closed && socket.connect(), 200);
  });
  socket.on('connect_error', (e) => {
    state.refused = `${e.data?.code ?? ''} ${e.message}`.trim();
    // Refused by the middleware: socket.io gives up; a bench credential that is refused is a bug.
    if (!socket.active) for (const w of [...waiters]) w.reject(new Error(`${collectorId}: handshake refused: ${state.refused}`));
  });
  socket.on('hub.hello', (info) => {
    state.hello = info;
    if (info.status === 'pending') {
      for (const w of [...waiters]) w.reject(new Error(`${collectorId}: filed as pending (its key is not bound in the credentials file)`));
      return;
    }
    state.ready = true;
    for (const w of [...waiters]) w.resolve(info);
  });
  /** Resolves at the next (or current) hello. */
  const whenReady = (ms = timeoutMs) =>
    state.ready
      ? Promise.resolve(state.hello)
      : new Promise((resolve, reject) => {
          const w = {
            resolve: (v) => (clearTimeout(t), waiters.delete(w), resolve(v)),
            reject: (e) => (clearTimeout(t), waiters.delete(w), reject(e)),
          };
          const t = setTimeout(() => w.reject(new Error(`${collectorId}: no hub.hello within ${ms} ms ${state.refused}`)), ms);
          waiters.add(w);
        });
  const hello = await whenReady();
  const close = () => {
    state.closed = true;
    socket.close();
  };
  return { socket, hello, state, whenReady, close };
}

/** Quantile of an ascending array (nearest rank). */
export function quantile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// ---- the child ---------------------------------------------------------------------------------

/**
 * One connection's batches and send state. `head` is the chain position the next new batch must
 * continue; a batch sealed on another position (after a re-seal) is sealed again when it is sent.
 */
class Conn {
  constructor(cfg, cred, link, identity, canonicalBatchHeader, stats) {
    this.cfg = cfg;
    this.cred = cred;
    this.link = link;
    this.identity = identity;
    this.canonical = canonicalBatchHeader;
    this.stats = stats;
    this.batches = [];
    this.next = 0;
    this.inflight = new Set();
    this.retry = [];
    this.retrying = false;
    this.timer = undefined;
    this.done = false;
    // pacing 'collector': the connection's records in capture order, and the next one unsent.
    this.records = [];
    this.pos = 0;
    this.lingered = false;
  }

  seal(b, prev) {
    const header = {
      collectorId: this.cred.collectorId,
      batchId: b.batchId,
      batchSeq: prev.batchSeq + 1,
      prevHash: prev.hash,
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      recordsDigest: b.digest,
    };
    const canonical = this.canonical(header);
    b.seal = { batchSeq: header.batchSeq, prevHash: header.prevHash, hash: sha256Hex(canonical), signature: this.identity.sign(canonical) };
  }

  /**
   * The records' text, as a collector forms it: kept as bytes to send when the hub's hello says it
   * takes them (`recordsJson`), as the collector's link does; its digest is what the batch is signed with.
   * JG_BENCH_RECORDS=array sends the array as older collectors do (to compare the two).
   */
  digestOf(b) {
    const text = JSON.stringify(b.records);
    if (this.link.hello?.recordsJson === true && process.env.JG_BENCH_RECORDS !== 'array') {
      b.json = Buffer.from(text, 'utf8');
      b.digest = sha256Hex(b.json);
    } else b.digest = sha256Hex(text);
  }

  /** Seals every batch in order on top of `tip` (before the window). */
  sealAll(tip) {
    let prev = tip;
    for (const b of this.batches) {
      this.digestOf(b);
      this.seal(b, prev);
      prev = { batchSeq: b.seal.batchSeq, hash: b.seal.hash };
    }
    this.head = tip;
  }

  wire(b) {
    return {
      batchId: b.batchId,
      collectorId: this.cred.collectorId,
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      sentAt: Date.now(),
      ...(b.json ? { recordsJson: b.json } : { records: b.records }),
      batchSeq: b.seal.batchSeq,
      prevHash: b.seal.prevHash,
      recordsDigest: b.digest,
      signature: b.seal.signature,
    };
  }

  start(endAt) {
    this.endAt = endAt;
    this.pump();
  }

  /** Sends what is due, within the window; schedules itself for the next due batch. */
  pump() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.retry.length > 0) return this.recover();
    if (this.cfg.pacing === 'collector') return this.pumpCollector();
    const now = Date.now();
    if (!this.link.state.ready || !this.link.socket.connected) {
      if (this.next < this.batches.length && now < this.endAt) this.timer = setTimeout(() => this.pump(), 100);
      return this.checkDone();
    }
    while (this.inflight.size < this.cfg.window && this.next < this.batches.length && now < this.endAt) {
      const b = this.batches[this.next];
      if (b.plannedAt > now) break;
      this.next += 1;
      this.launch(b, now);
    }
    if (this.next < this.batches.length && now < this.endAt) {
      const due = this.batches[this.next].plannedAt;
      // A full window is re-pumped by the next ack.
      if (due > now) this.timer = setTimeout(() => this.pump(), Math.min(due, this.endAt) - now);
    }
    this.checkDone();
  }

  /**
   * pacing 'collector' (collector/src/link/link.ts): one batch in flight; the next one holds what
   * was captured meanwhile, up to `batch` records. With fewer than that it first waits for the
   * next record or the linger, whichever comes first (the link's signal wakes on every new
   * record), then takes what is there. Sealed on the chain's head as it leaves.
   */
  pumpCollector() {
    if (this.inflight.size > 0) return;
    const recs = this.records;
    if (this.pos >= recs.length) return this.checkDone();
    const now = Date.now();
    if (!this.link.state.ready || !this.link.socket.connected) {
      this.timer = setTimeout(() => this.pump(), 100);
      return;
    }
    const due = recs[this.pos].capturedAt;
    if (due > now) {
      this.timer = setTimeout(() => this.pump(), due - now);
      return;
    }
    let end = this.pos;
    while (end < recs.length && end - this.pos < this.cfg.batch && recs[end].capturedAt <= now) end += 1;
    if (!this.lingered && end - this.pos < this.cfg.batch && end < recs.length) {
      this.lingered = true;
      this.timer = setTimeout(() => this.pump(), Math.max(0, Math.min(this.cfg.lingerMs, recs[end].capturedAt - now)));
      return;
    }
    this.lingered = false;
    const records = recs.slice(this.pos, end);
    this.pos = end;
    const b = { index: this.batches.length, records, firstSeq: records[0].seq, lastSeq: records[records.length - 1].seq };
    b.batchId = `${this.cred.collectorId}:${b.firstSeq}-${b.lastSeq}`;
    this.digestOf(b);
    // Its last record's capture: the earliest moment this batch could have left.
    b.plannedAt = records[records.length - 1].capturedAt;
    this.batches.push(b);
    this.next = this.batches.length;
    this.launch(b, now);
  }

  /**
   * Sends a new batch on the chain's head: sealed there if it is not yet (pacing 'collector') or
   * was sealed on another position (after a re-seal), then counted and sent.
   */
  launch(b, now) {
    if (!b.seal || b.seal.prevHash !== this.head.hash || b.seal.batchSeq !== this.head.batchSeq + 1) {
      if (b.seal) this.stats.resealed += 1;
      this.seal(b, this.head);
    }
    this.head = { batchSeq: b.seal.batchSeq, hash: b.seal.hash };
    b.firstSentAt = now;
    this.stats.sentRecords += b.records.length;
    this.stats.sendLag.push(now - b.plannedAt);
    this.send(b);
  }

  send(b) {
    b.attempts = (b.attempts ?? 0) + 1;
    this.inflight.add(b);
    const sentAt = Date.now();
    this.link.socket
      .timeout(this.cfg.ackTimeoutMs)
      .emitWithAck('batch.submit', this.wire(b))
      .then(
        (ack) => this.settle(b, sentAt, ack),
        (e) => {
          const msg = String(e?.message ?? e);
          this.settle(b, sentAt, { ok: false, code: /timed out/i.test(msg) ? 'ACK_TIMEOUT' : 'DISCONNECTED', message: msg, retryable: true });
        },
      );
  }

  settle(b, sentAt, ack) {
    this.inflight.delete(b);
    const s = this.stats;
    if (ack && ack.ok === true && ack.batchId === b.batchId) {
      b.state = 'done';
      s.ackedBatches += 1;
      s.ackedRecords += b.records.length;
      s.storedByAck += Number(ack.stored ?? 0);
      s.rejected += Array.isArray(ack.rejected) ? ack.rejected.length : 0;
      if (Array.isArray(ack.rejected) && ack.rejected.length > 0 && s.rejectSamples.length < 5) s.rejectSamples.push(...ack.rejected.slice(0, 2));
      s.ackMs.push(Date.now() - sentAt);
      s.lastAckAt = Date.now();
      b.records = null; // nothing left to re-send: let it go
    } else {
      const code = ack?.code ?? 'BAD_ACK';
      s.failures[code] = (s.failures[code] ?? 0) + 1;
      if (s.failureSamples.length < 5) s.failureSamples.push(`${b.batchId}: ${code} ${ack?.message ?? JSON.stringify(ack)}`.slice(0, 300));
      if (code === 'BATCH_CHAIN_CONFLICT' && ack.chain !== undefined) {
        s.conflicts += 1;
        this.conflictTip = ack.chain ?? { batchSeq: 0, hash: this.cfg.genesis };
        this.queueRetry(b);
      } else if (ack?.retryable === false) {
        b.state = 'refused';
        s.refusedBatches += 1;
        s.refusedRecords += b.records.length;
      } else {
        this.queueRetry(b);
      }
    }
    this.pump();
  }

  queueRetry(b) {
    if (!this.retry.includes(b)) {
      this.retry.push(b);
      this.retry.sort((x, y) => x.index - y.index);
    }
  }

  /** Re-sends the failed batches one at a time, in order, after the in-flight ones settled. */
  recover() {
    if (this.retrying || this.inflight.size > 0) return;
    if (this.conflictTip) {
      // A later batch was accepted over a failed one: seal the failed ones again on the hub's tip.
      let prev = this.conflictTip;
      this.conflictTip = undefined;
      for (const b of this.retry) {
        this.seal(b, prev);
        this.stats.resealed += 1;
        prev = { batchSeq: b.seal.batchSeq, hash: b.seal.hash };
      }
      // Every batch not yet sent comes after these (new sends pause while recovering).
      this.head = prev;
    }
    const b = this.retry[0];
    this.retrying = true;
    const attempt = b.attempts ?? 1;
    const backoff = Math.min(5_000, 100 * 2 ** Math.min(attempt - 1, 6));
    setTimeout(async () => {
      try {
        if (!this.link.state.ready || !this.link.socket.connected) await this.link.whenReady(60_000).catch(() => {});
        this.retry.shift();
        this.stats.resentBatches += 1;
        this.stats.resentRecords += b.records.length;
        this.send(b);
      } finally {
        this.retrying = false;
      }
    }, backoff);
  }

  checkDone() {
    const rest = this.cfg.pacing === 'collector' ? this.pos >= this.records.length : this.next >= this.batches.length || Date.now() >= this.endAt;
    const finished = this.inflight.size === 0 && this.retry.length === 0 && !this.retrying && rest;
    if (finished && !this.done) {
      this.done = true;
      this.onDone?.();
    }
  }
}

async function runChild(cfg) {
  const { collector, protocol } = await deps();
  const started = Date.now();
  const stats = {
    sentRecords: 0,
    ackedBatches: 0,
    ackedRecords: 0,
    storedByAck: 0,
    rejected: 0,
    rejectSamples: [],
    refusedBatches: 0,
    refusedRecords: 0,
    resentBatches: 0,
    resentRecords: 0,
    resealed: 0,
    conflicts: 0,
    failures: {},
    failureSamples: [],
    ackMs: [],
    sendLag: [],
    lastAckAt: 0,
  };
  cfg.genesis = protocol.GENESIS_HASH;
  const n = cfg.creds.length;

  // 1. Connect every credential (a real handshake each) and learn the hub's chain tips.
  const conns = [];
  for (const cred of cfg.creds) {
    const identity = await collector.loadOrCreateIdentity(cred.identityDir);
    const link = await connectCollector({ hubUrl: cfg.hubUrl, collectorId: cred.collectorId, token: cred.token, institutionId: cred.institutionId, identity });
    conns.push(new Conn(cfg, cred, link, identity, protocol.canonicalBatchHeader, stats));
  }
  process.send({ type: 'connected' });

  // 2. Generate the records (the collector's simulator and pseudonymiser), cut into batches.
  const max = cfg.rate === 'max';
  const total = max ? cfg.maxRecords : Math.round(cfg.rate * cfg.seconds);
  const nBatches = Math.ceil(total / cfg.batch);
  const pseudonymizer = collector.createPseudonymizer(cfg.pseudonymKey);
  const sims = conns.map((c, i) =>
    collector.createSimulator({
      institutionId: c.cred.institutionId,
      anomalyRate: cfg.anomalyRate,
      malformedRate: 0,
      seed: cfg.seed + i,
      streamKey: `${c.cred.collectorId}:1`,
    }),
  );
  const seqs = conns.map(() => 0);
  let injected = 0;
  const all = [];
  const collectorPacing = cfg.pacing === 'collector';
  if (collectorPacing) {
    // Records only; batches are formed as they leave. Record k: connection k mod n.
    for (let k = 0; k < total; k++) {
      const ci = k % n;
      const rec = sims[ci].next();
      if (rec.injected) injected += 1;
      seqs[ci] += 1;
      conns[ci].records.push(collector.toTransaction(rec.raw, { collectorId: conns[ci].cred.collectorId, seq: seqs[ci], capturedAt: 0 }, pseudonymizer));
    }
  }
  for (let b = 0; b < (collectorPacing ? 0 : nBatches); b++) {
    const ci = b % n;
    const c = conns[ci];
    const size = Math.min(cfg.batch, total - b * cfg.batch);
    const records = [];
    for (let k = 0; k < size; k++) {
      const rec = sims[ci].next();
      if (rec.injected) injected += 1;
      seqs[ci] += 1;
      records.push(collector.toTransaction(rec.raw, { collectorId: c.cred.collectorId, seq: seqs[ci], capturedAt: 0 }, pseudonymizer));
    }
    const batch = { index: c.batches.length, global: b, records, firstSeq: records[0].seq, lastSeq: records[records.length - 1].seq };
    batch.batchId = `${c.cred.collectorId}:${batch.firstSeq}-${batch.lastSeq}`;
    c.batches.push(batch);
    all.push(batch);
  }
  const generatedAt = Date.now();

  // 3. Choose t0 from the measured cost of sealing a few batches, stamp capture times, seal all.
  const sealCost = (bs) => {
    const p0 = performance.now();
    for (const b of bs) conns[0].identity.sign(sha256Hex(JSON.stringify(b.records)));
    return (performance.now() - p0) / Math.max(1, bs.length);
  };
  sealCost(all.slice(0, 3)); // warm-up
  const perBatch = sealCost(all.slice(0, Math.min(20, all.length)));
  const t0 = Date.now() + Math.ceil(perBatch * all.length * 1.3) + 500;
  // A connection's consecutive batches are `span` ms apart; a batch holds what its counter
  // captured during that span, so its records' capture times spread over it and the first one
  // has waited a whole span when the batch leaves (a collector's outbox wait, not hidden).
  const span = max || collectorPacing ? 0 : (cfg.batch * cfg.creds.length * 1000) / cfg.rate;
  // pacing 'collector': record j of connection ci is record k = j·n + ci of the run.
  conns.forEach((c, ci) => c.records.forEach((r, j) => (r.capturedAt = t0 + Math.floor(((j * n + ci) * 1000) / cfg.rate))));
  for (const b of all) {
    b.plannedAt = max ? t0 : t0 + Math.floor((b.global * cfg.batch * 1000) / cfg.rate);
    const n = b.records.length;
    b.records.forEach((r, i) => (r.capturedAt = b.plannedAt - Math.round((span * (n - 1 - i)) / n)));
  }
  for (const c of conns) {
    const tip = c.link.hello?.chain ?? null;
    c.sealAll(tip ? { batchSeq: tip.batchSeq, hash: tip.hash } : { batchSeq: 0, hash: protocol.GENESIS_HASH });
  }
  const sealedAt = Date.now();
  process.send({
    type: 'ready',
    t0,
    plannedRecords: total,
    plannedBatches: all.length,
    injected,
    generateMs: generatedAt - started,
    sealMs: sealedAt - generatedAt,
    startLagMs: Math.max(0, sealedAt - t0),
  });

  // 4. Send during [t0, t0 + seconds); then let everything in flight settle (drain).
  await sleep(t0 - Date.now());
  const cpu0 = process.cpuUsage();
  const endAt = t0 + cfg.seconds * 1000;
  const doneAll = Promise.all(conns.map((c) => new Promise((resolve) => (c.onDone = resolve))));
  const progress = setInterval(() => {
    const inflight = conns.reduce((s, c) => s + c.inflight.size, 0);
    process.send({ type: 'progress', sent: stats.sentRecords, acked: stats.ackedRecords, inflight, resent: stats.resentBatches });
  }, 1000);
  for (const c of conns) c.start(endAt);
  const stopSendingAt = new Promise((r) => setTimeout(r, endAt - Date.now()));
  await stopSendingAt;
  // After the window no new batch starts; batches in flight and their re-sends may still finish.
  for (const c of conns) c.pump();
  const drained = await Promise.race([doneAll.then(() => true), sleep(cfg.drainMs).then(() => false)]);
  clearInterval(progress);
  const cpu = process.cpuUsage(cpu0);
  const sentBatches = conns.reduce((s, c) => s + c.next, 0);
  const unacked = conns.reduce((s, c) => s + [...c.inflight, ...c.retry].reduce((x, b) => x + (b.records?.length ?? 0), 0), 0);
  stats.ackMs.sort((a, b) => a - b);
  stats.sendLag.sort((a, b) => a - b);
  const result = {
    type: 'result',
    t0,
    // The earliest capture time of the run is t0 − spanMs (see the capture-time note above).
    spanMs: Math.ceil(span),
    endAt,
    lastAckAt: stats.lastAckAt,
    drained,
    plannedRecords: total,
    plannedBatches: collectorPacing ? sentBatches : all.length,
    sentBatches,
    unsentBatches: collectorPacing ? 0 : all.length - sentBatches,
    unsentRecords:
      all.filter((b) => b.firstSentAt === undefined).reduce((s, b) => s + (b.records?.length ?? 0), 0) +
      conns.reduce((s, c) => s + c.records.length - c.pos, 0),
    sentRecords: stats.sentRecords,
    ackedRecords: stats.ackedRecords,
    ackedBatches: stats.ackedBatches,
    storedByAck: stats.storedByAck,
    rejected: stats.rejected,
    rejectSamples: stats.rejectSamples,
    refusedBatches: stats.refusedBatches,
    refusedRecords: stats.refusedRecords,
    unackedRecords: unacked,
    resentBatches: stats.resentBatches,
    resentRecords: stats.resentRecords,
    resealed: stats.resealed,
    conflicts: stats.conflicts,
    failures: stats.failures,
    failureSamples: stats.failureSamples,
    injected,
    ackThroughput: stats.ackedRecords / Math.max(0.001, ((stats.lastAckAt || Date.now()) - t0) / 1000),
    ackMs: { p50: quantile(stats.ackMs, 0.5), p95: quantile(stats.ackMs, 0.95), p99: quantile(stats.ackMs, 0.99) },
    sendLagMs: { p50: quantile(stats.sendLag, 0.5), p99: quantile(stats.sendLag, 0.99), max: stats.sendLag[stats.sendLag.length - 1] ?? NaN },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  for (const c of conns) c.link.close();
  return result;
}

/**
 * Forks the load generator for one run. Resolves with its result; `onReady(ready)` is called when
 * the batches are sealed and t0 is known, `onProgress(p)` about once a second while sending.
 */
export function runLoadgen(options, { onReady, onProgress, onConnected } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
    let result;
    child.on('message', (m) => {
      if (m.type === 'connected') onConnected?.(child.pid);
      else if (m.type === 'ready') onReady?.(m, child.pid);
      else if (m.type === 'progress') onProgress?.(m);
      else if (m.type === 'result') result = m;
      else if (m.type === 'error') reject(new Error(`load generator: ${m.message}`));
    });
    child.on('exit', (code) => (result ? resolve({ ...result, pid: child.pid }) : reject(new Error(`load generator exited (${code}) without a result`))));
    child.send({ type: 'run', ...options });
  });
}

if (process.argv[1] === SELF && process.argv.includes('--child') && process.send) {
  process.once('message', (m) => {
    // Exit once the answer is out: an unsettled ack timer must not keep the child alive.
    runChild(m).then(
      (result) => process.send(result, () => process.exit(0)),
      (e) => process.send({ type: 'error', message: e?.stack ?? String(e) }, () => process.exit(1)),
    );
  });
}
