import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { HubError } from '../src/errors.js';
import { defaultReplicaName, evaluateQueueName } from '../src/jobs/queue.js';

describe('hub config', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.clickhouseUrl).toBeUndefined();
    expect(c.runWorker).toBe(true);
  });

  it('reads JG_* variables, booleans included', () => {
    const c = loadConfig({ JG_PORT: '9090', JG_SEED_DEMO: 'yes', JG_WORKER: '0', JG_CLICKHOUSE_URL: 'http://ch:8123' });
    expect(c).toMatchObject({ port: 9090, seedDemo: true, runWorker: false, clickhouseUrl: 'http://ch:8123' });
  });

  it('names the variable that is wrong', () => {
    let err: unknown;
    try {
      loadConfig({ JG_PORT: 'eighty', JG_REDIS_URL: 'not a url' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('CONFIG_INVALID');
    expect((err as HubError).message).toMatch(/JG_PORT/);
    expect((err as HubError).message).toMatch(/JG_REDIS_URL/);
  });

  it('takes Redis over TCP or over a Unix socket, as ioredis takes them', () => {
    expect(loadConfig({ JG_REDIS_URL: 'redis://:secret@redis-1:6380/2' }).redisUrl).toBe('redis://:secret@redis-1:6380/2');
    expect(loadConfig({ JG_REDIS_URL: 'rediss://redis-1:6380' }).redisUrl).toBe('rediss://redis-1:6380');
    expect(loadConfig({ JG_REDIS_URL: 'unix:///run/redis/redis-server.sock' }).redisUrl).toBe('/run/redis/redis-server.sock');
    expect(loadConfig({ JG_REDIS_URL: 'unix:///run/redis/redis-server.sock?db=3' }).redisUrl).toBe('/run/redis/redis-server.sock?db=3');
    for (const bad of ['http://redis-1:6379', 'unix://relative.sock', 'unix:///a b.sock', '/run/redis.sock', 'unix:///r.sock?password=x']) {
      expect(() => loadConfig({ JG_REDIS_URL: bad }), bad).toThrow(/JG_REDIS_URL.*(redis:\/\/host|unix:)/s);
    }
  });

  it('names the replica for its evaluate queue: JG_REPLICA_NAME as given, else host and port, and nothing a Redis key should not hold', () => {
    expect(loadConfig({ JG_REPLICA_NAME: 'hub-1' }).replicaName).toBe('hub-1');
    expect(loadConfig({}).replicaName).toBeUndefined();
    for (const bad of ['hub 1', 'hub:1', 'a/b', 'x'.repeat(65), '{hub}']) {
      expect(() => loadConfig({ JG_REPLICA_NAME: bad }), bad).toThrow(/JG_REPLICA_NAME/);
    }
    expect(defaultReplicaName('jg-hub.example', 8080)).toBe('jg-hub.example-8080');
    expect(defaultReplicaName('主机 1', 8080)).toBe('___1-8080');
    // Port 0 is a new port at each start: a name of its own, not shared with another such hub.
    const a = defaultReplicaName('vm', 0);
    expect(a).toMatch(/^vm-[0-9a-f]{8}$/);
    expect(defaultReplicaName('vm', 0)).not.toBe(a);
    expect(evaluateQueueName('hub-1')).toBe('evaluate.hub-1');
  });

  it('evaluates in the hub thread first by default; JG_EVALUATION_MODE=threads for the threads always; anything else refused by name', () => {
    expect(loadConfig({}).evaluationMode).toBe('overflow');
    expect(loadConfig({ JG_EVALUATION_MODE: 'threads' }).evaluationMode).toBe('threads');
    for (const bad of ['hub', 'THREADS', '1']) expect(() => loadConfig({ JG_EVALUATION_MODE: bad }), bad).toThrow(/JG_EVALUATION_MODE/);
  });

  it('keeps rule state in the hub by default; JG_RULE_STATE=redis for replicas; anything else refused by name', () => {
    expect(loadConfig({}).ruleState).toBe('local');
    expect(loadConfig({ JG_RULE_STATE: 'redis' }).ruleState).toBe('redis');
    expect(loadConfig({}).ruleStateSnapshotMb).toBe(64);
    expect(loadConfig({ JG_RULE_STATE_SNAPSHOT_MB: '256' }).ruleStateSnapshotMb).toBe(256);
    for (const bad of ['memory', 'LOCAL', 'lua']) expect(() => loadConfig({ JG_RULE_STATE: bad }), bad).toThrow(/JG_RULE_STATE/);
    for (const bad of ['0', 'lots', '99999']) expect(() => loadConfig({ JG_RULE_STATE_SNAPSHOT_MB: bad }), bad).toThrow(/JG_RULE_STATE_SNAPSHOT_MB/);
  });
});
