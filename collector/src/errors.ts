/**
 * The collector's coded errors, in one registry. Callers and tests branch on `code`, never on the
 * message text (fastify's lib/errors.js habit).
 */

export const COLLECTOR_ERROR_CODES = {
  /** The configuration (env, file or object) failed validation; the message names the field. */
  CONFIG_INVALID: 'invalid collector configuration',
  /** The outbox is at its size bound; the record was NOT accepted (never silently dropped). */
  OUTBOX_FULL: 'outbox is full',
  /** Another live process holds the outbox directory. */
  OUTBOX_LOCKED: 'outbox directory is locked by another process',
  /** The outbox was used after close(). */
  OUTBOX_CLOSED: 'outbox is closed',
  /** A disk operation failed; the outbox state on disk is unchanged or was rolled back. */
  OUTBOX_IO: 'outbox i/o error',
  /** ack() named a sequence number that was never appended. */
  OUTBOX_BAD_ACK: 'acknowledgement beyond the last appended record',
  /** The simulator cannot produce records for this institution (unknown id without a type). */
  SOURCE_INVALID: 'source cannot run with this configuration',
  /** drained() did not complete within its timeout. */
  DRAIN_TIMEOUT: 'collector did not drain in time',
  /** The collector was stopped. */
  STOPPED: 'collector stopped',
  /** identity.key exists but is not a usable Ed25519 private key, or cannot be created. */
  IDENTITY_INVALID: 'collector identity key is unusable',
} as const;

export type CollectorErrorCode = keyof typeof COLLECTOR_ERROR_CODES;

export class CollectorError extends Error {
  readonly code: CollectorErrorCode;

  constructor(code: CollectorErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${COLLECTOR_ERROR_CODES[code]}: ${detail}` : COLLECTOR_ERROR_CODES[code], options);
    this.name = 'CollectorError';
    this.code = code;
  }
}

export function isCollectorError(e: unknown, code?: CollectorErrorCode): e is CollectorError {
  return e instanceof CollectorError && (code === undefined || e.code === code);
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
