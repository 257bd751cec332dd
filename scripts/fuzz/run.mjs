// The hostile-input runner shared by `npm run fuzz` (scripts/fuzz.mjs, hub as a child process)
// and the CI test (hub/test/fuzz.integration.test.ts, hub in-process). It only needs URLs and a
// few callbacks, so the same generators and the same checks run in both.
//
// Properties checked:
//   - the hub and the collector stay alive (checked after every slice of inputs and at the end);
//   - no HTTP 5xx; no socket ack or connect error with an internal code;
//   - every refusal is coded (HTTP 4xx `error.code`, collector `error`, acks/connect errors `code`);
//   - every input is answered (no timeouts);
//   - the records of a legitimate signed collector, interleaved through the run, are stored
//     exactly once, under that collector (checked by the caller's `verifyStored`);
//   - the hub's RSS stays under a limit (sampled through the caller's `rss`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { batchCase, batchSeeds, Chain, chainCase, CollectSession, crossCase, crossSeeds, handshakeCase, handshakeSeeds, keyAuth, LegitCollector, newKey, recordCase, recordSeeds, sendBatch, sendChain, sendCross, sendHandshake, sendRecords } from './collect.mjs';
import { collectorCase, collectorSeeds, sendCollector } from './collector-http.mjs';
import { engineCase, engineSeeds, sendEngine } from './engineio.mjs';
import { buildXlsx, operationsOf, restCase, restSeeds, ROLES, sendRest } from './rest.mjs';
import { rng } from './values.mjs';
import { httpRequest } from './wire.mjs';

/** Share of the inputs per category (sums to 1). */
export const CATEGORIES = [
  { name: 'collect.handshake', weight: 0.1, concurrency: 12, seeds: handshakeSeeds, gen: handshakeCase, send: sendHandshake },
  { name: 'collect.batch', weight: 0.1, concurrency: 16, seeds: batchSeeds, gen: batchCase, send: sendBatch },
  { name: 'collect.records', weight: 0.1, concurrency: 8, seeds: recordSeeds, gen: recordCase, send: sendRecords },
  { name: 'collect.chain', weight: 0.05, concurrency: 1, seeds: () => [], gen: chainCase, send: sendChain },
  { name: 'collect.cross', weight: 0.05, concurrency: 2, seeds: crossSeeds, gen: crossCase, send: sendCross },
  { name: 'engine.io', weight: 0.15, concurrency: 32, seeds: engineSeeds, gen: engineCase, send: sendEngine },
  { name: 'rest', weight: 0.33, concurrency: 16, seeds: restSeeds, gen: restCase, send: sendRest },
  { name: 'collector.http', weight: 0.12, concurrency: 8, seeds: collectorSeeds, gen: collectorCase, send: sendCollector },
];

/**
 * The collectors the hub must know (static credentials): give them to the hub before the run.
 * `rec` sends hostile records, `a` cross-collector inputs, `chain` broken chains, `legit` the
 * records that must arrive; `col` is the collector process behind the local endpoint.
 */
export function fuzzCollectors(seed = 'fuzz') {
  const tok = (n) => crypto.createHash('sha256').update(`${seed}:${n}`).digest('hex').slice(0, 32);
  // Every one has its key bound in its credential (`publicKey`), as an administrator binds it:
  // the hub refuses token-only collectors and never trusts a key on first use. The key pair
  // itself is kept off the enumerable fields, so the objects serialise as plain credentials.
  const cred = (collectorId, institutionId, n) => {
    const key = newKey();
    return Object.defineProperty({ collectorId, institutionId, token: tok(n), publicKey: key.publicKey }, 'key', { value: key, enumerable: false });
  };
  return {
    rec: cred('fz-rec', 'JCJ-JYZ', 'rec'),
    a: cred('fz-a', 'YZ-JYZ', 'a'),
    chain: cred('fz-chain', 'JCJ-JYZ', 'chain'),
    legit: cred('fz-legit', 'JCJ-JYZ', 'legit'),
    col: cred('fz-col', 'JCJ-JYZ', 'col'),
  };
}

/**
 * Puts `c`'s bound key where the collector process keeps its identity (`<outboxDir>/identity.key`,
 * PKCS#8 PEM, 0600 — collector/src/identity/keys.ts), so the process behind the local endpoint
 * presents the key its credential names.
 */
