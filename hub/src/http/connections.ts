/**
 * Limits on the hub's TCP connections, before any request is read.
 *
 * A connection costs a file descriptor, and the hub's descriptors are shared with the embedded
 * ClickHouse (chDB opens its parts as files in the same process). A client that opens thousands
 * of connections and trickles a byte of body every few seconds holds each one open — fastify
 * turns off Node's request timeout — until the process runs out of descriptors; then the store
 * cannot open a part, batches fail, audit rows are lost and /healthz stops answering. So:
 *
 * - a request must arrive whole within JG_REQUEST_TIMEOUT_S (Node's `requestTimeout`, 408; set
 *   on the server in app.ts), long enough for the largest import over a slow county line;
 * - one peer address holds at most JG_CONN_PER_ADDRESS connections (a NATed institution's
 *   counters and its staff's browsers are a few dozen); behind a reverse proxy every connection
 *   comes from the proxy, so the default there is no limit — the proxy limits per client;
 * - the whole server holds at most JG_MAX_CONNECTIONS, by default half the process's open-file
 *   limit, so the store always keeps the other half.
 *
 * A connection over a limit is closed at once, without a response: it has sent nothing yet.
 */
import fs from 'node:fs';
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Connections per peer address; 0 = no limit. */
  perAddress: number;
  /** Connections in all. */
  max: number;
}

/** The soft limit on open files of this process (Linux /proc), or undefined when unknown. */
export function openFilesLimit(limitsText = readProcLimits()): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (!soft || soft === 'unlimited') return undefined;
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function readProcLimits(): string | undefined {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}

/** JG_MAX_CONNECTIONS when set, else half the open-file limit (5,000 when it cannot be read: null). */
export function defaultMaxConnections(configured: number | undefined, fileLimit: number | null = openFilesLimit() ?? null): number {
  if (configured !== undefined) return configured;
  return fileLimit === null ? 5_000 : Math.max(64, Math.floor(fileLimit / 2));
}

/**
 * Counts the server's connections per peer address and refuses those over the limits. `onRefused`
 * is told of the first refusal of an address in each minute, for one log line rather than
 * thousands.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, onRefused: (address: string, reason: 'per_address' | 'total', open: number) => void): void {
  server.maxConnections = limits.max;
  // Node closes connections over maxConnections itself and says so with 'drop' (Node 18+).
  server.on('drop', (data?: { remoteAddress?: string }) => note(data?.remoteAddress ?? '?', 'total', limits.max));
  const open = new Map<string, number>();
  const told = new Map<string, number>();
  const note = (address: string, reason: 'per_address' | 'total', n: number) => {
    const now = Date.now();
    if ((told.get(address) ?? 0) > now - 60_000) return;
    if (told.size > 10_000) told.clear();
    told.set(address, now);
    onRefused(address, reason, n);
  };
  if (limits.perAddress <= 0) return;
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const n = (open.get(address) ?? 0) + 1;
    if (n > limits.perAddress) {
      note(address, 'per_address', n - 1);
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
