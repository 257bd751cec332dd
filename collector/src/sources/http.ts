/**
 * The local HTTP endpoint: software on the counter machine posts its business here instead of
 * (or besides) writing files. node:http only; it listens on the loopback interface.
 *
 *   POST /v1/transactions[?format=<adapter>]
 *        body: one record or an array (application/json), JSON lines (application/x-ndjson), or
 *        CSV with a header row (text/csv, CSV adapters); format defaults to `defaultFormat`.
 *        202 {records, ids, results:[{line, ids}]}  — only after the outbox append is durable
 *        400 {error:'INVALID_RECORDS', errors:[{line, reason}]}  — nothing appended (all or nothing)
 *        400 BAD_REQUEST / UNKNOWN_FORMAT / TOO_DEEP (JSON nested deeper than 32 levels)
 *        401 UNAUTHORIZED · 408 REQUEST_TIMEOUT (headers or body too slow; the connection is closed)
 *        413 BODY_TOO_LARGE / TOO_MANY_RECORDS · 415 UNSUPPORTED_MEDIA_TYPE · 431 HEADERS_TOO_LARGE
 *        507 {error:'OUTBOX_FULL'} — nothing appended; retry later
 *        Records must be of the collector's institution, its `reportsFor` list or the institutions
 *        the endpoint's own adapterOptions name; times within [2000-01-01, now + 1 day]; texts
 *        well-formed Unicode without control characters (ingest.ts checkPending).
 *   POST /v1/decisions[?format=<adapter>]
 *        body: one record. Forwards a hold-decision request to the hub over the collector's socket
 *        (`decision.request`, acknowledged); when the hub does not answer within
 *        `decisionTimeoutMs` (or the link is down) answers the configured fallback, by default
 *        {decision:'allow', fallback:true, postCheck:true}. Always 200 with a decision.
 *   GET  /v1/status   the collector's status, its sources and reject counts
 *   GET  /metrics     Prometheus text (metrics.ts)
 *
 * Records of one source are processed one request at a time (adapter state, e.g. 18C pairing,
 * is updated in order and saved with the cursor protocol of cursor-store.ts).
 *
 * Hostile or clumsy local callers: every answer to bad input is a coded 4xx, never a 500. Slow
 * clients meet `headersTimeoutMs` / `bodyTimeoutMs` (408, connection closed), at most
 * `maxConnections` are open at once (more are closed on accept), keep-alive connections idle out
 * after `keepAliveTimeoutMs` and carry at most `maxRequestsPerSocket` requests.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { TextDecoder } from 'node:util';
import type { Transaction } from '@jianguan/rules';
import { adapterByName } from '../adapters/index.js';
import { ADAPTER_NAMES, type AdapterContext, type AdapterName } from '../adapters/types.js';
import { errorMessage, isCollectorError } from '../errors.js';
import { renderPrometheus, type MetricsSnapshot } from '../metrics.js';
import { CursorStore } from './cursor-store.js';
import { cursorFileFor, type SourceDeps } from './file-tail.js';
import { ingestChunk, mapInputs, newStatus, parseRecords, reportRejects, type IngestDeps, type RecordGuard, type SourceInput } from './ingest.js';
import { jsonNestedDeeperThan, MAX_JSON_DEPTH, splitRecords } from './records.js';
import type { HttpSourceConfig } from './source-config.js';
import type { Source, SourceStatus } from './types.js';
import { DECISION_EVENT, type DecisionAck, type DecisionReason, type DecisionRequest } from '@jianguan/protocol';

// ---- the decision contract with the hub (@jianguan/protocol) -----------------------------------

export { DECISION_EVENT, type DecisionReason, type DecisionRequest };

/**
 * The hub's acknowledgement as this collector reads it: the protocol's DecisionAck, tolerant of
 * an older hub that leaves out the rule-set version, timing or post-check flag.
 */
export type DecisionAnswer =
  | (Pick<Extract<DecisionAck, { ok: true }>, 'ok' | 'requestId' | 'decision' | 'reasons' | 'decidedAt'> & { postCheck?: boolean })
  | Extract<DecisionAck, { ok: false }>;

