#!/usr/bin/env node
/**
 * `jianguan-hub` — administration commands run on the hub's machine, with the hub's JG_*
 * settings (the same store the hub uses).
 *
 *   jianguan-hub admin create <username> [--display-name 名称] [--role system_admin]...
 *
 * Creates an administrator. This is how a new detachment gets its first user: nothing else
 * creates accounts on an empty store (demo accounts exist only in demo mode, JG_SEED_DEMO=1).
 * The password is asked twice on a terminal (not echoed), or read from standard input when that
 * is not a terminal (`printf '%s\n' "$PW" | jianguan-hub admin create chen`), and must pass the
 * hub's password policy (auth/password-policy.ts). The administrator chose it, so no change is
 * forced at first login. Exit codes: 0 created, 1 refused (policy, name taken, bad arguments),
 * 2 the store could not be reached.
 *
 *   jianguan-hub admin passwd <username>
 *
 * Sets a new password for an existing account (enabled or not), read and checked the same way.
 * It is an administrator's reset, as in the users screen: the user replaces it at the next login,
 * and every session of the user ends (Redis, JG_REDIS_URL). This is how the accounts of a store
 * once seeded in demo mode lose the demo password, which the hub refuses outside demo mode.
 * Exit codes as above (1 also for an unknown user; 2 also when Redis cannot be reached).
 *
 *   jianguan-hub backup list | create | restore <dir>
 *
 * Backups of the embedded store (backup/command.ts).
 */
// First: keeps String.prototype out of dictionary mode before any dependency loads (fast-prototypes.ts).
import './fast-prototypes.js';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type HubConfig } from './config.js';
import { errorMessage, HubError, isHubError } from './errors.js';
import { assertPasswordAllowed } from './auth/password-policy.js';
import { Role } from './http/access.js';
import { SessionStore } from './auth/sessions.js';
import { createUser, findUserForLogin, listUsers, NewUserSchema, updateUser } from './auth/users.js';
import { redisConnection } from './jobs/queue.js';
import { PSEUDONYMS_USAGE, pseudonymsCommand } from './pseudonym-rotation.js';
import { BACKUP_USAGE, backupCommand } from './backup/command.js';
import { migrate } from './store/migrate.js';
import { openStore, type Store } from './store/store.js';
import { describeIssues } from './validation/issues.js';

const USAGE = `用法 / usage:
  jianguan-hub admin create <用户名> [--display-name 名称] [--role 角色 ...]
    角色缺省为 system_admin（系统管理员）；可重复 --role，如 --role system_admin --role registry_admin
    在终端上两次输入密码（不回显）；非终端时从标准输入读取一行密码
  jianguan-hub admin passwd <用户名>
    为已有账号设置新密码（读取方式同上）；该用户下次登录须改密码，其会话全部失效
  jianguan-hub admin list      列出管理员（system_admin）
${PSEUDONYMS_USAGE}
${BACKUP_USAGE}`;

/** Reads one line without echo from a terminal. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new HubError('BODY_INVALID', 'cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // One line: the password is the first line, without its line ending.
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readStdinLine();
  const first = await promptHidden('密码 / password: ');
  const second = await promptHidden('再次输入 / again: ');
  if (first !== second) throw new HubError('BODY_INVALID', '两次输入的密码不一致 / the passwords differ');
  return first;
}

/** `password`: where the password comes from (tests give it; the command reads the terminal or stdin). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: { password?: () => Promise<string> } = {}): Promise<number> {
  // \`pseudonyms …\` has its own arguments and module (keyring rotation).
  if (argv[0] === 'pseudonyms') return pseudonymsCommand(argv.slice(1), env);
  if (argv[0] === 'backup') return backupCommand(argv.slice(1), env);
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'display-name': { type: 'string' }, role: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, command, username, ...rest] = positionals;
  if (values.help || group !== 'admin' || (command !== 'create' && command !== 'list' && command !== 'passwd') || rest.length || (command !== 'list' && !username)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 1;
  }
  const config = loadConfig(env);
  let store;
  try {
    store = await openStore(config);
    await migrate(store);
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ level: 'error', event: 'admin.store_unavailable', message: errorMessage(e) })}\n`);
    return 2;
  }
  try {
    if (command === 'list') {
      const admins = (await listUsers(store)).filter((u) => u.active && u.roles.includes('system_admin'));
      process.stdout.write(`${JSON.stringify({ administrators: admins.map((u) => ({ username: u.username, displayName: u.displayName, roles: u.roles })) })}\n`);
      return 0;
    }
    if (command === 'passwd') return await passwd(store, config, username!, io.password ?? readPassword);
    const roles = (values.role ?? ['system_admin']).map((r) => {
      const parsed = Role.safeParse(r);
      if (!parsed.success) throw new HubError('BODY_INVALID', `unknown role '${r}' (${Role.options.join(', ')})`);
      return parsed.data;
    });
    const input = NewUserSchema.safeParse({ username, displayName: values['display-name'] ?? '系统管理员', roles, scope: null, institutions: [], password: 'x'.repeat(12) });
    if (!input.success) throw new HubError('BODY_INVALID', describeIssues(input.error));
    const password = await (io.password ?? readPassword)();
    // The hub's own policy, the one every other place a password is set goes through.
    assertPasswordAllowed(password, { username: input.data.username, demo: false });
    const user = await createUser(store, { ...input.data, password }, { mustChange: false });
    process.stdout.write(`${JSON.stringify({ event: 'admin.created', username: user.username, roles: user.roles, id: user.id })}\n`);
    return 0;
  } catch (e) {
    const code = isHubError(e) ? e.code : 'ADMIN_FAILED';
    process.stderr.write(`${JSON.stringify({ level: 'error', event: 'admin.refused', code, message: errorMessage(e) })}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/** `admin passwd`: an administrator's reset of an existing account, then the end of its sessions. */
async function passwd(store: Store, config: HubConfig, username: string, readNew: () => Promise<string>): Promise<number> {
  const found = await findUserForLogin(store, username);
  if (!found) throw new HubError('NOT_FOUND', `user ${username}`);
  const password = await readNew();
  assertPasswordAllowed(password, { username, demo: false });
  // Redis first: a password changed while the old sessions stay valid would be half a reset.
  const redis = redisConnection(config.redisUrl);
  redis.on('error', () => {});
  try {
    const reachable = await Promise.race([redis.ping().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref())]);
    if (!reachable) {
      process.stderr.write(`${JSON.stringify({ level: 'error', event: 'admin.redis_unavailable', message: `Redis at ${config.redisUrl} did not answer within 10 s; nothing changed` })}\n`);
      return 2;
    }
    await updateUser(store, found.user.id, { password }, { mustChange: true });
    await new SessionStore(redis, config.queuePrefix, config.sessionTtlS, config.sessionMaxS).destroyAllOf(found.user.id);
  } finally {
    redis.disconnect();
  }
  process.stdout.write(`${JSON.stringify({ event: 'admin.password_set', username, id: found.user.id, mustChange: true })}\n`);
  return 0;
}

// Run only as the command (also through the npm bin symlink), not when imported by the tests.
const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs && import.meta.url === pathToFileURL(invokedAs).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', event: 'admin.failed', message: errorMessage(e) })}\n`);
      process.exit(2);
    },
  );
}
