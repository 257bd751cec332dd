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

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
