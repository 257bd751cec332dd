/**
 * Tier 1 of the hub: what every feature stands on. The store (migrated, demo registry seeded),
 * Redis for rule state, sessions and locks, and socket.io on the HTTP server with its Redis
 * adapter. Each piece closes itself in an onClose hook; fastify runs them in reverse order, so
 * the tiers above are gone before these.
 */
import fp from 'fastify-plugin';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { WorkCalendar } from '@jianguan/rules';
import { WorkCalendars } from '../calendar/calendar.js';
import type { HubConfig } from '../config.js';
import { HubError, errorMessage } from '../errors.js';
import { guardEngineRequests } from '../http-edges.js';
import { redisConnection } from '../jobs/queue.js';
import { migrate } from '../store/migrate.js';
import { openStore, type Store } from '../store/store.js';
import { calendarYearsMissing, createTelemetry, emit, type Telemetry } from '../telemetry/events.js';
import { createHubPseudonyms, type HubPseudonyms } from '../pseudonyms.js';
import { withTimeout } from '../deadline.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: HubConfig;
    store: Store;
    /** Rule state, sessions, locks, throttles (BullMQ opens its own connections). */
    redis: Redis;
    io: Server;
    /** The work calendar in force (calendar/calendar.ts); the same object for the process's life. */
    calendar: WorkCalendar;
    calendars: WorkCalendars;
    telemetry: Telemetry;
    pseudonyms: HubPseudonyms;
  }
}


export const infrastructure = fp<{ config: HubConfig }>(
  async (app, { config }) => {
    const log = app.log;
    app.decorate('config', config);
    app.decorate('telemetry', createTelemetry(log));
    app.decorate('pseudonyms', createHubPseudonyms(config));

    const store = await openStore(config, (statement, ms) => emit(log, 'store.slow', { ms, statement }));
    app.addHook('onClose', () => store.close());
    app.decorate('store', store);
    const applied = await migrate(store);
    if (applied.length) emit(log, 'store.migrated', { applied, driver: store.driver });

    const redis = redisConnection(config.redisUrl);
    // ioredis reconnects by itself; without a listener it prints "Unhandled error event" per retry.
    redis.on('error', (err) => emit(log, 'redis.error', { message: errorMessage(err) }));
    app.addHook('onClose', async () => void redis.disconnect());
    app.decorate('redis', redis);
    // ioredis retries forever; at start a missing Redis should be a clear error, not a hang.
    await withTimeout(redis.ping(), 10_000, () => new HubError('QUEUE_UNAVAILABLE', `Redis at ${config.redisUrl} did not answer within 10 s`));

    const calendars = await WorkCalendars.open({ store, redis, prefix: config.queuePrefix, emit: (event, fields, msg) => emit(log, event, fields, msg), missingGauge: calendarYearsMissing });
    app.addHook('onClose', async () => calendars.close());
    app.decorate('calendars', calendars);
    app.decorate('calendar', calendars.live);

    const io = new Server(app.server, { serveClient: false, pingInterval: 10_000, pingTimeout: 20_000, maxHttpBufferSize: 8e6 });
    guardEngineRequests(io);
    // Broadcasts go through Redis so that, with several hub replicas, a warning evaluated on one
    // reaches the wall screens connected to any of them (per-socket emits and acks stay local).
    const adapterPub = redis.duplicate();
    const adapterSub = redis.duplicate();
    for (const r of [adapterPub, adapterSub]) r.on('error', (err) => emit(log, 'redis.error', { message: errorMessage(err) }));
    io.adapter(createAdapter(adapterPub, adapterSub, { key: `${config.queuePrefix}:io` }));
    app.addHook('onClose', async () => {
      adapterPub.disconnect();
      adapterSub.disconnect();
    });
    // Collector and wall sockets before fastify waits for its connections: upgraded websocket
    // connections are not HTTP connections fastify can force-close, so close() would wait forever.
    app.addHook('preClose', async () => {
      io.disconnectSockets(true);
      io.engine.close();
    });
    app.decorate('io', io);
  },
  { name: 'jg-infrastructure' },
);
