// Generators for the /collect namespace: handshakes, batch envelopes, records, chains and
// cross-collector inputs, plus the legitimate signed collector whose records must all arrive.
import crypto from 'node:crypto';
import { CONTROL_CHARS, LONE_SURROGATES, deep, hostileString, hostileValue, safeStringify } from './values.mjs';
import { RawSocketIo } from './wire.mjs';

const NSP = '/collect';
export const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

/** Working time on a known weekday: Wednesday 2026-11-25 10:00 China Standard Time. */
const WORKING_TIME = Date.UTC(2026, 10, 25, 2, 0, 0);
/** 03:00 China Standard Time the same day: outside working hours, so some legit records raise warnings. */
const NIGHT_TIME = Date.UTC(2026, 10, 24, 19, 0, 0);

export function newKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    /** PKCS#8 PEM, the collector's identity.key format (collector/src/identity/keys.ts). */
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    sign: (data) => crypto.sign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64'),
  };
}

/**
 * A proof timestamp later than any this process handed out before: two handshakes of one
 * collector made in the same millisecond (a session reconnecting while a handshake case runs)
 * would otherwise carry the same proof, and the hub refuses the second as a replay — right, but
 * not what either meant to test. The deliberate replay case reuses a proof instead.
 */
let lastProofTs = 0;
export function freshProofTs() {
  lastProofTs = Math.max(Date.now(), lastProofTs + 1);
  return lastProofTs;
}

export function keyAuth(protocol, collectorId, key, extra = {}, ts = freshProofTs()) {
  return { collectorId, publicKey: key.publicKey, ts, proof: key.sign(protocol.canonicalAuthProof(collectorId, key.publicKey, ts)), ...extra };
}

/** A valid vehicle-check record of `collectorId` numbered `seq`. */
export function validRecord(collectorId, institutionId, seq, over = {}) {
  const started = (seq % 7 === 3 ? NIGHT_TIME : WORKING_TIME) + seq * 1000;
  return {
    id: `${collectorId}:${seq}`,
    collectorId,
    seq,
    source: 'fuzz',
    channel: 'institution',
    institutionId,
    counter: 'L1',
    staffId: 'JCJ-JYZ-I01',
    lsh: `26112${String(seq).padStart(9, '0')}`.slice(0, 14),
    kind: 'check',
    ywlx: 'A',
    subject: { idHash: sha256(`subject-${collectorId}-${seq}`), masked: '4512**********123X' },
    vehicle: { hpzl: '02', hphm: `桂M${String(10000 + (seq % 90000))}`, vin: `LSVAA4182E2${String(100000 + seq).slice(-6)}` },
    occurredAt: started,
    startedAt: started,
    endedAt: started + 400_000,
    capturedAt: Date.now(),
    outcome: 'pass',
    ...over,
  };
}

/** Seals records into a signed, chained batch (the wire format of protocol/index.ts). */
export class Chain {
  constructor(protocol, key, collectorId) {
    this.protocol = protocol;
    this.key = key;
    this.collectorId = collectorId;
    this.batchSeq = 0;
    this.hash = protocol.GENESIS_HASH;
  }

  seal(records, { batchSeq = this.batchSeq + 1, prevHash = this.hash, batchId, advance = true, tamper, firstSeq = records[0]?.seq ?? 0, lastSeq = records[records.length - 1]?.seq ?? 0 } = {}) {
    const id = batchId ?? `${this.collectorId}:${firstSeq}-${lastSeq}`;
    const recordsDigest = sha256(JSON.stringify(records));
    const canonical = this.protocol.canonicalBatchHeader({ collectorId: this.collectorId, batchId: id, batchSeq, prevHash, firstSeq, lastSeq, recordsDigest });
    const batch = { batchId: id, collectorId: this.collectorId, firstSeq, lastSeq, sentAt: Date.now(), records, batchSeq, prevHash, recordsDigest, signature: this.key.sign(canonical) };
    if (tamper) tamper(batch);
    if (advance) {
      this.batchSeq = batchSeq;
      this.hash = sha256(canonical);
    }
    return batch;
  }
}

// ---- outcome classification ----------------------------------------------------------------

/** Codes a hub answer may carry only when something unexpected broke inside it. */
const INTERNAL_CODES = new Set(['INTERNAL', 'EVALUATION_FAILED', 'EVALUATION_TIMEOUT']);