export function writeCollectorIdentity(outboxDir, c) {
  fs.mkdirSync(outboxDir, { recursive: true });
  fs.writeFileSync(path.join(outboxDir, 'identity.key'), c.key.privatePem, { mode: 0o600, flag: 'wx' });
}

const RESULTS = ['accepted', 'refused', '5xx', 'uncoded', 'silent', 'dropped', 'unsent'];
const VIOLATIONS = new Set(['5xx', 'uncoded', 'silent']);

/**
 * @param {object} o
 * @param {string} o.hubUrl
 * @param {string} o.collectorUrl
 * @param {object} o.protocol  canonicalAuthProof, canonicalBatchHeader, GENESIS_HASH (hub protocol module)
 * @param {ReturnType<typeof fuzzCollectors>} o.collectors
 * @param {number} o.count     inputs to send
 * @param {number} o.seconds   stop sending after this long even if `count` is not reached
 * @param {string|number} o.seed
 * @param {() => Promise<{hub: boolean, collector: boolean}>} o.alive
 * @param {(which: 'hub'|'collector') => Promise<string>} [o.recover]  restart a dead process; returns what it printed when it died
 * @param {() => number} o.rss  the hub's resident set size in bytes
 * @param {number} o.maxRssBytes
 * @param {(ids: string[]) => Promise<{id: string, n: number, collectors: string[], lsh: string[]}[]>} o.verifyStored
 * @param {(line: string) => void} [o.log]
 */
/**
 * True for a write to a connection the server already reset: the expected end of many hostile
 * inputs, seen by this client only. (`ws` and node:http can surface it outside any request.)
 */
export function isClientReset(e) {
  return !!e && typeof e === 'object' && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && e.syscall === 'write';
}

