/**
 * The local HTTP endpoint: software on the counter machine posts its business here instead of
 * (or besides) writing files. node:http only; it listens on the loopback interface.
 *
 *   POST /v1/transactions[?format=<adapter>]
 *        body: one record or an array (application/json), JSON lines (application/x-ndjson), or
 *        CSV with a header row (text/csv, CSV adapters); format defaults to `defaultFormat`.
 *        202 {records, ids, results:[{line, ids}]}  — only after the outbox append is durable
 *        400 {error:'INVALID_RECORDS', errors:[{line, reason}]}  — nothing appended (all or nothing)
 *        400 BAD_REQUEST / UNKNOWN_FORMAT · 401 UNAUTHORIZED · 413 BODY_TOO_LARGE
 *        507 {error:'OUTBOX_FULL'} — nothing appended; retry later
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
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Transaction } from '@jianguan/rules';
import { adapterByName } from '../adapters/index.js';
import { ADAPTER_NAMES, type AdapterContext, type AdapterName } from '../adapters/types.js';
import { errorMessage, isCollectorError } from '../errors.js';
import { renderPrometheus, type MetricsSnapshot } from '../metrics.js';
import { CursorStore } from './cursor-store.js';
import { cursorFileFor, type SourceDeps } from './file-tail.js';
import { ingestChunk, mapInputs, newStatus, parseRecords, reportRejects, type IngestDeps, type SourceInput } from './ingest.js';
import { splitRecords } from './records.js';
import type { HttpSourceConfig } from './source-config.js';
import type { Source, SourceStatus } from './types.js';

// ---- the decision contract with the hub ----------------------------------------------------------

/** Socket event the collector emits on /collect, with an acknowledgement callback. */
export const DECISION_EVENT = 'decision.request';

/**
 * Sent by the collector: "may this transaction go ahead?" The hub should run only its blocking
 * (hold) rules, must not store `transaction` as business (it is not in the outbox; the business
 * arrives later through the normal feed) and should answer within `timeoutMs` of `sentAt`.
 */
export interface DecisionRequest {
  /** `${collectorId}:d:${uuid}`; echo it in the answer. */
  requestId: string;
  collectorId: string;
  institutionId: string;
  /** Epoch ms when sent. */
  sentAt: number;
  /** How long the collector waits before applying its fallback. */
  timeoutMs: number;
  /**
   * The transaction in question, normalised and pseudonymised exactly like an outbox record, with
   * id `${collectorId}:hold:${uuid}` and seq 0 (it has no outbox sequence number).
   */
  transaction: Transaction;
}

export interface DecisionReason {
  ruleId: string;
  ruleName?: string;
  severity?: string;
  /** Why, in Chinese, for the counter clerk. */
  explanation: string;
  warningId?: string;
}

/** The hub's acknowledgement. */
export type DecisionAnswer =
  | { ok: true; requestId: string; decision: 'allow' | 'hold'; reasons: DecisionReason[]; decidedAt: number; postCheck?: boolean }
  | { ok: false; requestId: string; code: string; message: string };

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
export function linkDecisionTransport(getLink: () => { request(event: string, payload: unknown, timeoutMs: number): Promise<unknown> } | undefined): DecisionTransport {
  return {
    async request(req, timeoutMs) {
      const link = getLink();
      if (!link) throw new Error('no link to the hub');
      return link.request(DECISION_EVENT, req, timeoutMs);
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
  ) {
    super(message);
  }
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
  private readonly counts = { requests: 0, accepted: 0, badRequests: 0, full: 0 };
  /** Hold decisions answered by the hub (allow/hold) and by the fallback. */
  readonly decisionCounts = { allow: 0, hold: 0, fallback: 0 };

  constructor(cfg: HttpSourceConfig, deps: HttpDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.name = cfg.name;
    this.st = newStatus(cfg.name, 'http');
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
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { error: 'INTERNAL', message: errorMessage(e) }));
    });
    server.keepAliveTimeout = 5_000;
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
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
          const body = await this.readBody(req);
          const out = await this.serial(() => this.transactions(url, req, body));
          this.send(res, 202, out);
          return;
        }
        case 'POST /v1/decisions': {
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

  private readBody(req: http.IncomingMessage): Promise<Buffer> {
    const max = this.cfg.maxBodyBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
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
        if (!failed) resolve(Buffer.concat(chunks));
      });
      req.on('error', (e) => {
        if (!failed) reject(e);
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
  private inputsOf(req: http.IncomingMessage, body: Buffer, format: AdapterName): SourceInput[] {
    const adapter = adapterByName(format);
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (body.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'empty body');
    if (type === 'text/csv' || type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/json-lines') {
      const csv = type === 'text/csv';
      if (csv !== (adapter.format === 'csv')) {
        throw new HttpError(400, 'BAD_REQUEST', `format '${format}' reads ${adapter.format === 'csv' ? 'CSV' : 'JSON'} records, not ${type}`);
      }
      const split = splitRecords(body, { offset: 0, line: 0 }, { csv, final: true });
      const parsed = parseRecords(split.records, null, { csv, encoding: 'utf8', delimiter: ',', requiredColumns: adapter.requiredColumns });
      if (csv && parsed.header === null) throw new HttpError(400, 'BAD_REQUEST', 'CSV body without a header row');
      return parsed.inputs;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'BAD_REQUEST', `body is not JSON: ${errorMessage(e)}`);
    }
    const list = Array.isArray(value) ? value : [value];
    return list.map((v, i) => {
      const raw = JSON.stringify(v) ?? String(v);
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? { line: i + 1, raw, value: v }
        : { line: i + 1, raw, error: 'each record must be a JSON object' };
    });
  }

  private async transactions(url: URL, req: http.IncomingMessage, body: Buffer): Promise<unknown> {
    const format = this.formatOf(url);
    const inputs = this.inputsOf(req, body, format);
    if (inputs.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'no records in the body');
    if (inputs.length > this.cfg.maxRecords) throw new HttpError(413, 'TOO_MANY_RECORDS', `${inputs.length} records; at most ${this.cfg.maxRecords} per request`);
    const adapter = adapterByName(format);
    const before = this.state[format] ?? adapter.initialState?.() ?? null;
    const chunk = mapInputs(adapter, this.ctx(), before, inputs);
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
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'BAD_REQUEST', `body is not JSON: ${errorMessage(e)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'BAD_REQUEST', 'the body must be one record (a JSON object)');
    // A throw-away copy of the adapter state: asking never changes what the source knows.
    const chunk = mapInputs(adapter, this.ctx(), this.state[format] ?? adapter.initialState?.() ?? null, [{ line: 1, raw: JSON.stringify(value), value }]);
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