/** Classifies the ack of batch.submit; `expectAck: false` for packets the hub must ignore. */
export function classifyAck(res, expectAck = true) {
  if (res.kind === 'closed') return { result: 'dropped', detail: res.why };
  if (res.kind === 'timeout') return expectAck ? { result: 'silent', detail: 'no ack' } : { result: 'refused', detail: 'ignored' };
  const a = Array.isArray(res.args) ? res.args[0] : undefined;
  if (!a || typeof a !== 'object') return { result: 'uncoded', detail: `ack ${safeStringify(res.args).slice(0, 200)}` };
  if (a.ok === true) {
    const uncodedRejects = Array.isArray(a.rejected) ? a.rejected.filter((x) => typeof x?.code !== 'string' || !x.code) : [{}];
    if (uncodedRejects.length) return { result: 'uncoded', detail: 'ok ack with a rejected record without code' };
    return { result: 'accepted', ack: a };
  }
  if (typeof a.code !== 'string' || !a.code) return { result: 'uncoded', detail: `ok:false without code: ${safeStringify(a).slice(0, 200)}` };
  if (INTERNAL_CODES.has(a.code)) return { result: '5xx', detail: `${a.code}: ${String(a.message).slice(0, 300)}`, ack: a };
  return { result: 'refused', code: a.code, ack: a };
}

/** Classifies the answer to a CONNECT packet. */
export function classifyConnect(res) {
  if (res.kind === 'connected') return { result: 'accepted' };
  if (res.kind === 'timeout') return { result: 'silent', detail: 'no answer to CONNECT' };
  if (res.kind === 'closed') return { result: 'dropped', detail: res.why };
  const code = res.data?.data?.code;
  if (typeof code === 'string' && code) return { result: INTERNAL_CODES.has(code) ? '5xx' : 'refused', code };
  return { result: 'uncoded', detail: `connect_error ${safeStringify(res.data).slice(0, 200)}` };
}

// ---- sessions: authenticated sockets the generators send on ---------------------------------

/**
 * A socket on /collect that reconnects after the hub closes it (an error, a restart). `auth`
 * is called for a fresh handshake each time (proofs are single-use).
 */
export class CollectSession {
  /** `chain` (a Chain of this collector's bound key) seals batches sent with submitSealed. */
  constructor(base, auth, log, chain) {
    this.base = base;
    this.auth = auth;
    this.log = log;
    this.chain = chain;
    this.sock = undefined;
  }

  async ready() {
    if (this.sock && !this.sock.closed) return this.sock;
    for (let attempt = 0; ; attempt++) {
      try {
        const s = await new RawSocketIo(this.base).open();
        const res = await s.connect(NSP, JSON.stringify(this.auth()));
        if (res.kind === 'connected') {
          this.sock = s;
          return s;
        }
        s.close();
        this.log?.(`session connect: ${safeStringify(res).slice(0, 200)}`);
      } catch (e) {
        this.log?.(`session open: ${e.message}`);
      }
      if (attempt > 20) throw new Error('cannot open a /collect session');
      await new Promise((r) => setTimeout(r, 250 * Math.min(attempt + 1, 8)));
    }
  }

  async submitBinary(argsText, attachments, timeoutMs, announced) {
    const s = await this.ready();
    return s.emitRawBinary(NSP, argsText, attachments, timeoutMs, announced);
  }

  async submit(argsText, timeoutMs, expectAck = true) {
    const s = await this.ready();
    if (!expectAck) {
      s.sendRaw(`42${NSP},${argsText}`);
      return { kind: 'timeout' };
    }
    return s.emitRaw(NSP, argsText, timeoutMs);
  }

  /**
   * Seals `batch` (an envelope without chain fields) as the next batch of this session's chain
   * and sends it. Sealing happens after the socket is ready and right before the write, with no
   * wait in between, so concurrent senders put their batches on the wire in chain order and the
   * hub (one batch of a collector at a time, in arrival order) sees an unbroken chain: hostile
   * records then reach the record path instead of stopping at the signature check.
   */
  async submitSealed(batch, timeoutMs) {
    const s = await this.ready();
    // The digest covers the records as the hub will read them back from the wire.
    const records = JSON.parse(safeStringify(batch.records));
    const sealed = { ...batch, ...this.chain.seal(records, { batchId: batch.batchId, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq }) };
    return s.emitRaw(NSP, `["batch.submit",${safeStringify(sealed)}]`, timeoutMs);
  }

  close() {
    this.sock?.close();
  }
}

// ---- handshakes ----------------------------------------------------------------------------

function wrongShapesFor(r, field) {
  const v = hostileValue(r);
  return { [field]: v };
}

