/**
 * `jianguan-hub backup …` — backups of the embedded store from the command line, with the hub's
 * JG_* settings. The running hub makes its own (daily, or 数据备份 → 立即备份); these are for
 * the machine's operator:
 *
 *   jianguan-hub backup list
 *   jianguan-hub backup create                 the hub stopped (it owns the store while it runs)
 *   jianguan-hub backup restore <backup dir>   the hub stopped
 *
 * Restore puts the backup's store in place of the current one, which is kept beside it as
 * chdb.before-restore-<time> (nothing is deleted), restores the keyring the same way when the
 * backup's differs, adds the backup's evidence files that are missing, and counts every table
 * of the restored store against the backup's manifest before it says it is done. Exit codes:
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
import { finishedBackups, StoreBackups, verifyCopy } from './backup.js';
import { localSecond } from '@jianguan/rules';

export const BACKUP_USAGE = `  jianguan-hub backup list              列出备份目录（JG_BACKUP_DIR）中的备份
  jianguan-hub backup create            立即备份（须先停止中心服务；运行中的中心服务在「数据备份」页面备份）
  jianguan-hub backup restore <备份目录>  用该备份替换当前数据（须先停止中心服务；当前数据保留为 chdb.before-restore-<时间>）`;

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const refuse = (code: string, message: string) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', event: 'backup.refused', code, message })}\n`);
  return 1;
};

export async function backupCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: {} });
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
    return command === 'create' ? await create(config) : await restore(config, path.resolve(dir!));
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

async function create(config: HubConfig): Promise<number> {
  const store = await openStore(config);
  try {
    const backups = new StoreBackups(store, { ...config, keyringFile: keyringFile(config) }, (event, fields) => out({ event, ...fields }));
    const b = await backups.start('manual', 'cli').done;
    return b.state === 'done' ? 0 : 2;
  } finally {
    await store.close();
  }
}

async function restore(config: HubConfig, dir: string): Promise<number> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile) || !fs.existsSync(path.join(dir, 'chdb'))) return refuse('NOT_A_BACKUP', `${dir} is not a finished backup (no manifest.json and chdb/)`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Backup;
  if (manifest.state !== 'done' || !manifest.verified) return refuse('NOT_A_BACKUP', `${dir} did not finish or was not verified`);
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
  out({ event: 'backup.restored', from: dir, backupOf: manifest.startedAt, tables: manifest.tables.length, rows: manifest.tables.reduce((s, t) => s + t.rows, 0), previous, keyring, evidenceAdded: evidence });
  return 0;
}
