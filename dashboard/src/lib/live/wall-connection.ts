/**
 * The wall's one socket.io connection (namespace /wall on the page's own origin, which the hub
 * serves). Typed by the hub's event map. Incoming events go through a Batcher into WallState;
 * every (re)connect is followed by a `wall.snapshot` from the hub, which replaces the state.
 *
 * socket.io-client reconnects on its own with backoff; the one case it does not is a disconnect
 * initiated by the server, which we retry ourselves because the wall must never give up.
 *
 * Status: 连接中 before the first connect, 已连接, 重连中 while retrying, 已断开 when the browser
 * is offline or the hub has been unreachable for `downAfterMs` (still retrying).
 */
import { io, type Socket } from 'socket.io-client';
import type { NAMESPACE_WALL, WallClientToServer, WallServerToClient, WallSnapshot } from '@jianguan/protocol';
import type { WallState } from '../state/wall.svelte';
import { Batcher } from './batcher';

/** Checked against the protocol at compile time; a value import would pull server-side zod into the bundle. */
const WALL_NAMESPACE: typeof NAMESPACE_WALL = '/wall';

export type WallSocket = Socket<WallServerToClient, WallClientToServer>;

export interface WallConnectionOptions {
  /** Origin of the hub. @defaultValue the page's own origin */
  url?: string;
  /** socket.io path. @defaultValue '/socket.io' */
  path?: string;
  /** Shortest time between two applications of live events. @defaultValue the Batcher's (100) */
  flushMs?: number;
  /** Periodic resync as a safety net against drift. @defaultValue 300000 (5 min); 0 disables */
  resyncMs?: number;
  /** Ask for the snapshot again this often while none has arrived since connecting. @defaultValue 5000 */
  snapshotRetryMs?: number;
  /**
   * After this long without a connection the status reads 已断开 instead of 重连中 (retries go
   * on in the background). @defaultValue 30000
   */
  downAfterMs?: number;
}

export interface WallConnection {
  socket: WallSocket;
  /** Asks the hub for a fresh snapshot now. */
  resync(): void;
  close(): void;
}

export function connectWall(state: WallState, options: WallConnectionOptions = {}): WallConnection {
  const base = options.url ?? '';
  const socket: WallSocket = io(`${base}${WALL_NAMESPACE}`, {
    path: options.path ?? '/socket.io',
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10_000,
    timeout: 10_000,
  });
  const batcher = new Batcher((batch) => state.applyBatch(batch), options.flushMs === undefined ? {} : { intervalMs: options.flushMs });
  let closed = false;
  let serverRetry: ReturnType<typeof setTimeout> | null = null;
  /** When the connection was lost (null while connected or before the first connect). */
  let lostAt: number | null = null;
  const downAfterMs = options.downAfterMs ?? 30_000;

  const setLost = () => {
    lostAt ??= Date.now();
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    const retrying = socket.active || serverRetry !== null;
    state.connection = offline || !retrying || Date.now() - lostAt >= downAfterMs ? 'disconnected' : 'reconnecting';
  };
  const watchdog = setInterval(() => {
    if (!closed && lostAt !== null && !socket.connected) setLost();
  }, 1000);

  /** Whether a snapshot arrived since the last connect; until one does, ask for it again. */
  let snapshotSinceConnect = false;
  const applySnapshot = (snap: WallSnapshot) => {
    batcher.clear();
    snapshotSinceConnect = true;
    state.applySnapshot(snap);
  };

  socket.on('connect', () => {
    lostAt = null;
    snapshotSinceConnect = false;
    state.refused = null;
    state.connection = 'connected';
  });
  // The hub sends a snapshot on connect; if it was lost (the hub failed to compute it, say), the
  // wall would wait for the periodic resync with stale or no figures. Ask again every few seconds.
  const snapshotWatch = setInterval(() => {
    if (!closed && socket.connected && !snapshotSinceConnect) resync();
  }, options.snapshotRetryMs ?? 5_000);
  socket.on('disconnect', (reason) => {
    if (closed) return;
    batcher.flush();
    if (reason === 'io server disconnect') {
      // The only case socket.io does not retry by itself.
      serverRetry = setTimeout(() => {
        serverRetry = null;
        socket.connect();
      }, 2000);
      lostAt ??= Date.now();
      state.connection = 'reconnecting';
    } else {
      setLost();
    }
  });
  /** A refused handshake (no login or kiosk token) is not retried by socket.io; try again now and then, a token may be issued meanwhile. */
  let refusedRetry: ReturnType<typeof setTimeout> | null = null;
  socket.on('connect_error', (err: Error & { data?: { code?: unknown } }) => {
    if (closed) return;
    if (state.connection === 'connecting') lostAt ??= Date.now();
    const code = typeof err?.data?.code === 'string' ? err.data.code : null;
    if (code === 'AUTH_REQUIRED') {
      state.refused = 'auth';
      if (!refusedRetry && !socket.active) {
        refusedRetry = setTimeout(() => {
          refusedRetry = null;
          if (!closed) socket.connect();
        }, 30_000);
      }
    }
    setLost();
  });
  socket.io.on('reconnect_failed', () => {
    if (!closed) state.connection = 'disconnected';
  });

  socket.on('wall.snapshot', applySnapshot);
  socket.on('warning.raised', (warnings) => batcher.warnings(warnings));
  socket.on('county.stats', (stats) => batcher.stats(stats));

  const resync = () => {
    if (!socket.connected) return;
    socket.timeout(10_000).emit('wall.resync', (err: Error | null, snap: WallSnapshot) => {
      if (!err && snap) applySnapshot(snap);
    });
  };

  const onVisible = () => {
    if (document.visibilityState === 'visible') resync();
  };
  const onOffline = () => {
    if (!closed && !socket.connected) setLost();
  };
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
  if (typeof window !== 'undefined') window.addEventListener('offline', onOffline);
  const resyncMs = options.resyncMs ?? 300_000;
  const periodic = resyncMs > 0 ? setInterval(resync, resyncMs) : null;

  return {
    socket,
    resync,
    close() {
      closed = true;
      if (periodic) clearInterval(periodic);
      clearInterval(watchdog);
      clearInterval(snapshotWatch);
      if (typeof window !== 'undefined') window.removeEventListener('offline', onOffline);
      if (serverRetry) clearTimeout(serverRetry);
      if (refusedRetry) clearTimeout(refusedRetry);
      if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
      batcher.dispose();
      socket.close();
      state.connection = 'disconnected';
    },
  };
}