/** The exact inputs that crashed the hub before; they run first, every time. */
export function handshakeSeeds(ctx) {
  const { fix } = ctx;
  return [
    { name: 'auth.collectorId = {toString:1}', nsp: NSP, payload: '{"collectorId":{"toString":1}}' },
    { name: 'auth.collectorId = {toString:1,valueOf:1}', nsp: NSP, payload: '{"collectorId":{"toString":1,"valueOf":1},"token":"x"}' },
    { name: 'auth.collectorId = {toString:{}} with token', nsp: NSP, payload: `{"collectorId":{"toString":{}},"token":"${fix.recToken}"}` },
    { name: 'auth.collectorId = []', nsp: NSP, payload: '{"collectorId":[]}' },
    { name: 'auth = "string"', nsp: NSP, payload: '"auth"' },
    { name: 'auth = null', nsp: NSP, payload: 'null' },
    { name: 'auth = array', nsp: NSP, payload: '[{"toString":1}]' },
    { name: 'auth = broken JSON', nsp: NSP, payload: '{"collectorId":' },
    { name: '/wall with cookie jg_session=%ZZ', nsp: '/wall', payload: '', headers: { cookie: 'jg_session=%ZZ' } },
    { name: '/collect with cookie jg_session=%ZZ', nsp: NSP, payload: '{}', headers: { cookie: 'jg_session=%ZZ' } },
    { name: '/wall with auth.token = {toString:1}', nsp: '/wall', payload: '{"token":{"toString":1}}' },
  ];
}

export function handshakeCase(r, ctx) {
  const { fix, protocol } = ctx;
  const known = r.pick([fix.recId, fix.aId, fix.legitId, fix.chainId]);
  const key = r.chance(0.5) ? fix.strangerKey : fix.chainKey;
  switch (r.int(0, 15)) {
    case 0: {
      const f = r.pick(['collectorId', 'token', 'protocol', 'publicKey', 'ts', 'proof', 'enrol']);
      const auth = { collectorId: known, token: fix.recToken, ...wrongShapesFor(r, f) };
      return { name: `auth.${f} wrong shape`, nsp: NSP, payload: safeStringify(auth) };
    }
    case 1:
      return { name: 'unknown collector', nsp: NSP, payload: safeStringify({ collectorId: `fz-nobody-${r.int(0, 1e6)}`, token: 'x'.repeat(20) }) };
    case 2:
      return { name: 'wrong token', nsp: NSP, payload: safeStringify({ collectorId: known, token: hostileString(r).padEnd(16, 'z') }) };
    case 3:
      return { name: 'huge strings', nsp: NSP, payload: safeStringify({ collectorId: 'c'.repeat(r.pick([65, 10_000, 1_000_000])), token: 't'.repeat(r.pick([257, 100_000])) }) };
    case 4: {
      // A proof by a key that is not the collector's, or over the wrong fields.
      const a = keyAuth(protocol, known, key, { token: fix.recToken });
      if (r.chance(0.5)) a.ts += 1;
      else a.proof = a.proof.slice(0, -4) + 'AAA=';
      return { name: 'bad proof', nsp: NSP, payload: safeStringify(a) };
    }
    case 5: {
      const ts = r.pick([0, -1, Date.now() - 3_600_000, Date.now() + 3_600_000, Date.UTC(2099, 0, 1), 1.5, 2 ** 53]);
      return { name: 'proof at a stale or future ts', nsp: NSP, payload: safeStringify(keyAuth(protocol, fix.chainId, fix.chainKey, { token: fix.chainToken }, ts)) };
    }
    case 6:
      // Replay: the same proof the chain session already used once.
      return { name: 'replayed proof', nsp: NSP, payload: safeStringify(fix.usedChainAuth ?? keyAuth(protocol, fix.chainId, fix.chainKey, { token: fix.chainToken })), replay: true };
    case 7: {
      const a = keyAuth(protocol, `fz-enrol-${r.int(0, 400)}`, fix.strangerKey, { enrol: { institutionId: r.pick(['JCJ-JYZ', 'NOPE', hostileValue(r)]), counter: r.pick(['', 'L1', hostileValue(r)]) } });
      return { name: 'enrolment (unknown collector)', nsp: NSP, payload: safeStringify(a) };
    }
    case 8:
      return { name: 'valueOf/toString objects', nsp: NSP, payload: safeStringify({ collectorId: r.pick([{ toString: 1 }, { valueOf: {} }, { toString: 'x' }]), token: r.pick([{ toString: 1 }, fix.recToken]) }) };
    case 9:
      return { name: 'prototype keys', nsp: NSP, payload: `{"__proto__":{"collectorId":"${fix.recId}","token":"${fix.recToken}"},"constructor":{"prototype":{"x":1}}}` };
    case 10:
      return { name: 'lone surrogates / control chars', nsp: NSP, payload: safeStringify({ collectorId: r.pick([...LONE_SURROGATES, ...CONTROL_CHARS]), token: r.pick(LONE_SURROGATES).padEnd(16, '\ud800') }) };
    case 11:
      return { name: 'deep auth', nsp: NSP, payload: safeStringify({ collectorId: deep(r.pick([10, 1000, 5000]), 'object') }) };
    case 12:
      return { name: 'registered key missing', nsp: NSP, payload: safeStringify({ collectorId: fix.legitId, token: fix.legitToken }) };
    case 13:
      return { name: 'raw garbage CONNECT payload', nsp: NSP, payload: r.pick(['{', '}', '[]', '1', '"', '\u0000', 'undefined', '{"a":1}{"b":2}', 'x'.repeat(100_000)]) };
    case 14:
      return { name: 'wall with bad cookie/authorization', nsp: '/wall', payload: r.chance(0.5) ? '' : safeStringify({ token: hostileValue(r) }), headers: r.pick([{ cookie: 'jg_session=%ZZ' }, { cookie: `jg_session=${'%'.repeat(r.int(1, 3))}` }, { cookie: 'jg_session=%E0%A4%A' }, { authorization: 'Bearer %ZZ' }, { authorization: `Bearer ${'A'.repeat(10_000)}` }, { cookie: 'jg_session' }]) };
    default:
      return { name: 'mixed wrong fields', nsp: NSP, payload: safeStringify({ collectorId: r.chance(0.3) ? hostileValue(r) : known, token: hostileValue(r), publicKey: hostileValue(r), ts: hostileValue(r), proof: hostileValue(r), protocol: hostileValue(r) }) };
  }
}

