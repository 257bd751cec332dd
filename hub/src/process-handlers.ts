/**
 * Last-resort process handlers (installed by server.ts before anything starts):
 *
 * - `unhandledRejection` → event `process.unhandled_rejection`, logged; the hub keeps running.
 *   A promise nobody awaited failed: the request or job it belonged to has answered or will time
 *   out, and nothing shared was left half-changed by a throw in the middle of it.
 * - `uncaughtException` → event `process.uncaught_exception`, logged; then exit(1). A synchronous
 *   throw unwound through code that did not expect it, so in-memory state (locks, buffers,
 *   counters) may be inconsistent. The supervisor restarts the process (deploy/single-host:
 *   Restart=always); the hub acks nothing it has not stored, so collectors re-send.
 */
import type { FastifyBaseLogger } from 'fastify';
import { errorMessage } from './errors.js';

/** A stand-in for the hub's logger until it exists: one JSON line on stderr. */
function fallbackLog(level: 'error' | 'fatal', fields: Record<string, unknown>): void {
  console.error(JSON.stringify({ level, time: Date.now(), ...fields }));
}

function errorFields(e: unknown): Record<string, unknown> {
  return e instanceof Error ? { type: e.name, message: e.message, stack: e.stack } : { message: errorMessage(e) };
}

/** Installs the process-level handlers; `log()` is the hub's logger once it is up. */
export function installProcessHandlers(log: () => FastifyBaseLogger | undefined, exit: (code: number) => void = (c) => process.exit(c)): void {
  const write = (level: 'error' | 'fatal', fields: Record<string, unknown>): void => {
    try {
      const l = log();
      if (l) l[level](fields);
      else fallbackLog(level, fields);
    } catch {
      // A failing logger must not turn a handled failure into a second one.
      fallbackLog(level, fields);
    }
  };
  process.on('unhandledRejection', (reason) => {
    write('error', { event: 'process.unhandled_rejection', err: errorFields(reason) });
  });
  process.on('uncaughtException', (err, origin) => {
    // pino writes synchronously to stdout by default, so the line is out before the exit.
    write('fatal', { event: 'process.uncaught_exception', origin, err: errorFields(err) });
    exit(1);
  });
}