/** What POST /v1/decisions returns to the local caller. */
export interface DecisionResponse {
  requestId: string;
  decision: 'allow' | 'hold';
  /** True when the hub did not answer and the configured fallback was applied. */
  fallback: boolean;
  /** The transaction will be checked afterwards (fallback default, or the hub says so). */
  postCheck: boolean;
  reasons: DecisionReason[];
  /** Why the fallback was applied. */
  fallbackReason?: string;
  ms: number;
}

/** How a decision request reaches the hub (the link's socket in production, a stub in tests). */
export interface DecisionTransport {
  request(req: DecisionRequest, timeoutMs: number): Promise<unknown>;
}

/** Sends decision requests over the Link's socket.io connection (connected only). */
export function linkDecisionTransport(getLink: () => { decide(request: DecisionRequest, timeoutMs: number): Promise<unknown> } | undefined): DecisionTransport {
  return {
    async request(req, timeoutMs) {
      const link = getLink();
      if (!link) throw new Error('no link to the hub');
      return link.decide(req, timeoutMs);
    },
  };
}

function validAnswer(a: unknown, requestId: string): DecisionAnswer | undefined {
  if (typeof a !== 'object' || a === null) return undefined;
  const o = a as Record<string, unknown>;
  if (o.requestId !== requestId) return undefined;
  if (o.ok === false) return { ok: false, requestId, code: String(o.code ?? 'REFUSED'), message: String(o.message ?? '') };
  if (o.ok !== true || (o.decision !== 'allow' && o.decision !== 'hold')) return undefined;
  const reasons = Array.isArray(o.reasons)
    ? (o.reasons as unknown[]).filter((r): r is DecisionReason => typeof r === 'object' && r !== null && typeof (r as DecisionReason).ruleId === 'string')
    : [];
  return { ok: true, requestId, decision: o.decision, reasons, decidedAt: typeof o.decidedAt === 'number' ? o.decidedAt : Date.now(), ...(typeof o.postCheck === 'boolean' ? { postCheck: o.postCheck } : {}) };
}

// ---- the source -------------------------------------------------------------------------------

export interface HttpDeps extends SourceDeps {
  decisions: DecisionTransport;
  /** GET /v1/status body. */
  statusReport: () => unknown;
  /** GET /metrics snapshot. */
  metrics: () => MetricsSnapshot;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Close the connection after answering (the rest of the request is not worth waiting for). */
    readonly close = false,
  ) {
    super(message);
  }
}