/** Sends one handshake on a fresh engine.io connection (headers belong to the connection). */
export async function sendHandshake(ctx, c) {
  let s;
  try {
    s = await new RawSocketIo(ctx.hubUrl, { headers: c.headers ?? {} }).open();
  } catch (e) {
    return { result: 'dropped', detail: `engine.io open: ${e.message}` };
  }
  try {
    const res = await s.connect(c.nsp, c.payload);
    const out = classifyConnect(res);
    // /wall is public by default; the point there is the cookie and header parsing.
    return out;
  } finally {
    s.close();
  }
}

// ---- batch envelopes -----------------------------------------------------------------------

export function batchSeeds(ctx) {
  const { fix } = ctx;
  const rec = validRecord(fix.recId, fix.recInstitution, 1);
  return [
    { name: 'batchId = {toString:1}', args: `["batch.submit",${safeStringify({ batchId: { toString: 1 }, collectorId: fix.recId, firstSeq: 1, lastSeq: 1, sentAt: Date.now(), records: [rec] })}]` },
    { name: 'batchId = {toString:1} (nothing else)', args: '["batch.submit",{"batchId":{"toString":1}}]' },
    { name: 'batchId = {toString:{},valueOf:{}}', args: '["batch.submit",{"batchId":{"toString":{},"valueOf":{}}}]' },
    { name: 'batch = null', args: '["batch.submit",null]' },
    { name: 'batch = "string"', args: '["batch.submit","x"]' },
    { name: 'no batch argument', args: '["batch.submit"]' },
  ];
}

