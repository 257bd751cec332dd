/**
 * How replicas stay in step over state they keep in memory (the registry, collector records): a
 * replica that changes it publishes on a Redis channel, and every replica follows the channel on a
 * connection of its own and reloads. It reloads on (re)subscribing too, so what was published while
 * its connection was down is picked up.
 */
import type { Redis } from 'ioredis';

export interface FollowOptions {
  /** Reloads; `message` is what was published, undefined after a (re)subscription. Must not throw. */
  reload: (message: string | undefined) => void;
  /** Errors of the subscribing connection (ioredis reconnects by itself). */
  onError: (e: unknown) => void;
}

/** Follows `channel` until the returned stop function is called. */
export async function followChannel(redis: Redis, channel: string, o: FollowOptions): Promise<() => void> {
  const sub = redis.duplicate();
  sub.on('message', (_channel: string, message: string) => o.reload(message));
  sub.on('ready', () => o.reload(undefined));
  sub.on('error', o.onError);
  await sub.subscribe(channel);
  return () => sub.disconnect();
}