type BodyKind = 'json' | 'lines' | 'csv';
const JSON_TYPES = new Set(['application/json', 'text/json']);
const LINE_TYPES = new Set(['application/x-ndjson', 'application/jsonl', 'application/json-lines']);
const CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/** How to read the body, from its content-type (none = JSON); anything else is refused with 415. */
function bodyKindOf(req: http.IncomingMessage): BodyKind {
  const header = req.headers['content-type'];
  if (header === undefined || header.trim() === '') return 'json';
  const [media = '', ...params] = header.split(';');
  const type = media.trim().toLowerCase();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq === -1 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const cs = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (!CHARSETS.has(cs)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `charset '${cs}' is not accepted; send UTF-8`);
  }
  if (JSON_TYPES.has(type)) return 'json';
  if (LINE_TYPES.has(type)) return 'lines';
  if (type === 'text/csv') return 'csv';
  throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type '${type}' is not accepted; send application/json, application/x-ndjson or text/csv`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * A JSON body as a value: strict UTF-8 (a silently replaced byte would change a record), the
 * nesting depth checked before parsing (a deep body overflows the stack in what comes after).
 */
function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body is not valid UTF-8 text');
  }
  if (jsonNestedDeeperThan(text, MAX_JSON_DEPTH)) throw new HttpError(400, 'TOO_DEEP', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'BAD_REQUEST', `body is not JSON: ${errorMessage(e)}`);
  }
}

/**
 * Records and blank lines of a JSON-lines or CSV body, counted without splitting it (a body of
 * four million newlines would otherwise become four million objects before any limit applies).
 */
function countLines(body: Buffer, csv: boolean): { records: number; blank: number } {
  let records = 0;
  let blank = 0;
  let inQuotes = false;
  let content = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (csv && b === 0x22) inQuotes = !inQuotes;
    if (b === 0x0a && !inQuotes) {
      if (content) records += 1;
      else blank += 1;
      content = false;
    } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) content = true;
  }
  if (content) records += 1;
  return { records, blank };
}

/** A raw answer on a socket the HTTP layer gave up on (no ServerResponse exists for it). */
function rawAnswer(socket: Socket, status: number, reason: string, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

type HttpState = Partial<Record<AdapterName, unknown>>;

export class HttpSource implements Source {
  readonly type = 'http' as const;
  readonly name: string;
  private readonly cfg: HttpSourceConfig;
  private readonly deps: HttpDeps;
  private readonly st: SourceStatus;
  private server: http.Server | undefined;
  private store!: CursorStore<null>;
  private state: HttpState = {};
  private chain: Promise<unknown> = Promise.resolve();
  private url = '';
  private readonly counts = { requests: 0, accepted: 0, badRequests: 0, full: 0, timeouts: 0, refusedConnections: 0 };
  private readonly requestsBySocket = new WeakMap<Socket, number>();
  /** Institutions the endpoint accepts records of. */
  private readonly institutions: ReadonlySet<string>;
  /** Hold decisions answered by the hub (allow/hold) and by the fallback. */
  readonly decisionCounts = { allow: 0, hold: 0, fallback: 0 };

  constructor(cfg: HttpSourceConfig, deps: HttpDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.name = cfg.name;
    this.st = newStatus(cfg.name, 'http');
    // The operator's own statements: the collector's institution, reportsFor, and whatever this
    // endpoint's adapterOptions map records to. A caller cannot widen the set.
    const o = cfg.adapterOptions;
    this.institutions = new Set([deps.institutionId, ...(deps.reportsFor ?? []), ...(o.institutionId ? [o.institutionId] : []), ...Object.values(o.institutionByCode ?? {})]);
  }

  private guard(): RecordGuard {
    return { now: this.deps.now(), institutions: this.institutions };
  }

  /** The URL the endpoint listens on (after start). */
  get address(): string {
    return this.url;
  }

  private get ingestDeps(): IngestDeps {
    const d = this.deps;
    return { collectorId: d.collectorId, name: this.name, appender: d.appender, rejects: d.rejects, status: this.st, emit: d.emit, wake: d.wake, now: d.now };
  }

  private ctx(): AdapterContext {
    return { collectorId: this.deps.collectorId, institutionId: this.deps.institutionId, pseudonymizer: this.deps.pseudonymizer, options: this.cfg.adapterOptions };
  }

  async start(): Promise<void> {
    const opened = await CursorStore.open<null>(cursorFileFor(this.deps.outboxDir, 'http', this.name), {
      sync: this.deps.sync,
      outboxNextSeq: this.deps.appender.nextSeq,
      initial: { position: null, state: {} },
    });
    this.store = opened.store;
    this.state = (opened.committed.state ?? {}) as HttpState;
    if (opened.resolution !== 'fresh' && opened.resolution !== 'clean') {
      this.deps.emit({ event: 'source.recovered', source: this.name, resolution: opened.resolution, ...(opened.detail ? { detail: opened.detail } : {}) });
    }
    const c = this.cfg;
    const server = http.createServer(
      {
        headersTimeout: c.headersTimeoutMs,
        // A backstop behind the body deadline of readBody (which answers with a coded 408 first).
        requestTimeout: c.headersTimeoutMs + c.bodyTimeoutMs + 1000,
        // How often node:http looks for expired requests; its 30 s default would let a slow
        // client overstay a 10 s limit threefold.
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(c.headersTimeoutMs, c.bodyTimeoutMs) / 4))),
      },
      (req, res) => {
        // node:http's own maxRequestsPerSocket only answers 503 past the limit and leaves the
        // connection open; saying 'connection: close' on the last allowed answer closes it.
        const n = (this.requestsBySocket.get(req.socket) ?? 0) + 1;
        this.requestsBySocket.set(req.socket, n);
        if (n >= c.maxRequestsPerSocket) res.setHeader('connection', 'close');
        this.handle(req, res).catch((e) => this.send(res, 500, { error: 'INTERNAL', message: errorMessage(e) }));
      },
    );
    server.keepAliveTimeout = c.keepAliveTimeoutMs;
    // Beyond the cap node:http destroys the new socket at once ('drop'): refused, not queued, so a
    // flood of idle connections cannot hold the endpoint's memory or file handles.
    server.maxConnections = c.maxConnections;
    server.on('drop', () => {
      this.counts.refusedConnections += 1;
    });
    // Requests node:http could not hand to us (headers too slow, too large, not HTTP): answer
    // with a code like every other refusal, then close.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // A response already under way cannot be replaced by another; just cut the connection.
      const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
      if (err.code === 'ECONNRESET' || !socket.writable || started) {
        socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        this.counts.timeouts += 1;
        rawAnswer(socket, 408, 'Request Timeout', { error: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' });
      } else if (err.code === 'HPE_HEADER_OVERFLOW') {
        rawAnswer(socket, 431, 'Request Header Fields Too Large', { error: 'HEADERS_TOO_LARGE', message: 'request headers are too large' });
      } else {
        this.counts.badRequests += 1;
        rawAnswer(socket, 400, 'Bad Request', { error: 'BAD_REQUEST', message: `not a well-formed HTTP request (${err.code ?? err.message})` });
      }
      socket.destroySoon();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.port, this.cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.st.state = 'running';
    this.deps.emit({ event: 'http.listening', source: this.name, url: this.url });
    this.deps.emit({ event: 'source.started', source: this.name, type: 'http', detail: this.url });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
      });
    }
    await this.chain;
    this.st.state = 'stopped';
  }

  status(): SourceStatus {
    return { ...this.st, detail: { url: this.url, ...this.counts, decisions: { ...this.decisionCounts } } };
  }

  private send(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
    if (res.headersSent) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'the request target is not a valid path');
      }
      if (this.cfg.authToken !== undefined) {
        const auth = req.headers.authorization ?? '';
        const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '');
        const want = Buffer.from(this.cfg.authToken);
        if (given.length !== want.length || !crypto.timingSafeEqual(given, want)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong bearer token');
      }
      const route = `${req.method} ${url.pathname}`;
      switch (route) {
        case 'POST /v1/transactions': {
          this.counts.requests += 1;
          const kind = bodyKindOf(req);
          const body = await this.readBody(req);
          const out = await this.serial(() => this.transactions(url, kind, body));
          this.send(res, 202, out);
          return;
        }
        case 'POST /v1/decisions': {
          if (bodyKindOf(req) !== 'json') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'a decision request is one JSON record (application/json)');
          const body = await this.readBody(req);
          this.send(res, 200, await this.decide(url, body));
          return;
        }
        case 'GET /v1/status':
          this.send(res, 200, this.deps.statusReport());
          return;
        case 'GET /metrics':
          this.send(res, 200, renderPrometheus(this.deps.metrics()), 'text/plain; version=0.0.4; charset=utf-8');
          return;
        default: {
          const known = ['/v1/transactions', '/v1/decisions', '/v1/status', '/metrics'].includes(url.pathname);
          throw new HttpError(known ? 405 : 404, known ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', `${route} is not served here`);
        }
      }
    } catch (e) {
      if (e instanceof HttpError) {
        if (e.status === 400) this.counts.badRequests += 1;
        if (e.status === 408) this.counts.timeouts += 1;
        // With 'connection: close' node:http ends and destroys the socket once the answer is out.
        if (e.close && !res.headersSent) res.setHeader('connection', 'close');
        this.send(res, e.status, { error: e.code, message: e.message, ...e.extra });
      } else if (isCollectorError(e, 'OUTBOX_FULL')) {
        this.counts.full += 1;
        this.st.state = 'outbox_full';
        this.send(res, 507, { error: 'OUTBOX_FULL', message: e.message });
      } else if (isCollectorError(e)) {
        this.send(res, 503, { error: e.code, message: e.message });
      } else {
        this.send(res, 500, { error: 'INTERNAL', message: errorMessage(e) });
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * The request body, within maxBodyBytes and bodyTimeoutMs of the headers. Past the size limit the
   * rest is read and dropped (so the 413 reaches a client still sending), but only until the
   * deadline: then the connection is cut.
   */
  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    const max = this.cfg.maxBodyBytes;
    const ms = this.cfg.bodyTimeoutMs;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      const timer = setTimeout(() => {
        if (failed) {
          req.socket.destroy();
          return;
        }
        failed = true;
        reject(new HttpError(408, 'REQUEST_TIMEOUT', `the body did not arrive within ${ms} ms`, {}, true));
      }, ms);
      const done = (): void => clearTimeout(timer);
      req.on('data', (c: Buffer) => {
        if (failed) return;
        size += c.length;
        if (size > max) {
          failed = true;
          reject(new HttpError(413, 'BODY_TOO_LARGE', `body exceeds ${max} bytes`));
          req.resume();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        done();
        if (!failed) resolve(Buffer.concat(chunks));
      });
      req.on('close', done);
      req.on('error', (e) => {
        done();
        if (failed) return;
        failed = true;
        reject(new HttpError(400, 'BAD_REQUEST', `the body could not be read: ${errorMessage(e)}`, {}, true));
      });
    });
  }

  private formatOf(url: URL): AdapterName {
    const f = url.searchParams.get('format') ?? this.cfg.defaultFormat;
    if (!(ADAPTER_NAMES as readonly string[]).includes(f)) {
      throw new HttpError(400, 'UNKNOWN_FORMAT', `format '${f}' is not one of ${ADAPTER_NAMES.join(', ')}`);
    }
    return f as AdapterName;
  }

  /** The request body as source inputs (line = record number, or physical line for text bodies). */
  private inputsOf(kind: BodyKind, body: Buffer, format: AdapterName): SourceInput[] {
    const adapter = adapterByName(format);
    const max = this.cfg.maxRecords;
    if (body.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'empty body');
    if (kind !== 'json') {
      const csv = kind === 'csv';
      if (csv !== (adapter.format === 'csv')) {
        throw new HttpError(400, 'BAD_REQUEST', `format '${format}' reads ${adapter.format === 'csv' ? 'CSV' : 'JSON'} records, not ${csv ? 'CSV' : 'JSON lines'}`);
      }
      // Limits first, on a count that allocates nothing.
      const n = countLines(body, csv);
      if (n.records - (csv ? 1 : 0) > max) throw new HttpError(413, 'TOO_MANY_RECORDS', `${n.records - (csv ? 1 : 0)} records; at most ${max} per request`);
      if (n.blank > max) throw new HttpError(400, 'BAD_REQUEST', `${n.blank} blank lines; at most ${max}`);
      const split = splitRecords(body, { offset: 0, line: 0 }, { csv, final: true });
      // Per line: invalid UTF-8, bad JSON, nesting too deep and CSV faults become INVALID_RECORDS with the line.
      const parsed = parseRecords(split.records, null, { csv, encoding: 'utf8', delimiter: ',', requiredColumns: adapter.requiredColumns });
      if (csv && parsed.header === null) throw new HttpError(400, 'BAD_REQUEST', 'CSV body without a header row');
      return parsed.inputs;
    }
    const value = parseJsonBody(body);
    const list = Array.isArray(value) ? value : [value];
    if (list.length > max) throw new HttpError(413, 'TOO_MANY_RECORDS', `${list.length} records; at most ${max} per request`);
    return list.map((v, i) => {
      const raw = JSON.stringify(v) ?? String(v);
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? { line: i + 1, raw, value: v }
        : { line: i + 1, raw, error: 'each record must be a JSON object' };
    });
  }

  private async transactions(url: URL, kind: BodyKind, body: Buffer): Promise<unknown> {
    const format = this.formatOf(url);
    const inputs = this.inputsOf(kind, body, format);
    if (inputs.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'no records in the body');
    if (inputs.length > this.cfg.maxRecords) throw new HttpError(413, 'TOO_MANY_RECORDS', `${inputs.length} records; at most ${this.cfg.maxRecords} per request`);
    const adapter = adapterByName(format);
    const before = this.state[format] ?? adapter.initialState?.() ?? null;
    const chunk = mapInputs(adapter, this.ctx(), before, inputs, this.guard());
    const file = `http:${format}`;
    if (chunk.rejects.length > 0) {
      await reportRejects(this.ingestDeps, file, chunk.rejects);
      throw new HttpError(400, 'INVALID_RECORDS', `${chunk.rejects.length} of ${inputs.length} record(s) rejected; nothing was accepted`, {
        errors: chunk.rejects.map((r) => ({ line: r.line, reason: r.reason })),
      });
    }
    const nextState: HttpState = { ...this.state, [format]: chunk.state };
    const stateful = adapter.initialState !== undefined;
    const seqs = await ingestChunk(this.ingestDeps, stateful ? this.store : undefined, file, chunk, stateful ? { position: null, state: nextState } : undefined);
    this.state = nextState;
    if (this.st.state === 'outbox_full') this.st.state = 'running';
    this.counts.accepted += inputs.length;
    const ids = seqs.map((s) => `${this.deps.collectorId}:${s}`);
    const byLine = new Map<number, string[]>();
    chunk.items.forEach((item, i) => {
      const l = byLine.get(item.line) ?? [];
      l.push(ids[i]!);
      byLine.set(item.line, l);
    });
    return { records: inputs.length, ids, results: inputs.map((x) => ({ line: x.line, ids: byLine.get(x.line) ?? [] })) };
  }

  private async decide(url: URL, body: Buffer): Promise<DecisionResponse> {
    const t0 = Date.now();
    const format = this.formatOf(url);
    const adapter = adapterByName(format);
    if (body.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'empty body');
    const value = parseJsonBody(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'BAD_REQUEST', 'the body must be one record (a JSON object)');
    // A throw-away copy of the adapter state: asking never changes what the source knows.
    const chunk = mapInputs(adapter, this.ctx(), this.state[format] ?? adapter.initialState?.() ?? null, [{ line: 1, raw: JSON.stringify(value), value }], this.guard());
    if (chunk.rejects.length > 0) {
      throw new HttpError(400, 'INVALID_RECORDS', 'the record was rejected', { errors: chunk.rejects.map((r) => ({ line: r.line, reason: r.reason })) });
    }
    const pending = chunk.items[0]?.pending;
    if (!pending) throw new HttpError(400, 'BAD_REQUEST', `this ${format} record does not make a transaction to decide on`);
    const { collectorId, institutionId } = this.deps;
    const uuid = crypto.randomUUID();
    const requestId = `${collectorId}:d:${uuid}`;
    const timeoutMs = this.cfg.decisionTimeoutMs;
    const request: DecisionRequest = {
      requestId,
      collectorId,
      institutionId,
      sentAt: Date.now(),
      timeoutMs,
      transaction: { id: `${collectorId}:hold:${uuid}`, collectorId, seq: 0, ...pending, capturedAt: this.deps.now() } as Transaction,
    };
    let fallbackReason: string;
    let guard: NodeJS.Timeout | undefined;
    try {
      // The transport has its own timeout; this guard only covers one that never settles.
      const answer = await Promise.race([
        this.deps.decisions.request(request, timeoutMs),
        new Promise<never>((_, reject) => {
          guard = setTimeout(() => reject(new Error(`the hub did not answer within ${timeoutMs} ms`)), timeoutMs + 50);
        }),
      ]);
      const a = validAnswer(answer, requestId);
      if (a?.ok) {
        this.decisionCounts[a.decision] += 1;
        const ms = Date.now() - t0;
        this.deps.emit({ event: 'decision.answered', requestId, decision: a.decision, ms });
        return { requestId, decision: a.decision, fallback: false, postCheck: a.postCheck ?? false, reasons: a.reasons, ms };
      }
      fallbackReason = a ? `the hub refused: ${a.code} ${a.message}` : `unexpected answer from the hub: ${JSON.stringify(answer)?.slice(0, 200)}`;
    } catch (e) {
      const m = errorMessage(e);
      fallbackReason = /timed out|timeout/i.test(m) ? `the hub did not answer within ${timeoutMs} ms` : m;
    } finally {
      if (guard) clearTimeout(guard);
    }
    const fb = this.cfg.decisionFallback;
    this.decisionCounts.fallback += 1;
    const ms = Date.now() - t0;
    this.deps.emit({ event: 'decision.fallback', requestId, decision: fb.decision, reason: fallbackReason, ms });
    return { requestId, decision: fb.decision, fallback: true, postCheck: fb.postCheck, reasons: [], fallbackReason, ms };
  }
}