export function batchCase(r, ctx) {
  const { fix } = ctx;
  const n = ctx.nextRecSeq(1);
  const good = () => ({ batchId: `${fix.recId}:${n}-${n}`, collectorId: fix.recId, firstSeq: n, lastSeq: n, sentAt: Date.now(), records: [validRecord(fix.recId, fix.recInstitution, n)] });
  const b = good();
  switch (r.int(0, 10)) {
    case 0: {
      const f = r.pick(['batchId', 'collectorId', 'firstSeq', 'lastSeq', 'sentAt', 'records', 'batchSeq', 'prevHash', 'recordsDigest', 'signature']);
      b[f] = hostileValue(r);
      return { name: `${f} wrong type`, args: `["batch.submit",${safeStringify(b)}]` };
    }
    case 1: {
      const f = r.pick(['batchId', 'collectorId', 'firstSeq', 'lastSeq', 'sentAt', 'records']);
      delete b[f];
      return { name: `${f} missing`, args: `["batch.submit",${safeStringify(b)}]` };
    }
    case 2:
      b.records = Array.from({ length: r.pick([5001, 20_000]) }, () => 1);
      return { name: 'huge records array', args: `["batch.submit",${safeStringify(b)}]` };
    case 3:
      b.records = [];
      return { name: 'empty records', args: `["batch.submit",${safeStringify(b)}]` };
    case 4:
      b.batchId = r.pick([{ toString: 1 }, { toString: 'x', valueOf: 1 }, [n], 'x'.repeat(129), '', hostileString(r)]);
      return { name: 'batchId hostile', args: `["batch.submit",${safeStringify(b)}]` };
    case 5:
      return { name: 'batch not an object', args: `["batch.submit",${safeStringify(hostileValue(r))}]` };
    case 6:
      return { name: 'extra arguments', args: `["batch.submit",${safeStringify(b)},${safeStringify(hostileValue(r))}]` };
    case 7:
      return { name: 'other event names', args: `[${safeStringify(r.pick(['decision.request', 'hub.hello', 'x', '', 'constructor', '__proto__', 'toString']))},${safeStringify(r.chance(0.5) ? hostileValue(r) : { requestId: hostileValue(r), transaction: hostileValue(r) })}]`, expectAck: null };
    case 8:
      return { name: 'no ack id', args: `["batch.submit",${safeStringify(b)}]`, noAck: true };
    case 9: {
      // Records as bytes (a binary attachment): hostile bytes, or the placeholder where it does not belong.
      const { records, ...envelope } = b;
      const ph = { _placeholder: true, num: 0 };
      const bytes = r.pick([
        Buffer.from(JSON.stringify(records)),
        Buffer.alloc(0),
        Buffer.from('not json'),
        Buffer.from([0xff, 0xfe, 0x00, 0x5b]),
        Buffer.from('{"records":1}'),
        Buffer.from('[' + '['.repeat(5000) + ']'.repeat(5000) + ']'),
        Buffer.from(JSON.stringify(Array.from({ length: 6000 }, () => 1))),
        Buffer.from(JSON.stringify([hostileValue(r), hostileValue(r)])),
      ]);
      const shape = r.int(0, 3);
      const args = shape === 0 ? { ...envelope, recordsJson: ph } : shape === 1 ? { ...envelope, records, recordsJson: ph } : shape === 2 ? { ...envelope, records: ph } : { ...envelope, recordsJson: { _placeholder: true, num: r.pick([1, -1, 'x', null]) } };
      const fresh = shape === 3 || r.chance(0.1);
      return { name: `records as bytes (${['recordsJson', 'both forms', 'records = bytes', 'placeholder out of range'][shape]})`, args: `["batch.submit",${safeStringify(args)}]`, attachments: [bytes], throwaway: fresh, expectAck: fresh ? null : undefined };
    }
    default: {
      const text = r.pick(['[', '["batch.submit",', '{}', '["batch.submit",{"records":[' + '['.repeat(3000) + ']'.repeat(3000) + ']}]', '[1,2,3]', '"batch.submit"']);
      return { name: 'malformed packet JSON', args: text, expectAck: null, throwaway: true };
    }
  }
}

/** Sends a batch-category case on the records session; decision.request and malformed packets may go unanswered. */
export async function sendBatch(ctx, c) {
  if (c.noAck) {
    await ctx.sessions.rec.submit(c.args, 0, false);
    return { result: 'refused', detail: 'sent without ack id' };
  }
  // A packet the parser cannot read closes the whole connection: send those on a connection of
  // their own so the other inputs in flight are not cut off with it.
  const session = c.throwaway ? new CollectSession(ctx.hubUrl, () => keyAuth(ctx.protocol, ctx.fix.recId, ctx.fix.recKey, { token: ctx.fix.recToken })) : ctx.sessions.rec;
  // Events without a handler are never answered: wait briefly for those.
  const wait = c.expectAck === null ? 1500 : ctx.envelopeAckTimeoutMs;
  const res = await (c.attachments ? session.submitBinary(c.args, c.attachments, wait) : session.submit(c.args, wait)).finally(() => c.throwaway && session.close());
  if (c.expectAck === null) {
    // Another event (answered with its own schema) or a packet the parser drops, closing the connection.
    if (res.kind === 'timeout' || res.kind === 'closed') return { result: 'refused', detail: res.kind };
    const a = Array.isArray(res.args) ? res.args[0] : undefined;
    if (a && a.ok === false && typeof a.code !== 'string') return { result: 'uncoded', detail: safeStringify(a).slice(0, 200) };
    return a?.ok === false ? { result: INTERNAL_CODES.has(a.code) ? '5xx' : 'refused', detail: a.code } : { result: 'accepted' };
  }
  return classifyAck(res);
}

// ---- records -------------------------------------------------------------------------------

const RECORD_FIELDS = ['id', 'collectorId', 'seq', 'source', 'channel', 'institutionId', 'counter', 'staffId', 'staffIdHash', 'deviceId', 'ip', 'mac', 'lsh', 'subLsh', 'kind', 'ywlx', 'ywyy', 'subject', 'agent', 'phoneHash', 'vehicle', 'licence', 'occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt', 'capturedAt', 'outcome', 'measurements', 'evidence'];

