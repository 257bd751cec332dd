/**
 * Coded errors, one registry (after fastify's lib/errors.js). Tests assert codes, not messages.
 * `statusCode` is used by the HTTP layer; `retryable` tells a collector whether re-sending helps.
 */
export const ERRORS = {
  CONFIG_INVALID: { status: 500, retryable: false, message: 'Invalid configuration' },
  AUTH_FAILED: { status: 401, retryable: false, message: 'Collector authentication failed' },
  BATCH_INVALID: { status: 400, retryable: false, message: 'Batch envelope is malformed' },
  COLLECTOR_MISMATCH: { status: 400, retryable: false, message: 'Batch belongs to another collector' },
  RECORD_INVALID: { status: 400, retryable: false, message: 'Record failed validation' },
  UNKNOWN_INSTITUTION: { status: 400, retryable: false, message: 'Record names an institution not in the registry' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, message: 'Store is not available' },
  QUEUE_UNAVAILABLE: { status: 503, retryable: true, message: 'Queue is not available' },
  EVALUATION_TIMEOUT: { status: 503, retryable: true, message: 'Batch was not stored in time' },
  EVALUATION_FAILED: { status: 500, retryable: true, message: 'Batch evaluation failed' },
  MIGRATION_FAILED: { status: 500, retryable: false, message: 'Database migration failed' },
  NOT_FOUND: { status: 404, retryable: false, message: 'Not found' },
  // Users, sessions, roles and scope (hub/src/auth/).
  QUERY_INVALID: { status: 400, retryable: false, message: 'Query parameters are invalid' },
  BODY_INVALID: { status: 400, retryable: false, message: 'Request body is invalid' },
  AUTH_REQUIRED: { status: 401, retryable: false, message: 'Login required' },
  LOGIN_FAILED: { status: 401, retryable: false, message: 'Wrong user name or password' },
  LOGIN_LOCKED: { status: 429, retryable: true, message: 'Too many failed logins; try again later' },
  FORBIDDEN: { status: 403, retryable: false, message: 'Your role may not do this' },
  OUT_OF_SCOPE: { status: 403, retryable: false, message: 'Outside your county scope' },
  USER_EXISTS: { status: 409, retryable: false, message: 'User name already taken' },
  // Doors (docs/security.md): CSRF, login limits, password policy.
  CSRF_REFUSED: { status: 403, retryable: false, message: 'Cross-site request refused' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests; try again later' },
  PASSWORD_WEAK: { status: 400, retryable: false, message: 'Password does not meet the password policy' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, retryable: false, message: 'Change your password before continuing' },
  COLLECTOR_KEY_REQUIRED: { status: 401, retryable: false, message: 'Collector must prove its bound key' },
  SEALED_PAYLOAD_INVALID: { status: 500, retryable: false, message: 'A payload sealed at rest cannot be opened with the hub keyring' },
  // Warning workflow (hub/src/workflow/).
  CONFLICT: { status: 409, retryable: false, message: 'Another action changed this item first' },
  INVALID_TRANSITION: { status: 409, retryable: false, message: 'Action not allowed in the current state' },
  BUSY: { status: 503, retryable: true, message: 'Item is being changed; retry' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'Upload is too large' },
  // Registry maker-checker (hub/src/registry/).
  SAME_APPROVER: { status: 403, retryable: false, message: 'A change must be approved by a different administrator' },
  REQUEST_NOT_PENDING: { status: 409, retryable: false, message: 'Request is no longer pending' },
  QUARTER_NOT_FINAL: { status: 409, retryable: false, message: 'The quarter has not ended: its grade is provisional' },
  REQUEST_PERIOD_OVER: { status: 409, retryable: false, message: 'The period the request was for has ended; file it again' },
  IMPORT_INVALID: { status: 422, retryable: false, message: 'Import has invalid rows; nothing was imported' },
  // Table imports and exports (hub/src/exports/): limits that keep one file from exhausting the hub.
  IMPORT_TOO_LARGE: { status: 413, retryable: false, message: 'Import file is too large' },
  IMPORT_TOO_MANY_ROWS: { status: 413, retryable: false, message: 'Import has too many rows' },
  IMPORT_TOO_MANY_COLUMNS: { status: 413, retryable: false, message: 'Import has too many columns' },
  IMPORT_CELL_TOO_LONG: { status: 413, retryable: false, message: 'Import has a cell that is too long' },
  IMPORT_FORMAT: { status: 415, retryable: false, message: 'Import file format is not supported; save it as XLSX or CSV' },
  IMPORT_ENCODING: { status: 422, retryable: false, message: 'Import text encoding is not recognised; save it as UTF-8 CSV or XLSX' },
  EXPORT_TOO_LARGE: { status: 422, retryable: false, message: 'Export is too large for XLSX; narrow the filter or export CSV' },
  TOO_MANY_JOBS: { status: 429, retryable: true, message: 'Too many imports or exports in progress; retry shortly' },
  BACKUP_RUNNING: { status: 409, retryable: true, message: 'A backup is already running' },
  BACKUP_UNSUPPORTED: { status: 409, retryable: false, message: "This hub stores in a ClickHouse server: back it up with the server's own BACKUP" },
  // Collector identity, enrolment and the batch chain (hub/src/collectors/).
  BATCH_SIGNATURE_INVALID: { status: 400, retryable: false, message: 'Batch signature or records digest does not verify' },
  BATCH_CHAIN_CONFLICT: { status: 409, retryable: false, message: 'Batch contradicts the chain already accepted from this collector' },
  COLLECTOR_REVOKED: { status: 403, retryable: false, message: 'Collector is revoked' },
  COLLECTOR_KEY_MISMATCH: { status: 401, retryable: false, message: 'Collector key does not match the registered key' },
  ENROL_INVALID: { status: 400, retryable: false, message: 'Enrolment request is invalid' },
  ENROL_LIMIT: { status: 429, retryable: true, message: 'Too many collectors are waiting for approval' },
  ENROL_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many enrolments from this address' },
  HELD_QUOTA: { status: 429, retryable: true, message: 'Collector is pending approval and its held quota is full' },
  // Rule sets, decisions, backtests, peer deviation (hub/src/rulesets/, decisions/, backtest/, peer/).
  RULESET_INVALID: { status: 422, retryable: false, message: 'Rule set does not compile' },
  RULESET_NOT_DRAFT: { status: 409, retryable: false, message: 'Rule set is not a draft' },
  RULESET_DIFF_TOO_LARGE: { status: 409, retryable: false, message: 'Backtest diff exceeds the release threshold; approve with override and a reason' },
  BACKTEST_NOT_READY: { status: 409, retryable: false, message: 'Backtest has not finished' },
  DECISION_INVALID: { status: 400, retryable: false, message: 'Decision request is invalid' },
  // HTTP edges (hub/src/http-edges.ts): a client's malformed request is a 4xx, never a 500.
  BAD_REQUEST: { status: 400, retryable: false, message: 'Malformed request' },
  BAD_URL: { status: 400, retryable: false, message: 'Request URL is malformed' },
  MULTIPART_INVALID: { status: 400, retryable: false, message: 'Multipart body is malformed' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'Method not allowed here' },
  REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'Request was not received in time' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Content type is not supported here' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'Request headers are too large' },
  INTERNAL: { status: 500, retryable: true, message: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HubError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const def = ERRORS[code];
    super(detail ? `${def.message}: ${detail}` : def.message, options);
    this.name = 'HubError';
    this.code = code;
    this.statusCode = def.status;
    this.retryable = def.retryable;
  }
}

export function isHubError(e: unknown): e is HubError {
  return e instanceof HubError;
}

/**
 * The message of anything thrown or rejected. Total: a value whose `toString` throws (a hostile
 * object, a null-prototype one) gives a placeholder instead of a second failure in the handler.
 */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return '[unprintable value]';
  }
}
