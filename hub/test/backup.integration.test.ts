/**
 * Backups of the embedded store while the hub runs (hub/src/backup/backup.ts): made from a
 * frozen snapshot while rows keep arriving, read back by another process, with the keyring and
 * the evidence; one at a time; the oldest pruned; a failure said in words; the daily hour.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backup, BackupList } from '@jianguan/protocol';
import type { Hub } from '../src/app.js';
import { countTables, StoreBackups } from '../src/backup/backup.js';
import { main } from '../src/cli.js';
import { param, sql, UNSAFE_RAW_SQL } from '../src/store/sql.js';
import { Redis } from 'ioredis';
import { connect } from 'socket.io-client';
import { copyRuleStateToFile, copySize, readCopyFile } from '../src/backup/rule-state-copy.js';
import { LocalRuleState } from '../src/jobs/local-state.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, tmpDir, unsignedBatch, withToken } from './helpers.js';

let hub: Hub;
let admin = '';
const backupDir = tmpDir('backups');

beforeAll(async () => {
  // A real keyring (not the tests' identity hashing), so that the backup has one to carry.
  ({ hub } = await startTestHub({ backupDir, backupHour: -1, backupKeep: 2, pseudonymSecrets: undefined, workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  admin = await login(hub, 'admin');
});

afterAll(async () => {
  await hub?.close();
});

const call = (token: string, method: 'GET' | 'POST', url: string) => hub.app.inject(withToken(token, { method, url, ...(method === 'POST' ? { payload: {} } : {}) }));

async function finished(name: string): Promise<Backup> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const list = (await call(admin, 'GET', '/api/v1/backups')).json() as BackupList;
    const b = list.items.find((i) => i.name === name);
    if (b && b.state !== 'running') return b;
    if (Date.now() > deadline) throw new Error(`backup ${name} still running: ${JSON.stringify(b)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function rows(table: string): Promise<number> {
  const [r] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM ${UNSAFE_RAW_SQL(table)}`);
  return Number(r!.n);
}

describe('backups of the embedded store', () => {
  it('copies a snapshot while rows keep arriving, and the copy opens as a store with the same rows', async () => {
    const empty = (await call(admin, 'GET', '/api/v1/backups')).json() as BackupList;
    expect(empty).toMatchObject({ dir: backupDir, hour: null, keep: 2, supported: true, items: [] });
    // Evidence on disk, as an upload leaves it (content-addressed), and a temporary file that is not.
    const evidenceDir = path.join(hub.config.dataDir, 'evidence');
    fs.mkdirSync(evidenceDir, { recursive: true });
    fs.writeFileSync(path.join(evidenceDir, 'a'.repeat(64)), 'scan');
    fs.writeFileSync(path.join(evidenceDir, 'upload-123.tmp'), 'partial');
    const versionsBefore = await rows('registry_versions');

    const started = await call(admin, 'POST', '/api/v1/backups');
    expect(started.statusCode, started.body).toBe(202);
    const first = started.json() as Backup;
    expect(first).toMatchObject({ state: 'running', trigger: 'manual', by: 'admin', verified: false });
    expect(first.name).toMatch(/^jianguan-\d{8}-\d{6}$/);
    // One at a time.
    const again = await call(admin, 'POST', '/api/v1/backups');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('BACKUP_RUNNING');
    // Writes go on during the backup (audit rows are written by every request).
    for (let i = 0; i < 20; i++) expect((await call(admin, 'GET', '/api/v1/backups')).statusCode).toBe(200);

    const done = await finished(first.name);
    expect(done, done.error).toMatchObject({ state: 'done', phase: 'done', verified: true, keyring: true, evidenceFiles: 1, error: '' });
    expect(done.bytesDone).toBe(done.bytesTotal);
    expect(done.bytesTotal).toBeGreaterThan(0);
    const names = done.tables.map((t) => t.name);
    for (const t of ['transactions', 'warnings', 'warning_events', 'registry_versions', 'users', 'audit_log', 'schema_migrations']) expect(names).toContain(t);
    expect(done.tables.find((t) => t.name === 'registry_versions')!.rows).toBe(versionsBefore);
    expect(done.tables.find((t) => t.name === 'users')!.rows).toBeGreaterThan(0);

    // Read back by another process, independently of the backup's own check.
    const dir = path.join(backupDir, first.name);
    const counted = await countTables(path.join(dir, 'chdb'), ['users', 'registry_versions', 'schema_migrations']);
    expect(counted).toEqual({ users: done.tables.find((t) => t.name === 'users')!.rows, registry_versions: versionsBefore, schema_migrations: await rows('schema_migrations') });
    expect(fs.readFileSync(path.join(dir, 'pseudonym-keyring.json'), 'utf8')).toBe(fs.readFileSync(path.join(hub.config.dataDir, 'pseudonym-keyring.json'), 'utf8'));
    expect(fs.statSync(path.join(dir, 'pseudonym-keyring.json')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.join(dir, 'evidence'))).toEqual(['a'.repeat(64)]);
    // For alerting: the newest verified backup's time on /metrics (loopback scrape).
    const metrics = await hub.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(`jg_backup_last_success_timestamp_seconds ${done.startedAt / 1000}`);
    // The live store keeps no snapshot behind.
    expect(fs.readdirSync(path.join(hub.config.dataDir, 'chdb', 'shadow')).filter((n) => n.startsWith('jianguan'))).toEqual([]);
    // Who started it is in the audit log.
    const [audit] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM audit_log WHERE action = 'backup.start' AND target_id = ${param.String(first.name)}`);
    expect(Number(audit!.n)).toBe(1);
  });

  it('keeps the newest JG_BACKUP_KEEP and deletes the older ones', async () => {
    for (let i = 0; i < 2; i++) {
      // Names are by the second.
      await new Promise((r) => setTimeout(r, 1_100));
      const r = await call(admin, 'POST', '/api/v1/backups');
      expect(r.statusCode, r.body).toBe(202);
      expect((await finished((r.json() as Backup).name)).state).toBe('done');
    }
    const list = (await call(admin, 'GET', '/api/v1/backups')).json() as BackupList;
    expect(list.items).toHaveLength(2);
    expect(fs.readdirSync(backupDir).sort()).toEqual(list.items.map((i) => i.name).sort());
  });

  it('says why a backup failed and leaves nothing half-written; only system administrators may back up', async () => {
    const notADir = path.join(tmpDir('backup-file'), 'plain-file');
    fs.writeFileSync(notADir, 'x');
    const failing = new StoreBackups(hub.store, { dataDir: hub.config.dataDir, backupDir: notADir, backupHour: 3, backupKeep: 7, keyringFile: '/nonexistent' }, () => undefined);
    const { done } = failing.start('manual', 'admin');
    const b = await done;
    expect(b).toMatchObject({ state: 'failed', failure: 'failed' });
    expect(b.error).toMatch(/EEXIST|ENOTDIR|not a directory|file already exists/);
    expect(failing.list().items).toEqual([expect.objectContaining({ name: b.name, state: 'failed' })]);
    expect(fs.readdirSync(path.join(hub.config.dataDir, 'chdb', 'shadow')).filter((n) => n.startsWith('jianguan'))).toEqual([]);
    const registry = await login(hub, 'registry');
    expect((await call(registry, 'POST', '/api/v1/backups')).statusCode).toBe(403);
    expect((await call(registry, 'GET', '/api/v1/backups')).statusCode).toBe(403);
  });

  it('stops a backup when the hub stops, leaving no snapshot and no half copy; a snapshot a stopped hub left is removed at the next start', async () => {
    const dir = tmpDir('stopping');
    const stopping = new StoreBackups(hub.store, { dataDir: hub.config.dataDir, backupDir: dir, backupHour: -1, backupKeep: 7, keyringFile: '/nonexistent' }, () => undefined);
    const { done } = stopping.start('manual', 'admin');
    await stopping.close();
    const b = await done;
    expect(b).toMatchObject({ state: 'failed', error: 'the hub is stopping', failure: 'stopping' });
    expect(fs.readdirSync(dir)).toEqual([]);
    const shadow = path.join(hub.config.dataDir, 'chdb', 'shadow');
    expect(fs.readdirSync(shadow).filter((n) => n.startsWith('jianguan'))).toEqual([]);
    expect(() => stopping.start('manual', 'admin')).toThrow(/stopping/);
    // What a hub killed in the middle of a backup leaves: frozen parts nobody would ever delete.
    fs.mkdirSync(path.join(shadow, 'jianguan_20200101_030000', 'store'), { recursive: true });
    new StoreBackups(hub.store, { dataDir: hub.config.dataDir, backupDir: dir, backupHour: -1, backupKeep: 7, keyringFile: '/nonexistent' }, () => undefined);
    await expect.poll(() => fs.existsSync(path.join(shadow, 'jianguan_20200101_030000')), { timeout: 5_000 }).toBe(false);
  });

  it('starts the daily backup once, in its hour of China time', async () => {
    const at = (h: number, m = 0) => Date.UTC(2026, 11, 7, h - 8, m);
    const dailyDir = tmpDir('daily');
    const daily = new StoreBackups(hub.store, { dataDir: hub.config.dataDir, backupDir: dailyDir, backupHour: 3, backupKeep: 7, keyringFile: '/nonexistent' }, () => undefined);
    expect(daily.due(at(2, 59))).toBe(false);
    expect(daily.due(at(3, 0))).toBe(true);
    expect(daily.due(at(3, 59))).toBe(true);
    expect(daily.due(at(4, 0))).toBe(false);
    // A backup by hand that morning does not stand in for the daily one; the day's daily one does.
    const made = (name: string, trigger: string) => {
      fs.mkdirSync(path.join(dailyDir, name));
      fs.writeFileSync(path.join(dailyDir, name, 'manifest.json'), JSON.stringify({ name, trigger, state: 'done', startedAt: at(3) }));
    };
    made('jianguan-20261207-010000', 'manual');
    expect(daily.due(at(3, 5))).toBe(true);
    made('jianguan-20261207-030000', 'schedule');
    expect(daily.due(at(3, 5))).toBe(false);
    expect(daily.due(Date.UTC(2026, 11, 8, 3 - 8, 0))).toBe(true);
    expect(new StoreBackups(hub.store, { dataDir: hub.config.dataDir, backupDir: tmpDir('off'), backupHour: -1, backupKeep: 7, keyringFile: '/nonexistent' }, () => undefined).due(at(3, 0))).toBe(false);
  });
});

describe('jianguan-hub backup (the hub stopped)', () => {
  it('restores a backup into place, keeping the store it replaces, and a backup made from it by the command verifies', async () => {
    const r = await call(admin, 'POST', '/api/v1/backups');
    const made = await finished((r.json() as Backup).name);
    expect(made.state).toBe('done');
    const from = path.join(backupDir, made.name);
    // Another machine's data directory, with a store already there (a failed disk's replacement, say).
    const dataDir = tmpDir('restore');
    fs.mkdirSync(path.join(dataDir, 'chdb'));
    fs.writeFileSync(path.join(dataDir, 'chdb', 'old.txt'), 'old');
    fs.writeFileSync(path.join(dataDir, 'pseudonym-keyring.json'), '{"other":"keyring"}');
    const env = { JG_DATA_DIR: dataDir, JG_PORT: '1', JG_BACKUP_DIR: path.join(dataDir, 'backups') };
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (output.push(String(chunk)), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['backup', 'restore', from], env);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const said = JSON.parse(output.join('').trim().split('\n').pop()!);
    expect(said).toMatchObject({ event: 'backup.restored', from, tables: made.tables.length, keyring: 'restored', evidenceAdded: 1 });
    expect(fs.readFileSync(path.join(said.previous, 'old.txt'), 'utf8')).toBe('old');
    expect(fs.readFileSync(path.join(dataDir, 'pseudonym-keyring.json'), 'utf8')).toBe(fs.readFileSync(path.join(from, 'pseudonym-keyring.json'), 'utf8'));
    expect(fs.readdirSync(dataDir).filter((n) => n.startsWith('pseudonym-keyring.json.before-restore-'))).toHaveLength(1);
    // The restored store, backed up again by the command in a process of its own.
    const child = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'backup', 'create'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const again = JSON.parse(child.stdout.trim().split('\n').find((l) => l.includes('backup.done'))!);
    const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, 'backups', again.name, 'manifest.json'), 'utf8')) as Backup;
    expect(manifest).toMatchObject({ state: 'done', verified: true, trigger: 'manual', by: 'cli' });
    expect(manifest.tables.find((t) => t.name === 'users')!.rows).toBe(made.tables.find((t) => t.name === 'users')!.rows);
  });

  it('carries the rule state: copied from Redis beside the store, put back under the restoring hub\'s prefix, refused while a hub holds it', async () => {
    // Business through the pipeline, so that the stateful rules have counted something.
    const socket = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
      const ack = await socket.timeout(30_000).emitWithAck('batch.submit', unsignedBatch([1, 2, 3, 4, 5].map((n) => checkTxn(900 + n)), 901));
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
    } finally {
      socket.close();
    }
    const made = await finished(((await call(admin, 'POST', '/api/v1/backups')).json() as Backup).name);
    expect(made.state, made.error).toBe('done');
    expect(made.ruleState?.logEntries).toBeGreaterThan(0);
    const from = path.join(backupDir, made.name);
    const file = path.join(from, 'rule-state.jsonl');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const copy = await readCopyFile(file);
    expect(copySize(copy)).toEqual(made.ruleState);

    // Restored on another machine whose Redis lost it: under that hub's prefix, as it was copied.
    const redis = new Redis(testRedisUrl());
    const prefix = `${hub.config.queuePrefix}-restored`;
    const dataDir = tmpDir('restore-state');
    const env = { JG_DATA_DIR: dataDir, JG_PORT: '1', JG_BACKUP_DIR: path.join(dataDir, 'backups'), JG_REDIS_URL: testRedisUrl(), JG_QUEUE_PREFIX: prefix };
    const cli = async (args: string[]) => {
      const output: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      const quiet = process.stderr.write.bind(process.stderr);
      process.stdout.write = ((chunk: string) => (output.push(String(chunk)), true)) as typeof process.stdout.write;
      process.stderr.write = ((chunk: string) => (output.push(String(chunk)), true)) as typeof process.stderr.write;
      try {
        return { code: await main(args, env), said: JSON.parse(output.join('').trim().split('\n').pop()!) as Record<string, unknown> };
      } finally {
        process.stdout.write = write;
        process.stderr.write = quiet;
      }
    };
    try {
      // Stale state of that prefix, replaced whole.
      await redis.rpush(`${prefix}:rsl:log:7`, '[0,"s"]');
      const restored = await cli(['backup', 'restore', from]);
      expect(restored.code, JSON.stringify(restored.said)).toBe(0);
      expect(restored.said.ruleState).toEqual(made.ruleState);
      const again = path.join(tmpDir('state-again'), 'rule-state.jsonl');
      expect(await copyRuleStateToFile(redis, prefix, again)).toEqual(made.ruleState);
      expect(await readCopyFile(again)).toEqual(copy);
      // No state under a prefix (nothing counted yet): no file.
      const none = path.join(tmpDir('state-none'), 'rule-state.jsonl');
      expect(await copyRuleStateToFile(redis, `${prefix}-none`, none)).toBeNull();
      expect(fs.existsSync(none)).toBe(false);
      // A hub starting there rebuilds its memory from it.
      const state = await LocalRuleState.open({ redis, prefix, token: 'restore-test', snapshotMinBytes: 1 << 30, waitForLeaseMs: 1_000, log: () => undefined });
      try {
        expect(state.status().keys).toBeGreaterThan(0);
        // While it holds the state, a restore is refused before anything is touched.
        const before = fs.readdirSync(dataDir).sort();
        const refused = await cli(['backup', 'restore', from]);
        expect([refused.code, refused.said.code]).toEqual([1, 'RULE_STATE_OWNED']);
        expect(fs.readdirSync(dataDir).sort()).toEqual(before);
        // Unless Redis is to be kept as it is.
        const kept = await cli(['backup', 'restore', from, '--without-rule-state']);
        expect([kept.code, kept.said.ruleState]).toEqual([0, 'kept']);
      } finally {
        await state.close();
      }
      // A Redis that does not answer: refused, naming it.
      const down = await main(['backup', 'restore', from], { ...env, JG_REDIS_URL: 'redis://127.0.0.1:1' }).catch((e: unknown) => e);
      expect(down).toBe(1);
    } finally {
      const left = await redis.keys(`${prefix}:*`);
      if (left.length) await redis.del(...left);
      redis.disconnect();
    }
  });

  it('refuses what is not a finished backup, and a store a running hub owns', async () => {
    const quiet = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await main(['backup', 'restore', tmpDir('nothing')], { JG_DATA_DIR: tmpDir('d'), JG_PORT: '1' })).toBe(1);
      expect(await main(['backup', 'create'], { JG_DATA_DIR: hub.config.dataDir, JG_PORT: String(hub.port) })).toBe(1);
      expect(await main(['backup', 'restore'], { JG_DATA_DIR: tmpDir('d') })).toBe(1);
    } finally {
      process.stderr.write = quiet;
    }
  });
});