function hostileRecord(r, ctx, seq) {
  const { fix } = ctx;
  const rec = validRecord(fix.recId, fix.recInstitution, seq);
  switch (r.int(0, 11)) {
    case 0:
      rec[r.pick(RECORD_FIELDS)] = hostileValue(r);
      break;
    case 1:
      for (const f of RECORD_FIELDS) if (r.chance(0.3)) rec[f] = hostileValue(r);
      break;
    case 2:
      rec[r.pick(['counter', 'staffId', 'lsh', 'source', 'deviceId', 'ywyy', 'subLsh'])] = r.pick(LONE_SURROGATES);
      break;
    case 3:
      rec[r.pick(['counter', 'staffId', 'lsh', 'deviceId', 'ip', 'mac'])] = r.pick(CONTROL_CHARS);
      break;
    case 4: {
      const t = r.pick([Date.UTC(2099, 0, 1), Date.UTC(1970, 0, 1), 0, 1, -1, 8.64e15, 253402300799999, 1e20]);
      for (const f of r.pick([['occurredAt'], ['startedAt', 'endedAt'], ['capturedAt'], ['occurredAt', 'startedAt', 'endedAt', 'capturedAt']])) rec[f] = t;
      break;
    }
    case 5:
      rec.measurements = r.pick([
        { duration: 'x' },
        { duration: null },
        { duration: [1] },
        { duration: { toString: 1 } },
        { duration: 1e308 },
        { __proto__x: 1, constructor: 2 },
        JSON.parse('{"__proto__":1}'),
        Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`m${i}`, i])),
        { ['k'.repeat(100_000)]: 1 },
        { 'A\ud800': 1, '\u0000': 2 },
        'measurements',
        [1, 2, 3],
        deep(r.pick([100, 2000]), 'object'),
      ]);
      break;
    case 6:
      rec[r.pick(['subject', 'vehicle', 'licence', 'agent'])] = deep(r.pick([20, 1000, 5000]), r.pick(['array', 'object']));
      break;
    case 7:
      rec.evidence = r.pick([Array.from({ length: 65 }, () => 'e'), ['x'.repeat(129)], [null], 'evidence', [{ toString: 1 }], [r.pick(LONE_SURROGATES)]]);
      break;
    case 8:
      delete rec[r.pick(RECORD_FIELDS)];
      break;
    case 9:
      Object.assign(rec, JSON.parse('{"__proto__":{"institutionId":"JCJ-CGS"},"toString":1,"valueOf":{}}'));
      break;
    case 10:
      return hostileValue(r);
    default:
      rec.id = r.pick([{ toString: 1 }, `${fix.recId}:${'9'.repeat(200)}`, r.pick(LONE_SURROGATES), '', 5]);
  }
  return rec;
}

export function recordSeeds(ctx) {
  const { fix } = ctx;
  const mk = (name, over) => ({ name, over });
  return [
    mk('lone surrogate "A\\ud800" in counter', { counter: 'A\ud800' }),
    mk('lone surrogate in staffId and lsh', { staffId: '\ud800', lsh: 'x\udc00' }),
    mk('lone surrogate as a measurement name', { measurements: { 'A\ud800': 1 } }),
    mk('lone surrogate in subject.masked', { subject: { idHash: sha256('s'), masked: 'A\ud800' } }),
    mk('control characters in counter', { counter: 'a\u0000b\u001b' }),
    mk('occurredAt in 2099', { occurredAt: Date.UTC(2099, 0, 1), startedAt: Date.UTC(2099, 0, 1), endedAt: Date.UTC(2099, 0, 1) + 1000 }),
    mk('occurredAt in 1970', { occurredAt: 0, startedAt: 0, endedAt: 1000 }),
    mk('measurements of wrong types', { measurements: { a: 'x', b: null } }),
    mk('record naming another institution', { institutionId: 'JCJ-CGS' }),
  ].map((s) => ({ ...s, collectorId: fix.recId }));
}

/** One batch of 1–6 records, most of them hostile; the valid ones among them are stored normally. */
export function recordCase(r, ctx, seed) {
  const { fix } = ctx;
  if (seed) {
    const seq = ctx.nextRecSeq(1);
    const rec = { ...validRecord(fix.recId, fix.recInstitution, seq), ...seed.over };
    return { name: seed.name, records: [rec], firstSeq: seq };
  }
  const k = r.int(1, 6);
  const first = ctx.nextRecSeq(k);
  const records = Array.from({ length: k }, (_, i) => (r.chance(0.8) ? hostileRecord(r, ctx, first + i) : validRecord(fix.recId, fix.recInstitution, first + i)));
  return { name: 'hostile records', records, firstSeq: first };
}

export async function sendRecords(ctx, c) {
  const { fix } = ctx;
  const lastSeq = c.firstSeq + c.records.length - 1;
  const batch = { batchId: `${fix.recId}:${c.firstSeq}-${lastSeq}`, collectorId: fix.recId, firstSeq: c.firstSeq, lastSeq, sentAt: Date.now(), records: c.records };
  const res = await ctx.sessions.rec.submitSealed(batch, ctx.ackTimeoutMs);
  return classifyAck(res);
}

