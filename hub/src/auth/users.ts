/**
 * Users: stored in ClickHouse (`users`, one row per change, newest wins), small enough to read
 * on demand. Demo seeding creates one user per role plus a county-scoped auditor.
 */
import crypto from 'node:crypto';
import { COUNTY_BY_CODE } from '@jianguan/rules';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { Role, type Principal } from '../http/access.js';

export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: Role[];
  /** null = whole city. */
  scope: string | null;
  institutions: string[];
  active: boolean;
  createdAt: number;
  updatedAt: number;
}

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  roles: string[];
  scope: string;
  institutions: string[];
  password_hash: string;
  active: number;
  created_at: string;
  updated_at: string;
}

export const County = z.string().refine((c) => COUNTY_BY_CODE.has(c), '不是河池市的区县代码');

export const NewUserSchema = z.object({
  username: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,31}$/, '用户名：2–32位小写字母、数字、点、横线'),
  displayName: z.string().min(1).max(64),
  roles: z.array(Role).min(1),
  scope: County.nullable().default(null),
  institutions: z.array(z.string().max(64)).default([]),
  password: z.string().min(12, '密码至少12位').max(200),
});
export type NewUser = z.infer<typeof NewUserSchema>;

export const UserPatchSchema = z.object({
  displayName: z.string().min(1).max(64).optional(),
  roles: z.array(Role).min(1).optional(),
  scope: County.nullable().optional(),
  institutions: z.array(z.string().max(64)).optional(),
  active: z.boolean().optional(),
  password: z.string().min(12, '密码至少12位').max(200).optional(),
});
export type UserPatch = z.infer<typeof UserPatchSchema>;

const COLUMNS = sql`id, username, display_name, roles, scope, institutions, password_hash, active,
  toUnixTimestamp64Milli(created_at) AS created_at, toUnixTimestamp64Milli(updated_at) AS updated_at`;

function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    roles: r.roles.filter((x): x is Role => Role.safeParse(x).success),
    scope: r.scope === '' ? null : r.scope,
    institutions: r.institutions,
    active: Number(r.active) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export async function listUsers(store: Store): Promise<User[]> {
  const rows = await store.query<UserRow>(sql`SELECT ${COLUMNS} FROM users FINAL ORDER BY username`);
  return rows.map(toUser);
}

/**
 * A password set by an administrator (creation, reset) must be changed by its user at the next
 * login. The mark travels in the stored hash itself (`must-change$` before the scrypt string), so
 * it is written in the same row as the password it belongs to — no second table to drift, no
 * window where the new password exists without the mark.
 */
const MUST_CHANGE = 'must-change$';

export function storedHash(hash: string, mustChange: boolean): string {
  return mustChange ? `${MUST_CHANGE}${hash}` : hash;
}

/** The scrypt string of a stored hash, without the must-change mark. */
function plainHash(stored: string): string {
  return stored.startsWith(MUST_CHANGE) ? stored.slice(MUST_CHANGE.length) : stored;
}

export async function findUserForLogin(store: Store, username: string): Promise<{ user: User; passwordHash: string; mustChange: boolean } | undefined> {
  const [r] = await store.query<UserRow>(sql`SELECT ${COLUMNS} FROM users FINAL WHERE username = ${param.String(username)} LIMIT 1`);
  if (!r) return undefined;
  return { user: toUser(r), passwordHash: plainHash(r.password_hash), mustChange: r.password_hash.startsWith(MUST_CHANGE) };
}

export async function getUser(store: Store, id: string): Promise<User | undefined> {
  const [r] = await store.query<UserRow>(sql`SELECT ${COLUMNS} FROM users FINAL WHERE id = ${param.String(id)} LIMIT 1`);
  return r ? toUser(r) : undefined;
}

async function getRow(store: Store, id: string): Promise<UserRow | undefined> {
  const [r] = await store.query<UserRow>(sql`SELECT ${COLUMNS} FROM users FINAL WHERE id = ${param.String(id)} LIMIT 1`);
  return r;
}

function rowOf(u: Omit<User, 'createdAt' | 'updatedAt'>, passwordHash: string, createdAt: number, updatedAt: number) {
  return {
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    roles: u.roles,
    scope: u.scope ?? '',
    institutions: u.institutions,
    password_hash: passwordHash,
    active: u.active ? 1 : 0,
    created_at: createdAt,
    updated_at: updatedAt,
  };
}

/** A new account's record, active, stamped `now`. */
function newUser(input: Omit<NewUser, 'password'>, now: number): User {
  return {
    id: `u-${crypto.randomUUID()}`,
    username: input.username,
    displayName: input.displayName,
    roles: [...new Set(input.roles)],
    scope: input.scope,
    institutions: input.institutions,
    active: true,
    createdAt: now,
    updatedAt: now,
  };
}

/** `mustChange`: an administrator chose the password; its user must replace it at first login. */
export async function createUser(store: Store, input: NewUser, opts: { mustChange: boolean } = { mustChange: true }): Promise<User> {
  if (await findUserForLogin(store, input.username)) throw new HubError('USER_EXISTS', input.username);
  const now = Date.now();
  const user = newUser(input, now);
  await store.insert('users', [rowOf(user, storedHash(await hashPassword(input.password), opts.mustChange), now, now)]);
  return user;
}

