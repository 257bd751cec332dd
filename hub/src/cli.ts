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
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { errorMessage, HubError, isHubError } from './errors.js';
import { assertPasswordAllowed } from './auth/password-policy.js';
import { Role } from './auth/principal.js';
import { createUser, listUsers, NewUserSchema } from './auth/users.js';
import { PSEUDONYMS_USAGE, pseudonymsCommand } from './pseudonym-rotation.js';
import { migrate } from './store/migrate.js';
import { openStore } from './store/store.js';

const USAGE = `用法 / usage:
  jianguan-hub admin create <用户名> [--display-name 名称] [--role 角色 ...]
    角色缺省为 system_admin（系统管理员）；可重复 --role，如 --role system_admin --role registry_admin
    在终端上两次输入密码（不回显）；非终端时从标准输入读取一行密码
  jianguan-hub admin list      列出管理员（system_admin）
${PSEUDONYMS_USAGE}`;

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
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'display-name': { type: 'string' }, role: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, command, username, ...rest] = positionals;
  if (values.help || group !== 'admin' || (command !== 'create' && command !== 'list') || rest.length || (command === 'create' && !username)) {
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
    const roles = (values.role ?? ['system_admin']).map((r) => {
      const parsed = Role.safeParse(r);
      if (!parsed.success) throw new HubError('BODY_INVALID', `unknown role '${r}' (${Role.options.join(', ')})`);
      return parsed.data;
    });
    const input = NewUserSchema.safeParse({ username, displayName: values['display-name'] ?? '系统管理员', roles, scope: null, institutions: [], password: 'x'.repeat(12) });
    if (!input.success) throw new HubError('BODY_INVALID', input.error.issues.map((i) => i.message).join('; '));
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