export async function runFuzz(o) {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  const r = rng(o.seed);
  const C = o.collectors;
  const strangerKey = newKey();
  const { key: chainKey } = C.chain;
  const { key: legitKey } = C.legit;
  const fix = {
    recId: C.rec.collectorId, recToken: C.rec.token, recInstitution: C.rec.institutionId, recKey: C.rec.key,
    aId: C.a.collectorId, aToken: C.a.token, aInstitution: C.a.institutionId, aKey: C.a.key,
    chainId: C.chain.collectorId, chainToken: C.chain.token, chainInstitution: C.chain.institutionId, chainKey,
    legitId: C.legit.collectorId, legitToken: C.legit.token, legitInstitution: C.legit.institutionId,
    strangerKey,
    usedChainAuth: undefined,
  };
  let recSeq = 0;
  let aSeq = 0;
  let chainSeq = 0;
  const ctx = {
    hubUrl: o.hubUrl,
    collectorUrl: o.collectorUrl,
    protocol: o.protocol,
    fix,
    r: r.fork('ctx'),
    // Broken envelopes are refused before any store work, in milliseconds; batches that reach the
    // store get longer; the legitimate collector waits as long as a real one.
    envelopeAckTimeoutMs: 3_000,
    ackTimeoutMs: 20_000,
    legitAckTimeoutMs: 40_000,
    tokens: {},
    ops: [],
    warningId: undefined,
    xlsx: await buildXlsx(),
    nextRecSeq: (k) => ((recSeq += k), recSeq - k + 1),
    nextASeq: (k) => ((aSeq += k), aSeq - k + 1),
    nextChainSeq: (k) => ((chainSeq += k), chainSeq - k + 1),
  };
  ctx.chain = new Chain(o.protocol, chainKey, fix.chainId);
  ctx.legitChain = new Chain(o.protocol, legitKey, fix.legitId);
  const sessionLog = (line) => log(`  ${line}`);
  ctx.sessions = {
    rec: new CollectSession(o.hubUrl, () => keyAuth(o.protocol, fix.recId, fix.recKey, { token: fix.recToken }), sessionLog, new Chain(o.protocol, fix.recKey, fix.recId)),
    a: new CollectSession(o.hubUrl, () => keyAuth(o.protocol, fix.aId, fix.aKey, { token: fix.aToken }), sessionLog, new Chain(o.protocol, fix.aKey, fix.aId)),
    chain: new CollectSession(o.hubUrl, () => (fix.usedChainAuth = keyAuth(o.protocol, fix.chainId, chainKey, { token: fix.chainToken })), sessionLog),
    legit: new CollectSession(o.hubUrl, () => keyAuth(o.protocol, fix.legitId, legitKey, { token: fix.legitToken }), sessionLog),
  };
  const legit = new LegitCollector(ctx);
  ctx.legit = legit;

  const login = async () => {
    for (const u of ROLES) {
      const res = await httpRequest(o.hubUrl, { method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: 'jianguan-demo' }) });
      try {
        ctx.tokens[u] = JSON.parse(res.text).token;
      } catch {
        log(`login ${u}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    ctx.tokens.registry2 ??= ctx.tokens.registry;
    const reg2 = await httpRequest(o.hubUrl, { method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'registry2', password: 'jianguan-demo' }) });
    if (reg2.status === 200) ctx.tokens.registry2 = JSON.parse(reg2.text).token;
  };
  const refreshTokens = async () => {
    const me = await httpRequest(o.hubUrl, { path: '/api/v1/auth/me', headers: { authorization: `Bearer ${ctx.tokens.admin ?? ''}` } });
    if (me.status !== 200) await login();
  };
  const findWarning = async () => {
    const res = await httpRequest(o.hubUrl, { path: '/api/v1/warnings?limit=5', headers: { authorization: `Bearer ${ctx.tokens.admin ?? ''}` } });
    try {
      const items = JSON.parse(res.text).items ?? [];
      if (items[0]?.id) ctx.warningId = items[0].id;
    } catch {
      /* none yet */
    }
  };

  await login();
  // The document is behind login (JG_DOCS_PUBLIC is off, as in production).
  const docRes = await httpRequest(o.hubUrl, { path: '/docs/json', headers: { authorization: `Bearer ${ctx.tokens.admin ?? ''}` } });
  if (docRes.status !== 200) throw new Error(`/docs/json: ${docRes.status} ${docRes.text.slice(0, 200)}`);
  ctx.ops = operationsOf(JSON.parse(docRes.text));
  if (!ctx.ops.length) throw new Error('the OpenAPI document lists no operations');

  // ---- bookkeeping -------------------------------------------------------------------------
  const stats = new Map(CATEGORIES.map((c) => [c.name, { name: c.name, sent: 0, exits: 0, ms: 0, ...Object.fromEntries(RESULTS.map((k) => [k, 0])) }]));
  const violations = new Map();
  const findings = new Map();
  const dropped = new Map();
  const note = (map, key, entry) => {
    const v = map.get(key);
    if (v) v.count += 1;
    else map.set(key, { ...entry, count: 1 });
  };
  let rssMax = 0;
  const rssTimer = setInterval(() => {
    const v = o.rss();
    if (Number.isFinite(v)) rssMax = Math.max(rssMax, v);
  }, 500);
  const exits = [];
  const recent = [];

  const checkAlive = async (category) => {
    const a = await o.alive();
    for (const which of ['hub', 'collector']) {
      if (a[which]) continue;
      const s = stats.get(category);
      if (s) s.exits += 1;
      const printed = o.recover ? await o.recover(which) : '';
      exits.push({ which, category, lastInputs: recent.slice(-12), output: printed });
      note(violations, `exit|${which}|${category}`, { category, kind: 'exit', input: recent.slice(-6).join(' ⟂ '), detail: `${which} exited${printed ? `: ${printed.slice(-1500)}` : ''}` });
      log(`${which} died during ${category}; last inputs: ${recent.slice(-6).join(' ⟂ ')}`);
      if (which === 'hub') await login();
    }
    return a;
  };

  const runCase = async (cat, c) => {
    const s = stats.get(cat.name);
    s.sent += 1;
    recent.push(`${cat.name}: ${c.name}`);
    if (recent.length > 50) recent.shift();
    let out;
    try {
      if (c.broken) throw new Error(c.name);
      out = await cat.send(ctx, c);
    } catch (e) {
      out = { result: 'silent', detail: `harness: ${e.message}` };
    }
    s[out.result] = (s[out.result] ?? 0) + 1;
    // One line per kind of failure: the input's name and the answer's status, not its text.
    if (VIOLATIONS.has(out.result)) note(violations, `${out.result}|${cat.name}|${c.name.replace(/^[A-Z]+ (?=path variants)/, '')}|${String(out.detail).split(' ')[0]}`, { category: cat.name, kind: out.result, input: c.name, detail: out.detail });
    if (out.result === 'dropped') note(dropped, `${cat.name}|${c.name}`, { category: cat.name, input: c.name, detail: out.detail });
    if (out.finding) note(findings, `${cat.name}|${c.name}`, { category: cat.name, input: c.name, detail: out.finding });
  };

  const quotas = CATEGORIES.map((c) => Math.max(1, Math.round(o.count * c.weight)));
  const rounds = Math.max(4, Math.min(60, Math.ceil(o.count / 2500)));
  const gens = new Map(CATEGORIES.map((c) => [c.name, r.fork(c.name)]));
  let stoppedByTime = false;

  try {
    for (let round = 0; round < rounds && !stoppedByTime; round++) {
      for (const [i, cat] of CATEGORIES.entries()) {
        if (Date.now() > deadline) {
          stoppedByTime = true;
          break;
        }
        const s = stats.get(cat.name);
        const target = Math.min(quotas[i], Math.ceil((quotas[i] * (round + 1)) / rounds));
        const cases = [];
        if (round === 0) for (const seed of cat.seeds(ctx)) cases.push(cat.name === 'collect.records' || cat.name === 'collect.cross' ? cat.gen(gens.get(cat.name), ctx, seed) : seed);
        const gen = gens.get(cat.name);
        let queued = s.sent + cases.length;
        const next = () => {
          if (cases.length) return cases.shift();
          if (queued >= target || Date.now() > deadline) return undefined;
          queued += 1;
          try {
            return cat.gen(gen, ctx);
          } catch (e) {
            // A generator bug must not end the run; it is reported like any unanswered input.
            return { name: `generator error: ${e.message}`, broken: true };
          }
        };
        const sliceStart = Date.now();
        await Promise.all(
          Array.from({ length: cat.concurrency }, async () => {
            for (let c = next(); c; c = next()) await runCase(cat, c);
          }),
        );
        s.ms += Date.now() - sliceStart;
        await checkAlive(cat.name);
        await legit.step();
      }
      await refreshTokens();
      if (!ctx.warningId) await findWarning();
      const sent = [...stats.values()].reduce((a, s) => a + s.sent, 0);
      log(`round ${round + 1}/${rounds}: ${sent} inputs, ${Math.round((Date.now() - t0) / 1000)} s, hub RSS max ${Math.round(rssMax / 2 ** 20)} MiB; seconds per category ${[...stats.values()].map((x) => `${x.name} ${Math.round(x.ms / 1000)}`).join(', ')}`);
    }
  } finally {
    clearInterval(rssTimer);
  }

  // ---- the end: everything answered, the legitimate records stored exactly once --------------
  const drained = await legit.drain(90_000);
  const finalAlive = await checkAlive('end');
  for (const s of Object.values(ctx.sessions)) s.close();
  const rows = await o.verifyStored(legit.ids);
  const byId = new Map(rows.map((x) => [x.id, x]));
  const missing = legit.ids.filter((id) => !byId.has(id));
  const duplicated = rows.filter((x) => Number(x.n) > 1);
  const foreign = rows.filter((x) => x.collectors.some((c) => c !== fix.legitId) || x.lsh.some((l) => l !== legit.lsh.get(x.id)));
  if (!drained) note(violations, 'legit|undrained', { category: 'legit', kind: 'legit-unacked', input: `${legit.pending.length} batch(es)`, detail: legit.failures.slice(-3).join(' | ') });
  if (missing.length) note(violations, 'legit|missing', { category: 'legit', kind: 'legit-missing', input: `${missing.length} of ${legit.ids.length} records`, detail: missing.slice(0, 10).join(', ') });
  if (duplicated.length) note(violations, 'legit|dup', { category: 'legit', kind: 'legit-duplicated', input: `${duplicated.length} records`, detail: duplicated.slice(0, 5).map((x) => `${x.id}×${x.n}`).join(', ') });
  if (foreign.length) note(violations, 'legit|foreign', { category: 'legit', kind: 'legit-overwritten', input: `${foreign.length} records`, detail: foreign.slice(0, 5).map((x) => `${x.id} collectors=${x.collectors.join('/')}`).join(', ') });
  if (rssMax > o.maxRssBytes) note(violations, 'rss', { category: 'hub', kind: 'rss', input: '', detail: `max RSS ${Math.round(rssMax / 2 ** 20)} MiB > ${Math.round(o.maxRssBytes / 2 ** 20)} MiB` });
  if (!finalAlive.hub || !finalAlive.collector) note(violations, 'dead-at-end', { category: 'end', kind: 'exit', input: '', detail: `alive at the end: hub ${finalAlive.hub}, collector ${finalAlive.collector}` });

  const categories = [...stats.values()].filter((s) => s.name !== 'end');
  const total = categories.reduce((a, s) => a + s.sent, 0);
  const v = [...violations.values()];
  return {
    seed: String(o.seed),
    count: o.count,
    seconds: o.seconds,
    elapsedMs: Date.now() - t0,
    stoppedByTime,
    total,
    categories,
    exits,
    violations: v,
    findings: [...findings.values()],
    dropped: [...dropped.values()],
    legit: { records: legit.ids.length, batchesSent: legit.sent, acked: legit.acks, missing: missing.length, duplicated: duplicated.length, overwritten: foreign.length, failures: legit.failures.slice(0, 20) },
    rssMaxBytes: rssMax,
    maxRssBytes: o.maxRssBytes,
    verdict: v.length === 0 ? 'PASS' : 'FAIL',
  };
}

/** The report as a text table and a verdict line. */
export function formatReport(rep) {
  const cols = ['category', 'sent', 'accepted', 'refused', '5xx', 'uncoded', 'silent', 'dropped', 'exits'];
  const rows = rep.categories.map((s) => [s.name, s.sent, s.accepted, s.refused, s['5xx'], s.uncoded, s.silent, s.dropped, s.exits]);
  const sum = (k) => rep.categories.reduce((a, s) => a + (s[k] ?? 0), 0);
  rows.push(['total', rep.total, sum('accepted'), sum('refused'), sum('5xx'), sum('uncoded'), sum('silent'), sum('dropped'), sum('exits')]);
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((x, i) => (i === 0 ? String(x).padEnd(w[i]) : String(x).padStart(w[i]))).join('  ');
  const out = [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
  out.push('');
  out.push(`legitimate records: ${rep.legit.records} sent in ${rep.legit.batchesSent} batch submissions; missing ${rep.legit.missing}, duplicated ${rep.legit.duplicated}, overwritten ${rep.legit.overwritten}`);
  out.push(`hub RSS max: ${Math.round(rep.rssMaxBytes / 2 ** 20)} MiB (limit ${Math.round(rep.maxRssBytes / 2 ** 20)} MiB)`);
  out.push(`seed ${rep.seed}; ${Math.round(rep.elapsedMs / 1000)} s${rep.stoppedByTime ? ' (stopped by --seconds before --count)' : ''}`);
  if (rep.findings.length) {
    out.push('', 'findings (accepted, not failures):');
    for (const f of rep.findings) out.push(`  [${f.category}] ${f.input} ×${f.count}: ${f.detail}`);
  }
  if (rep.dropped.length) {
    out.push('', 'connections closed by the server instead of an answer (not failures):');
    for (const f of rep.dropped.slice(0, 12)) out.push(`  [${f.category}] ${f.input} ×${f.count}: ${String(f.detail).slice(0, 120)}`);
  }
  if (rep.violations.length) {
    out.push('', 'violations:');
    for (const v of rep.violations.slice(0, 60)) out.push(`  [${v.category}] ${v.kind} ×${v.count} — ${v.input}: ${String(v.detail ?? '').slice(0, 400).replace(/\n/g, ' ⏎ ')}`);
    if (rep.violations.length > 60) out.push(`  … ${rep.violations.length - 60} more`);
  }
  out.push('', `verdict: ${rep.verdict} — ${rep.total} inputs, ${sum('5xx')} 5xx, ${sum('uncoded')} uncoded, ${sum('silent')} unanswered, ${sum('exits')} exits, ${rep.violations.length} distinct violations`);
  return out.join('\n');
}
