/**
 * Last-resort process handlers for the collector (installed by main.ts before it starts).
 *
 * - `unhandledRejection` → event `process.unhandled_rejection`, logged; the collector keeps
 *   running. A promise nobody awaited failed: the outbox append or send it belonged to reports its
 *   own failure, and nothing in the outbox was left half-written by it (appends are framed and
 *   checksummed; a torn tail is dropped on recovery).
 * - `uncaughtException` → event `process.uncaught_exception`, logged; then exit(1). A synchronous
 *   throw unwound through code that did not expect it, so in-memory state (the send window, the
 *   ack ledger's cache) may be inconsistent. The supervisor restarts the process
 *   (deploy/single-host/jianguan-collector.service: Restart=always; nssm on Windows); records the
 *   hub has not acknowledged are still in the outbox and are sent again, and the hub keeps
 *   re-sent batches once.
 */

import { errorMessage } from './errors.js';

export type ProcessLog = (level: 'error' | 'fatal', fields: Record<string, unknown>) => void;

function errorFields(e: unknown): Record<string, unknown> {
  return e instanceof Error ? { type: e.name, message: e.message, stack: e.stack } : { message: errorMessage(e) };
}

export function installProcessHandlers(log: ProcessLog, exit: (code: number) => void = (c) => process.exit(c)): void {
  const write: ProcessLog = (level, fields) => {
    try {
      log(level, fields);
    } catch {
      // A failing logger must not turn a handled failure into a second one.
      try {
        process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), ...fields })}\n`);
      } catch {
        /* nothing left to write with */
      }
    }
  };
  process.on('unhandledRejection', (reason) => {
    write('error', { event: 'process.unhandled_rejection', err: errorFields(reason) });
  });
  process.on('uncaughtException', (err, origin) => {
    // process.stdout.write to a file or pipe is synchronous, so the line is out before the exit.
    write('fatal', { event: 'process.uncaught_exception', origin, err: errorFields(err) });
    exit(1);
  });
}
