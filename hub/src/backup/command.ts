/**
 * `jianguan-hub backup …` — backups of the embedded store from the command line, with the hub's
 * JG_* settings. The running hub makes its own (daily, or 数据备份 → 立即备份); these are for
 * the machine's operator:
 *
 *   jianguan-hub backup list
 *   jianguan-hub backup create                 the hub stopped (it owns the store while it runs)
 *   jianguan-hub backup restore <backup dir> [--without-rule-state]   the hub stopped
 *
 * Restore puts the backup's store in place of the current one, which is kept beside it as
 * chdb.before-restore-<time> (nothing is deleted), restores the keyring the same way when the
 * backup's differs, adds the backup's evidence files that are missing, and counts every table
 * of the restored store against the backup's manifest before it says it is done. The backup's
 * rule state (rule-state.jsonl: what the stateful rules count) is put back into Redis under
 * JG_QUEUE_PREFIX, replacing what is there — checked before anything is touched: Redis must answer
 * and no hub may hold the state (`--without-rule-state` keeps Redis as it is). Exit codes:
 * 0 done, 1 refused (bad arguments, not a backup, the hub running, a ClickHouse server), 2 failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Backup } from '../protocol/index.js';
import { loadConfig, type HubConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { keyringFile } from '../pseudonyms.js';
import { openStore } from '../store/store.js';
import { Redis } from 'ioredis';
import { finishedBackups, StoreBackups, verifyCopy } from './backup.js';
import { ruleStateKeys } from '../jobs/local-state.js';
import { copySize, readCopyFile, restoreRuleState, type RuleStateCopy } from './rule-state-copy.js';
import { localSecond } from '@jianguan/rules';

export const BACKUP_USAGE = `  jianguan-hub backup list              列出备份目录（JG_BACKUP_DIR）中的备份
  jianguan-hub backup create            立即备份（须先停止中心服务；运行中的中心服务在「数据备份」页面备份）
  jianguan-hub backup restore <备份目录> [--without-rule-state]
                                        用该备份替换当前数据（须先停止中心服务；当前数据保留为 chdb.before-restore-<时间>；
                                        备份中的规则状态同时写回 Redis，--without-rule-state 则不动 Redis）`;

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const refuse = (code: string, message: string) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', event: 'backup.refused', code, message })}\n`);
  return 1;
};

export async function backupCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, values } = parseArgs({ args: [...argv], allowPositionals: true, options: { 'without-rule-state': { type: 'boolean', default: false } } });
  const [command, dir, ...rest] = positionals;
  if ((command !== 'list' && command !== 'create' && command !== 'restore') || rest.length || (command === 'restore') !== (dir !== undefined)) {
    process.stderr.write(`用法 / usage:\n${BACKUP_USAGE}\n`);
    return 1;
  }
  const config = loadConfig(env);
  if (config.clickhouseUrl) return refuse('BACKUP_UNSUPPORTED', `the store is the ClickHouse server at ${config.clickhouseUrl}: back it up with the server's own BACKUP (deploy/cluster/README.md)`);
  if (command === 'list') {
    out({ dir: config.backupDir, items: finishedBackups(config.backupDir) });
    return 0;
  }
  if (await hubAnswers(config)) return refuse('HUB_RUNNING', `a hub answers on port ${config.port}: stop it first (systemctl stop jianguan-hub); while it runs, back up from its 数据备份 screen`);
  try {
    return command === 'create' ? await create(config) : await restore(config, path.resolve(dir!), !values['without-rule-state']);
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ level: 'error', event: 'backup.failed', message: errorMessage(e) })}\n`);
    return 2;
  }
}

/** Whether something answers the hub's health check on its port (then it owns the store). */
async function hubAnswers(config: HubConfig): Promise<boolean> {
  for (const scheme of ['http', 'https']) {
    try {
      await fetch(`${scheme}://127.0.0.1:${config.port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return true;
    } catch {
      // Nothing there, or not this scheme.
    }
  }
  return false;
}

/** A connection to the hub's Redis that fails fast (a command, not a service): null when it does not answer. */
async function ruleStateRedis(config: HubConfig): Promise<{ redis: Redis; error: null } | { redis: null; error: string }> {
  const redis = new Redis(config.redisUrl, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return { redis, error: null };
  } catch (e) {
    redis.disconnect();
    return { redis: null, error: `Redis at ${config.redisUrl} does not answer: ${errorMessage(e)}` };
  }
}

async function create(config: HubConfig): Promise<number> {
  // The rule state is copied when Redis answers; without it the store is still backed up, and said so.
  const r = config.ruleState === 'local' ? await ruleStateRedis(config) : null;
  if (r?.error) process.stderr.write(`${JSON.stringify({ level: 'warn', event: 'backup.rule_state_skipped', message: `${r.error}; the backup holds the store without the rule state` })}\n`);
  const store = await openStore(config);
  try {
    const backups = new StoreBackups(
      store,
      { ...config, keyringFile: keyringFile(config), ...(r?.redis ? { ruleStateRedis: { redis: r.redis, prefix: config.queuePrefix } } : {}) },
      (event, fields) => out({ event, ...fields }),
    );
    const b = await backups.start('manual', 'cli').done;
    return b.state === 'done' ? 0 : 2;
  } finally {
    await store.close();
    r?.redis?.disconnect();
  }
}

async function restore(config: HubConfig, dir: string, withRuleState: boolean): Promise<number> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile) || !fs.existsSync(path.join(dir, 'chdb'))) return refuse('NOT_A_BACKUP', `${dir} is not a finished backup (no manifest.json and chdb/)`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Backup;
  if (manifest.state !== 'done' || !manifest.verified) return refuse('NOT_A_BACKUP', `${dir} did not finish or was not verified`);
  // The rule state: read and Redis checked before anything is touched.
  const stateFile = path.join(dir, 'rule-state.jsonl');
  let state: { copy: RuleStateCopy; redis: Redis } | null = null;
  if (withRuleState && config.ruleState === 'local' && fs.existsSync(stateFile)) {
    const copy = await readCopyFile(stateFile);
    const r = await ruleStateRedis(config);
    if (!r.redis) return refuse('REDIS_UNAVAILABLE', `${r.error}: start it (the backup's rule state is restored into it), or restore with --without-rule-state`);
    const holder = await r.redis.get(ruleStateKeys(config.queuePrefix).owner);
    if (holder) {
      r.redis.disconnect();
      return refuse('RULE_STATE_OWNED', `a hub (${holder}) holds the rule state under ${config.queuePrefix} in ${config.redisUrl}: stop it first`);
    }
    state = { copy, redis: r.redis };
  }
  try {
    return await restoreStore(config, dir, manifest, state);
  } finally {
    state?.redis.disconnect();
  }
}

async function restoreStore(config: HubConfig, dir: string, manifest: Backup, state: { copy: RuleStateCopy; redis: Redis } | null): Promise<number> {
  const stamp = localSecond(Date.now()).replace(/[-: ]/g, '');
  const live = path.join(config.dataDir, 'chdb');
  let previous: string | null = null;
  if (fs.existsSync(live)) {
    previous = `${live}.before-restore-${stamp}`;
    fs.renameSync(live, previous);
  }
  fs.cpSync(path.join(dir, 'chdb'), live, { recursive: true, verbatimSymlinks: true });
  // The keyring the backup's hashes were made with; a different current one is kept aside.
  let keyring: 'restored' | 'same' | 'absent' = 'absent';
  const backupKeyring = path.join(dir, 'pseudonym-keyring.json');
  if (fs.existsSync(backupKeyring)) {
    const target = keyringFile(config);
    const same = fs.existsSync(target) && fs.readFileSync(target).equals(fs.readFileSync(backupKeyring));
    if (!same) {
      if (fs.existsSync(target)) fs.renameSync(target, `${target}.before-restore-${stamp}`);
      fs.copyFileSync(backupKeyring, target);
      fs.chmodSync(target, 0o600);
    }
    keyring = same ? 'same' : 'restored';
  }
  // Evidence is content-addressed: add what is missing, never overwrite or remove.
  let evidence = 0;
  const from = path.join(dir, 'evidence');
  if (fs.existsSync(from)) {
    const to = path.join(config.dataDir, 'evidence');
    fs.mkdirSync(to, { recursive: true });
    for (const n of fs.readdirSync(from)) {
      if (fs.existsSync(path.join(to, n))) continue;
      fs.copyFileSync(path.join(from, n), path.join(to, n));
      evidence++;
    }
  }
  await verifyCopy(live, manifest.tables, 'the restored store');
  if (state) await restoreRuleState(state.redis, config.queuePrefix, state.copy);
  out({
    event: 'backup.restored',
    from: dir,
    backupOf: manifest.startedAt,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((s, t) => s + t.rows, 0),
    previous,
    keyring,
    evidenceAdded: evidence,
    // What the stateful rules count: put back (its size), or why Redis was left as it is.
    ruleState: state ? copySize(state.copy) : !fs.existsSync(path.join(dir, 'rule-state.jsonl')) ? 'absent' : config.ruleState !== 'local' ? 'not_local' : 'kept',
  });
  return 0;
}
