/**
 * Numbered migrations: `NNN_name.sql` files applied in order, each once, recorded in
 * `schema_migrations`. Statements are separated by a semicolon at the end of a line.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HubError, errorMessage } from '../errors.js';
import { param, sql, UNSAFE_RAW_SQL } from './sql.js';
import type { Store } from './store.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const text = fs.readFileSync(`${dir}/${f}`, 'utf8');
      const statements = text
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
        .filter((s) => s.length > 0);
      return { version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), statements };
    });
}

/** Applies pending migrations; returns the names applied now. */
export async function migrate(store: Store, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  await store.command(sql`CREATE TABLE IF NOT EXISTS schema_migrations
    (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
    ENGINE = ReplacingMergeTree ORDER BY version`);
  const done = new Set(
    (await store.query<{ version: number }>(sql`SELECT version FROM schema_migrations FINAL`)).map((r) => Number(r.version)),
  );
  const applied: string[] = [];
  for (const m of readMigrations(dir)) {
    if (done.has(m.version)) continue;
    for (const stmt of m.statements) {
      try {
        await store.command(sql`${UNSAFE_RAW_SQL(stmt)}`);
      } catch (e) {
        throw new HubError('MIGRATION_FAILED', `${m.name}: ${errorMessage(e)}`, { cause: e });
      }
    }
    await store.command(sql`INSERT INTO schema_migrations (version, name) VALUES (${param.UInt32(m.version)}, ${param.String(m.name)})`);
    applied.push(m.name);
  }
  return applied;
}