// ---- chains --------------------------------------------------------------------------------

export function chainCase(r, ctx) {
  const { fix } = ctx;
  const chain = ctx.chain;
  const n = ctx.nextChainSeq(1);
  const records = [validRecord(fix.chainId, fix.chainInstitution, n)];
  switch (r.int(0, 8)) {
    case 0:
      return { name: 'bad signature', batch: chain.seal(records, { advance: false, tamper: (b) => (b.signature = b.signature.slice(0, -6) + 'AAAAA=') }) };
    case 1:
      return { name: 'wrong prevHash', batch: chain.seal(records, { advance: false, prevHash: sha256(`x${n}`) }) };
    case 2:
      return { name: 'gap in batchSeq', batch: chain.seal(records, { batchSeq: chain.batchSeq + r.int(2, 50) }), gap: true };
    case 3:
      return { name: 'records changed after sealing', batch: chain.seal(records, { advance: false, tamper: (b) => (b.records = [{ ...records[0], lsh: 'tampered' }]) }) };
    case 4:
      return { name: 'replayed old batchSeq with new content', batch: chain.seal(records, { advance: false, batchSeq: Math.max(1, chain.batchSeq - r.int(0, 3)) }) };
    case 5:
      return { name: 'chain fields of wrong types', batch: chain.seal(records, { advance: false, tamper: (b) => (b[r.pick(['batchSeq', 'prevHash', 'recordsDigest', 'signature'])] = hostileValue(r)) }) };
    case 6:
      return { name: 'chain fields missing', batch: chain.seal(records, { advance: false, tamper: (b) => delete b[r.pick(['batchSeq', 'prevHash', 'recordsDigest', 'signature'])] }) };
    case 7:
      return { name: 'signature by another key', batch: (() => {
        const other = new Chain(ctx.protocol, fix.strangerKey, fix.chainId);
        other.batchSeq = chain.batchSeq;
        other.hash = chain.hash;
        return other.seal(records, { advance: false });
      })() };
    default:
      // A correct next batch: the chain stays usable for the hostile ones after it.
      return { name: 'valid next batch', batch: chain.seal(records), valid: true };
  }
}

export async function sendChain(ctx, c) {
  const res = await ctx.sessions.chain.submit(`["batch.submit",${safeStringify(c.batch)}]`, ctx.ackTimeoutMs);
  const out = classifyAck(res);
  if (c.valid && out.result !== 'accepted') {
    // The hub and the generator disagree about the tip; take the hub's (it says so on conflicts).
    const tip = out.ack?.chain;
    if (tip) {
      ctx.chain.batchSeq = tip.batchSeq;
      ctx.chain.hash = tip.hash;
    }
  }
  return out;
}

// ---- cross-collector -----------------------------------------------------------------------

export function crossSeeds(ctx) {
  return [{ name: "collector A sends B's next batch id", kind: 'next-batch-id' }, { name: "records with B's ids", kind: 'b-ids' }, { name: 'records naming another institution', kind: 'other-institution' }];
}

export function crossCase(r, ctx, seed) {
  const { fix } = ctx;
  const kind = seed?.kind ?? r.pick(['next-batch-id', 'next-batch-id', 'b-ids', 'other-institution', 'b-collector', 'envelope-b']);
  const n = ctx.nextASeq(1);
  const aRec = validRecord(fix.aId, fix.aInstitution, n);
  const env = (records, batchId = `${fix.aId}:${n}-${n}`) => ({ batchId, collectorId: fix.aId, firstSeq: n, lastSeq: n, sentAt: Date.now(), records });
  switch (kind) {
    case 'next-batch-id': {
      // The legitimate collector's upcoming batch ids: if the hub keyed anything on the batch id
      // alone, the legitimate batch would later be taken for a duplicate and lost.
      const upcoming = ctx.legit.upcomingBatchId(r.int(0, 3));
      return { name: "A sends B's next batch id", kind, batch: env([aRec], upcoming) };
    }
    case 'b-ids': {
      const bSeq = ctx.legit.upcomingSeq(r.int(0, 10));
      return { name: "records with B's ids", kind, batch: env([{ ...aRec, id: `${fix.legitId}:${bSeq}`, seq: bSeq }]), crossIds: [`${fix.legitId}:${bSeq}`] };
    }
    case 'other-institution':
      return { name: 'records naming another institution', kind, batch: env([{ ...aRec, institutionId: r.pick(['JCJ-CGS', 'YZ-JYZ', 'FS-YY', fix.legitInstitution].filter((i) => i !== fix.aInstitution)) }]), otherInstitution: true };
    case 'b-collector':
      return { name: "records claiming B's collectorId", kind, batch: env([{ ...aRec, collectorId: fix.legitId, id: `${fix.legitId}:${ctx.legit.upcomingSeq(r.int(0, 10))}` }]) };
    default:
      return { name: "envelope claiming B's collectorId", kind, batch: { ...env([aRec], ctx.legit.upcomingBatchId(0)), collectorId: fix.legitId } };
  }
}

