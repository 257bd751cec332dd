/**
 * The hub's HTTP edges: every way a client's mistake can reach the HTTP layer ends in a 4xx with
 * the one error body `{ error: { code, message } }` and a code from errors.ts, never a 500 and
 * never a thrown exception.
 *
 *   errors in hooks, parsers, handlers     → httpErrorHandler   (app.setErrorHandler)
 *   malformed URL (`%` escapes), long params → frameworkErrors  (Fastify option; bypasses the
 *                                                                error handler otherwise)
 *   unparsable HTTP, huge headers, timeouts → clientErrorHandler (Fastify option; raw socket)
 *   engine.io requests with another method  → guardEngineRequests (engine.io's polling transport
 *                                             answers anything but GET/POST with a bare 500)
 *
 * Only errors the hub cannot blame on the request are 5xx; those are logged and answered with
 * code INTERNAL and a generic message, so no stack detail or SQL leaks to the client.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from 'socket.io';
import { ERRORS, isHubError, type ErrorCode } from './errors.js';
import { emit } from './telemetry/events.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Fastify's and @fastify/multipart's client-error codes, in the hub's vocabulary. */
const FRAMEWORK_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BODY_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_INVALID',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BODY_INVALID',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'BAD_URL',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_PROTO_VIOLATION: 'MULTIPART_INVALID',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'MULTIPART_INVALID',
  FST_INVALID_JSON_FIELD_ERROR: 'MULTIPART_INVALID',
  FST_MP_PREMATURE_CLOSE: 'MULTIPART_INVALID',
};

const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,63}$/;

export interface ResolvedError {
  status: number;
  body: ErrorBody;
  /** true when the hub, not the client, is at fault (log it). */
  internal: boolean;
}

/**
 * What the multipart parser (busboy) throws on a malformed body: plain Errors without a code or
 * status ("Multipart: Boundary not found", "Unexpected end of multipart data", "… terminated
 * early due to unexpected end of multipart data", "Unexpected end of form").
 */
const MULTIPART_PARSE_ERROR = /multipart|unexpected end of (form|file)|malformed part header/i;

/**
 * The status and coded body for any thrown value. Total: never throws. `multipart`: the request
 * carried a multipart body, so a bare parser error from it is the client's (a route that reads
 * parts without mapping their errors still answers 400, not 500).
 */
export function resolveError(err: unknown, context: { multipart?: boolean } = {}): ResolvedError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; statusCode?: unknown; message?: unknown; validationContext?: unknown };
  const message = typeof e.message === 'string' ? e.message.slice(0, 500) : String(err).slice(0, 500);
  if (isHubError(err)) return { status: err.statusCode, body: { error: { code: err.code, message } }, internal: err.statusCode >= 500 };
  const mapped = typeof e.code === 'string' ? FRAMEWORK_CODES[e.code] : undefined;
  if (mapped) return { status: ERRORS[mapped].status, body: { error: { code: mapped, message } }, internal: false };
  const status = typeof e.statusCode === 'number' && Number.isInteger(e.statusCode) ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Schema validation outside defineRoute, or another plugin's client error: keep its status,
    // and its code when it looks like one.
    const code = e.validationContext === 'body' ? 'BODY_INVALID' : e.validationContext ? 'QUERY_INVALID' : typeof e.code === 'string' && CODE_SHAPE.test(e.code) ? e.code : 'BAD_REQUEST';
    return { status, body: { error: { code, message } }, internal: false };
  }
  if (context.multipart && e.statusCode === undefined && MULTIPART_PARSE_ERROR.test(message)) {
    return { status: ERRORS.MULTIPART_INVALID.status, body: { error: { code: 'MULTIPART_INVALID', message } }, internal: false };
  }
  return { status: status >= 500 && status < 600 ? status : 500, body: { error: { code: 'INTERNAL', message: ERRORS.INTERNAL.message } }, internal: true };
}

function isMultipartRequest(req: FastifyRequest): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^multipart\//i.test(type);
}

/** For `app.setErrorHandler`. */
export function httpErrorHandler(log: FastifyBaseLogger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): void => {
    const r = resolveError(err, { multipart: isMultipartRequest(req) });
    if (r.internal) emit(log, 'http.error', { method: req.method, url: req.url, err });
    void reply.code(r.status).send(r.body);
  };
}

/** Fastify's `frameworkErrors` option: errors raised before routing (a malformed URL). */
export function frameworkErrors(err: unknown, _req: FastifyRequest, reply: FastifyReply): void {
  const r = resolveError(err);
  void reply.code(r.status).send(r.body);
}

/**
 * Fastify's `clientErrorHandler` option: Node could not parse the request at all (bad request
 * line, header overflow, header timeout). There is no request object; answer on the raw socket
 * and close it, as Node's own default does.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST';
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * engine.io's polling transport answers any method but GET and POST on an open session with a
 * bare 500 (transports/polling.js onRequest). Refuse those methods before engine.io sees them.
 */
export function guardEngineRequests(io: Server): void {
  io.engine.use((req: http.IncomingMessage, res: unknown, next: (err?: Error) => void) => {
    if (req.method === 'GET' || req.method === 'POST') return next();
    if (res instanceof http.ServerResponse) {
      const body = JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} ${ERRORS.METHOD_NOT_ALLOWED.message}` } } satisfies ErrorBody);
      res.writeHead(ERRORS.METHOD_NOT_ALLOWED.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), allow: 'GET, POST' });
      res.end(body);
      // Not calling next(): the request is answered. The middleware chain's pending promise is
      // dropped with the request.
      return;
    }
    // An upgrade with another method: engine.io aborts it with its own 400.
    next(Object.assign(new Error('method not allowed'), { code: 'METHOD_NOT_ALLOWED' }));
  });
}

/**
 * The client's address as fastify reports it (`req.ip`, through trusted proxies), or '' for a
 * request whose socket is already gone — fastify then has none, and every reader (the /metrics
 * loopback check, the login and rate limiters, the audit) takes a string.
 */
export function clientAddress(req: FastifyRequest): string {
  return req.ip ?? '';
}
