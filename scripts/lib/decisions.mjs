// Hold-decision traffic shared by hub/bench/decisions.bench.mjs and `npm run bench`'s latency
// phase: the transactions asked about and the open-loop schedule. Node built-ins only.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';

const HEX = (s) => crypto.createHash('sha256').update(s).digest('hex');
// Wednesday 2026-11-25 10:00 China Standard Time: working time, so calendar rules stay quiet.
const DAY = Date.UTC(2026, 10, 25, 2, 0, 0);

/**
 * Vehicle checks at an inspection station (every request goes through the blocking rules,
 * including the stateful photo-reuse peek), every tenth by the station's inspector whose filing
 * expired (`${institutionId}-I90`: held). Returns a function making the next transaction.
 */
export function holdTransactions({ collectorId, institutionId }) {
  let seq = 0;
  return function txn() {
    const n = ++seq;
    const at = DAY + n * 500;
    const held = n % 10 === 0;
    return {
      id: `${collectorId}:hold:${n}`,
      collectorId,
      seq: 0,
      source: 'check_av',
      channel: 'institution',
      institutionId,
      counter: 'L1',
      staffId: held ? `${institutionId}-I90` : `${institutionId}-I0${1 + (n % 4)}`,
      lsh: `2611250${String(n).padStart(6, '0')}`,
      kind: 'check',
      ywlx: 'A',
      subject: { idHash: HEX(`subject-${n}`), masked: '4512**********123X' },
      vehicle: { hpzl: '02', hphm: `桂M${String(10000 + (n % 90000))}`, vin: `LSVAA4182E2${String(100000 + (n % 900000)).slice(-6)}` },
      occurredAt: at,
      startedAt: at,
      endedAt: at + 400_000,
      capturedAt: Date.now(),
      outcome: 'pass',
      evidence: [HEX(`photo-${n}`)],
    };
  };
}

/**
 * Open loop: request i leaves at start + i/rate whether or not earlier ones answered (so a slow
 * answer cannot hide the requests that would have queued behind it). `once()` resolves with
 * {ms, server, decision}; `record` gets that or {error}. Resolves with the elapsed seconds once
 * every request answered.
 */
export async function openLoop(rate, seconds, once, record) {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(once().then(record, (e) => record({ error: String(e?.message ?? e) })));
  }
  await Promise.all(pending);
  return (performance.now() - started) / 1000;
}

/** One `decision.request` over an authenticated /collect socket (the collector's hold path). */
export function socketDecision(socket, collectorId, txn, timeoutMs = 10_000) {
  let requests = 0;
  return async function once() {
    const t0 = performance.now();
    const ack = await socket.timeout(timeoutMs).emitWithAck('decision.request', { requestId: `${collectorId}:d:${++requests}`, transaction: txn() });
    const ms = performance.now() - t0;
    if (!ack.ok) throw new Error(`${ack.code} ${ack.message}`);
    return { ms, server: ack.ms, decision: ack.decision };
  };
}

/** One `POST /api/v1/decisions` with the given Authorization header. */
export function httpDecision(base, authorization, txn) {
  return async function once() {
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(txn()) });
    const body = await res.json();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    return { ms, server: body.ms, decision: body.decision };
  };
}