export async function sendCross(ctx, c) {
  // Envelopes claiming B's collector or batch id are refused before any signature check; the rest go
  // out sealed by A's own key, so the hub judges their content, not a missing signature.
  const res = c.kind === 'envelope-b' || c.kind === 'next-batch-id' ? await ctx.sessions.a.submit(`["batch.submit",${safeStringify(c.batch)}]`, ctx.ackTimeoutMs) : await ctx.sessions.a.submitSealed(c.batch, ctx.ackTimeoutMs);
  const out = classifyAck(res);
  // Accepted records that carry another collector's id or another institution are findings.
  if (out.result === 'accepted' && (out.ack?.stored ?? 0) > 0 && (c.crossIds || c.otherInstitution)) {
    out.finding = c.crossIds ? `stored a record of collector ${ctx.fix.aId} under another collector's id ${c.crossIds[0]}` : `stored a record of ${ctx.fix.aId} (${ctx.fix.aInstitution}) naming another institution ${c.batch.records[0].institutionId}`;
  }
  return out;
}

// ---- the legitimate collector --------------------------------------------------------------

/**
 * The signed collector whose records must all be stored exactly once. Batches are sealed once
 * and re-sent unchanged until acknowledged (what a real collector does), and every so often an
 * acknowledged batch is re-sent on purpose: the hub must not store it twice.
 */
export class LegitCollector {
  constructor(ctx, size = 4) {
    this.ctx = ctx;
    this.size = size;
    this.nextSeq = 1;
    this.pending = [];
    this.acked = [];
    this.ids = [];
    this.lsh = new Map();
    this.sent = 0;
    this.acks = 0;
    this.failures = [];
  }

  upcomingBatchId(k) {
    const first = this.nextSeq + k * this.size;
    return `${this.ctx.fix.legitId}:${first}-${first + this.size - 1}`;
  }

  upcomingSeq(k) {
    return this.nextSeq + k;
  }

  /** Seals the next batch and sends it (plus anything still unacknowledged). */
  async step() {
    const { fix } = this.ctx;
    const records = Array.from({ length: this.size }, (_, i) => validRecord(fix.legitId, fix.legitInstitution, this.nextSeq + i));
    this.nextSeq += this.size;
    for (const rec of records) {
      this.ids.push(rec.id);
      this.lsh.set(rec.id, rec.lsh);
    }
    this.pending.push(this.ctx.legitChain.seal(records));
    await this.flush();
    if (this.acked.length > 2 && this.ctx.r.chance(0.2)) {
      // A deliberate duplicate of an acknowledged batch.
      const dup = this.ctx.r.pick(this.acked);
      const res = await this.ctx.sessions.legit.submit(`["batch.submit",${JSON.stringify(dup)}]`, this.ctx.legitAckTimeoutMs);
      this.sent += 1;
      const out = classifyAck(res);
      if (out.result !== 'accepted') this.failures.push(`duplicate ${dup.batchId}: ${out.result} ${out.code ?? out.detail ?? ''}`);
    }
  }

  async flush(maxRounds = 1) {
    for (let round = 0; round < maxRounds && this.pending.length; round++) {
      while (this.pending.length) {
        const b = this.pending[0];
        const res = await this.ctx.sessions.legit.submit(`["batch.submit",${JSON.stringify(b)}]`, this.ctx.legitAckTimeoutMs);
        this.sent += 1;
        const out = classifyAck(res);
        if (out.result !== 'accepted') {
          this.failures.push(`${b.batchId}: ${out.result} ${out.code ?? out.detail ?? ''}`.slice(0, 300));
          if (out.ack?.code === 'BATCH_CHAIN_CONFLICT') this.failures.push(`chain conflict at ${b.batchId}`);
          break;
        }
        this.acks += 1;
        this.pending.shift();
        this.acked.push(b);
        if (this.acked.length > 50) this.acked.shift();
      }
    }
  }

  /** Keeps re-sending until everything is acknowledged or `ms` passes. */
  async drain(ms = 60_000) {
    const until = Date.now() + ms;
    while (this.pending.length && Date.now() < until) {
      await this.flush();
      if (this.pending.length) await new Promise((r) => setTimeout(r, 500));
    }
    return this.pending.length === 0;
  }
}