/** `mustChange` applies when `patch.password` is set: true for an administrator's reset, false for the user's own change. */
export async function updateUser(store: Store, id: string, patch: UserPatch, opts: { mustChange: boolean } = { mustChange: true }): Promise<User> {
  const cur = await getRow(store, id);
  if (!cur) throw new HubError('NOT_FOUND', `user ${id}`);
  const u = toUser(cur);
  const next = {
    ...u,
    displayName: patch.displayName ?? u.displayName,
    roles: patch.roles ? [...new Set(patch.roles)] : u.roles,
    scope: patch.scope === undefined ? u.scope : patch.scope,
    institutions: patch.institutions ?? u.institutions,
    active: patch.active ?? u.active,
  };
  // updated_at must grow even for two changes in the same millisecond.
  const now = Math.max(Date.now(), u.updatedAt + 1);
  const hash = patch.password ? storedHash(await hashPassword(patch.password), opts.mustChange) : cur.password_hash;
  await store.insert('users', [rowOf(next, hash, u.createdAt, now)]);
  return { ...next, updatedAt: now };
}

export function principalOf(u: User, sessionId: string): Principal {
  return { userId: u.id, username: u.username, displayName: u.displayName, roles: u.roles, scope: u.scope, institutions: u.institutions, sessionId };
}

/**
 * DEMO ONLY. The published password every demo account gets (JG_SEED_DEMO, loopback bind unless
 * JG_DEMO_ALLOW_REMOTE). The password policy refuses it outside demo mode; the hub never logs it.
 */
export const DEMO_PASSWORD = 'jianguan-demo';

export const DEMO_USERS: readonly Omit<NewUser, 'password'>[] = [
  { username: 'wall', displayName: '指挥中心大屏', roles: ['wall_viewer'], scope: null, institutions: [] },
  { username: 'auditor', displayName: '市级核查员', roles: ['auditor'], scope: null, institutions: [] },
  { username: 'auditor-yz', displayName: '宜州区核查员', roles: ['auditor'], scope: '451203', institutions: [] },
  { username: 'leader', displayName: '支队领导', roles: ['leader'], scope: null, institutions: [] },
  { username: 'registry', displayName: '备案管理员', roles: ['registry_admin'], scope: null, institutions: [] },
  { username: 'registry2', displayName: '备案复核员', roles: ['registry_admin'], scope: null, institutions: [] },
  { username: 'rules', displayName: '规则管理员', roles: ['rule_admin'], scope: null, institutions: [] },
  { username: 'admin', displayName: '系统管理员', roles: ['system_admin'], scope: null, institutions: [] },
];

/**
 * Creates the demo users that do not exist yet; returns the names created. They share the
 * published password (demo mode only, no forced change), so it is hashed once for all of them and
 * they are written in one insert: a scrypt hash is ~0.1 s of CPU, and eight of them one after
 * another were most of a demo hub's start. One salt for all says only that the passwords are
 * equal, which the README already says; a password changed later gets its own salt.
 */
export async function seedDemoUsers(store: Store): Promise<string[]> {
  const existing = new Set((await listUsers(store)).map((u) => u.username));
  const missing = DEMO_USERS.filter((u) => !existing.has(u.username));
  if (missing.length === 0) return [];
  const hash = storedHash(await hashPassword(DEMO_PASSWORD), false);
  const now = Date.now();
  await store.insert('users', missing.map((u) => rowOf(newUser(u, now), hash, now, now)));
  return missing.map((u) => u.username);
}

/**
 * The enabled accounts the published demo password still logs in to (any account, not only the
 * demo ones: in demo mode the policy lets an administrator give it to anyone). One scrypt check
 * per enabled account, all at once (they run on libuv's thread pool): a detachment's few dozen
 * accounts take well under a second.
 */
export async function accountsWithDemoPassword(store: Store): Promise<string[]> {
  const rows = await store.query<{ username: string; password_hash: string }>(sql`SELECT username, password_hash FROM users FINAL WHERE active = 1 ORDER BY username`);
  const hits = await Promise.all(rows.map(async (r) => ((await verifyPassword(DEMO_PASSWORD, plainHash(r.password_hash))) ? r.username : undefined)));
  return hits.filter((u): u is string => u !== undefined);
}

/** Whether the demo password logs in to this account (enabled or not). */
export async function hasDemoPassword(store: Store, username: string): Promise<boolean> {
  const found = await findUserForLogin(store, username);
  return found ? verifyPassword(DEMO_PASSWORD, found.passwordHash) : false;
}

/**
 * Outside demo mode the hub refuses to start while any enabled account still has the demo
 * password (a store seeded with JG_SEED_DEMO and then started as production): CONFIG_INVALID
 * naming the accounts and how to change their passwords. The password itself is never named.
 */
export async function refuseDemoPasswords(store: Store): Promise<void> {
  const names = await accountsWithDemoPassword(store);
  if (names.length === 0) return;
  const list = names.join(', ');
  throw new HubError(
    'CONFIG_INVALID',
    `以下账号仍使用公开的演示密码：${list}。未设置 JG_SEED_DEMO（非演示模式）时中心拒绝启动：请在本机用 \`node hub/dist/cli.js admin passwd <用户名>\` 逐个修改这些账号的密码（内嵌存储须先停止中心），再启动。` +
      ` / These accounts still have the published demo password: ${list}. Outside demo mode (no JG_SEED_DEMO) the hub refuses to start: change each one's password on this machine with \`node hub/dist/cli.js admin passwd <username>\` (the embedded store: with the hub stopped; docs/go-live.md), then start again.`,
  );
}
