/**
 * The ClickHouse cluster schema, generated from the single-node migrations so the two cannot
 * drift: `npm run cluster-schema` rewrites deploy/cluster/clickhouse/schema-cluster.sql from every
 * hub/src/store/migrations/*.sql, in order (`--check` only compares, `--database <name>` targets a
 * database other than `jianguan`, `--out -` prints instead of writing, `--migrations <dir>` reads
 * another directory).
 *
 * Translation, statement by statement:
 *   CREATE TABLE t (...) ENGINE = XMergeTree(args) …
 *     → <db>.t_local ON CLUSTER '{cluster}', ENGINE = ReplicatedXMergeTree(
 *         '/clickhouse/tables/{shard}/{database}/t', '{replica}', args) …
 *     → <db>.t ON CLUSTER '{cluster}' AS t_local, ENGINE = Distributed('{cluster}', <db>, t_local,
 *         cityHash64(<sorting key>))
 *     The hub keeps reading and writing the original name, now the Distributed table. Sharding by
 *     the hash of the sorting key sends every row that a Replacing/Summing/… merge (or FINAL) has to
 *     see together to one shard: those rows share their sorting key by definition.
 *   ALTER TABLE t <column actions> → on t_local and on t (the Distributed table mirrors columns);
 *     index/projection/TTL/setting/mutation actions → on t_local only.
 *   CREATE VIEW v AS … → ON CLUSTER, unchanged: it reads the Distributed tables, so cluster-wide.
 *   DROP TABLE / DROP VIEW → ON CLUSTER (a table: both the Distributed and the local table).
 *   CREATE MATERIALIZED VIEW v TO t AS SELECT … FROM s … → ON CLUSTER, triggered by s_local,
 *     writing to the Distributed t (each row to the shard of its sorting key).
 *   INSERT INTO t … SELECT … (an idempotent backfill) → unchanged, over the Distributed tables.
 * Anything else (other materialized views, INSERT … VALUES, RENAME, MODIFY ORDER BY, non-MergeTree engines, …)
 * has no safe mechanical form here: the generator stops with CLUSTER_SCHEMA_UNTRANSLATABLE naming
 * the migration and the statement, and the cluster form has to be designed by hand first.
 *
 * Statements are split exactly as hub/src/store/migrate.ts splits them (a semicolon at the end of
 * a line, comment lines dropped); hub/test/cluster-schema.test.ts checks the two agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../src/store/migrations/', import.meta.url));
export const SCHEMA_FILE = fileURLToPath(new URL('../../deploy/cluster/clickhouse/schema-cluster.sql', import.meta.url));
export const DEFAULT_DATABASE = 'jianguan';

export class ClusterSchemaError extends Error {
  constructor(migration, statement, reason) {
    super(`${migration}: cannot translate for the cluster (${reason}):\n${statement}`);
    this.name = 'ClusterSchemaError';
    this.code = 'CLUSTER_SCHEMA_UNTRANSLATABLE';
    this.migration = migration;
    this.statement = statement;
    this.reason = reason;
  }
}

/** Same rule as migrate.ts: `NNN_name.sql`, sorted, split on `;` at the end of a line. */
export function readMigrationFiles(dir = MIGRATIONS_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.replace(/\.sql$/, ''),
      statements: splitStatements(fs.readFileSync(path.join(dir, f), 'utf8')),
    }));
}

export function splitStatements(text) {
  return text
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

const MERGE_TREES = new Set([
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'GraphiteMergeTree',
]);
const IDENT = '[A-Za-z_][A-Za-z0-9_]*';

/** Index of the parenthesis closing the one at `open`, skipping quoted strings and identifiers. */
function closingParen(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Splits on commas outside parentheses and quotes (the actions of one ALTER). */
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** The sorting key (ORDER BY) of a MergeTree table's clauses, as a list of expressions. */
function sortingKey(clauses) {
  const m = /\bORDER\s+BY\s+/i.exec(clauses);
  if (!m) return null;
  let rest = clauses.slice(m.index + m[0].length).trim();
  let expr;
  if (rest.startsWith('(')) {
    const close = closingParen(rest, 0);
    expr = rest.slice(1, close);
  } else {
    expr = rest.split(/\s+(?:PRIMARY\s+KEY|SAMPLE\s+BY|TTL|SETTINGS|PARTITION\s+BY)\b/i)[0].trim();
  }
  const columns = splitTopLevel(expr);
  if (columns.length === 0 || /^tuple\(\s*\)$/i.test(expr.trim())) return null;
  return columns;
}

function translateCreateTable(stmt, ctx) {
  const head = new RegExp(`^CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\s*\\(`, 'i').exec(stmt);
  if (!head) return ctx.fail(stmt, 'only CREATE TABLE <name> (<columns>) ENGINE = … is translated');
  const table = head[1];
  const open = head[0].length - 1;
  const close = closingParen(stmt, open);
  if (close < 0) return ctx.fail(stmt, 'unbalanced column list');
  const columns = stmt.slice(open, close + 1);
  const after = stmt.slice(close + 1);
  const eng = new RegExp(`^\\s*ENGINE\\s*=\\s*(${IDENT})`, 'i').exec(after);
  if (!eng) return ctx.fail(stmt, 'no ENGINE clause right after the column list');
  const engine = eng[1];
  if (!MERGE_TREES.has(engine)) return ctx.fail(stmt, `engine ${engine} has no Replicated variant to map to`);
  let rest = after.slice(eng[0].length);
  let args = [];
  const argsOpen = /^\s*\(/.exec(rest);
  if (argsOpen) {
    const at = argsOpen[0].length - 1;
    const end = closingParen(rest, at);
    args = splitTopLevel(rest.slice(at + 1, end));
    rest = rest.slice(end + 1);
  }
  const clauses = rest.trim();
  if (/\bON\s+CLUSTER\b/i.test(clauses)) return ctx.fail(stmt, 'already names a cluster');
  const key = sortingKey(clauses);
  if (!key) return ctx.fail(stmt, 'no sorting key to shard by (ORDER BY tuple() or none)');
  if (ctx.tables.has(table) || ctx.views.has(table)) return ctx.fail(stmt, `${table} is created twice`);
  ctx.tables.add(table);

  const db = ctx.database;
  const local = `${table}_local`;
  const replicated = [`'/clickhouse/tables/{shard}/{database}/${table}'`, `'{replica}'`, ...args].join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${local} ON CLUSTER '{cluster}'\n${columns}\nENGINE = Replicated${engine}(${replicated})\n${clauses}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${table} ON CLUSTER '{cluster}' AS ${db}.${local}\nENGINE = Distributed('{cluster}', ${db}, ${local}, cityHash64(${key.join(', ')}))`,
  ];
}

// ALTER actions: the first set changes columns, which the Distributed table must mirror; the
// second touches only the stored data or its indexes, so it runs on the local table alone.
const COLUMN_ACTION = /^(?:ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i;
const LOCAL_ACTION =
  /^(?:(?:ADD|DROP|MATERIALIZE|CLEAR)\s+(?:INDEX|PROJECTION|CONSTRAINT)\b|(?:CLEAR|MATERIALIZE)\s+COLUMN\b|MODIFY\s+(?:TTL|SETTING|COMMENT)\b|REMOVE\s+TTL\b|RESET\s+SETTING\b|UPDATE\b|DELETE\b)/i;

function translateAlter(stmt, ctx) {
  const m = new RegExp(`^ALTER\\s+TABLE\\s+(${IDENT})\\s+([\\s\\S]+)$`, 'i').exec(stmt);
  if (!m) return ctx.fail(stmt, 'only ALTER TABLE <name> <actions> is translated');
  const [, table, body] = m;
  if (!ctx.tables.has(table)) return ctx.fail(stmt, `${table} is not a table created by an earlier migration`);
  const actions = splitTopLevel(body);
  const columnActions = [];
  for (const a of actions) {
    if (COLUMN_ACTION.test(a)) columnActions.push(a);
    else if (!LOCAL_ACTION.test(a)) return ctx.fail(stmt, `action "${a.split(/\s+/).slice(0, 3).join(' ')}" may change sharding or data placement`);
  }
  const db = ctx.database;
  const out = [`ALTER TABLE ${db}.${table}_local ON CLUSTER '{cluster}'\n    ${actions.join(',\n    ')}`];
  if (columnActions.length > 0) out.push(`ALTER TABLE ${db}.${table} ON CLUSTER '{cluster}'\n    ${columnActions.join(',\n    ')}`);
  return out;
}

function translateView(stmt, ctx) {
  const m = new RegExp(`^CREATE\\s+VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\s+AS\\s+([\\s\\S]+)$`, 'i').exec(stmt);
  if (!m) return ctx.fail(stmt, 'only CREATE VIEW <name> AS <select> is translated');
  const [, view, select] = m;
  if (ctx.tables.has(view) || ctx.views.has(view)) return ctx.fail(stmt, `${view} is created twice`);
  ctx.views.add(view);
  // Unqualified tables in the SELECT resolve in the current database (the file starts with USE),
  // i.e. to the Distributed tables, so the view reads the whole cluster.
  return [`CREATE VIEW IF NOT EXISTS ${ctx.database}.${view} ON CLUSTER '{cluster}' AS\n${select}`];
}

function translateDrop(stmt, ctx) {
  const m = new RegExp(`^DROP\\s+(TABLE|VIEW)\\s+(?:IF\\s+EXISTS\\s+)?(${IDENT})$`, 'i').exec(stmt);
  if (!m) return ctx.fail(stmt, 'only DROP TABLE|VIEW [IF EXISTS] <name> is translated');
  const [, kind, name] = m;
  const db = ctx.database;
  if (kind.toUpperCase() === 'VIEW' && ctx.views.delete(name)) return [`DROP VIEW IF EXISTS ${db}.${name} ON CLUSTER '{cluster}' SYNC`];
  if (kind.toUpperCase() === 'TABLE' && ctx.tables.delete(name)) {
    return [`DROP TABLE IF EXISTS ${db}.${name} ON CLUSTER '{cluster}' SYNC`, `DROP TABLE IF EXISTS ${db}.${name}_local ON CLUSTER '{cluster}' SYNC`];
  }
  return ctx.fail(stmt, `${name} was not created by an earlier migration`);
}

/**
 * `CREATE MATERIALIZED VIEW [IF NOT EXISTS] v TO t AS SELECT … FROM s …`, t and s tables of earlier
 * migrations, s named once: the trigger sits on every node's `s_local` (it fires once for each
 * block inserted there, on the replica that received it) and writes to the Distributed `t`, which
 * sends every row to the shard its sorting key hashes to — where t's merges and FINAL meet it.
 * Without TO, or reading more than one table, the placement is not mechanical: refused.
 */
function translateMaterializedView(stmt, ctx) {
  const m = new RegExp(`^CREATE\\s+MATERIALIZED\\s+VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(${IDENT})\\s+TO\\s+(${IDENT})\\s+AS\\s+([\\s\\S]+)$`, 'i').exec(stmt);
  if (!m) return ctx.fail(stmt, 'materialized view: only CREATE MATERIALIZED VIEW <name> TO <table> AS <select> is translated');
  const [, view, target, select] = m;
  if (!ctx.tables.has(target)) return ctx.fail(stmt, `materialized view: ${target} is not a table created by an earlier migration`);
  if (ctx.tables.has(view) || ctx.views.has(view)) return ctx.fail(stmt, `${view} is created twice`);
  const sources = [...select.matchAll(new RegExp(`\\b(?:FROM|JOIN)\\s+(${IDENT})\\b`, 'gi'))].map((x) => x[1]);
  if (sources.length !== 1 || !ctx.tables.has(sources[0])) {
    return ctx.fail(stmt, 'materialized view: its SELECT must read exactly one table created by an earlier migration');
  }
  ctx.views.add(view);
  const db = ctx.database;
  const local = select.replace(new RegExp(`\\bFROM\\s+${sources[0]}\\b`, 'i'), `FROM ${db}.${sources[0]}_local`);
  return [`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${view} ON CLUSTER '{cluster}' TO ${db}.${target} AS\n${local}`];
}

/**
 * `INSERT INTO t … SELECT …` into a table of an earlier migration (a backfill): unchanged — the
 * names resolve to the Distributed tables, so it reads the whole cluster and each row goes to its
 * shard. The file is rerun after every upgrade, so such a migration must skip what it inserted
 * before (as 060_warning_state does); `INSERT … VALUES` is refused.
 */
function translateInsert(stmt, ctx) {
  const m = new RegExp(`^INSERT\\s+INTO\\s+(${IDENT})\\b[\\s\\S]*?\\bSELECT\\b`, 'i').exec(stmt);
  if (!m || /\bVALUES\b/i.test(stmt.slice(0, stmt.search(/\bSELECT\b/i)))) return ctx.fail(stmt, 'only INSERT INTO <table> … SELECT … is translated');
  if (!ctx.tables.has(m[1])) return ctx.fail(stmt, `${m[1]} is not a table created by an earlier migration`);
  return [stmt];
}

function translate(stmt, ctx) {
  if (/^CREATE\s+TABLE\b/i.test(stmt)) return translateCreateTable(stmt, ctx);
  if (/^ALTER\s+TABLE\b/i.test(stmt)) return translateAlter(stmt, ctx);
  if (/^CREATE\s+VIEW\b/i.test(stmt)) return translateView(stmt, ctx);
  if (/^DROP\s+(?:TABLE|VIEW)\b/i.test(stmt)) return translateDrop(stmt, ctx);
  if (/^CREATE\s+(?:OR\s+REPLACE\s+)?MATERIALIZED\s+VIEW\b/i.test(stmt)) return translateMaterializedView(stmt, ctx);
  if (/^INSERT\s+INTO\b/i.test(stmt)) return translateInsert(stmt, ctx);
  return ctx.fail(stmt, 'statement kind has no cluster translation');
}

/**
 * The cluster schema for `migrations` (as readMigrationFiles returns them), as the text of a
 * clickhouse-client script. Pure: same migrations, same text.
 */
export function generateClusterSchema(migrations, { database = DEFAULT_DATABASE } = {}) {
  if (!new RegExp(`^${IDENT}$`).test(database)) throw new Error(`invalid database name: ${database}`);
  const ctx = {
    database,
    tables: new Set(),
    views: new Set(),
    current: '',
    fail(stmt, reason) {
      throw new ClusterSchemaError(this.current, stmt, reason);
    },
  };
  const out = [
    '-- GENERATED by `npm run cluster-schema` from hub/src/store/migrations/*.sql; do not edit by hand.',
    '-- Run once with clickhouse-client --multiquery against any node, before the hubs start, and again',
    '-- after regenerating for a new migration (every statement is idempotent). See deploy/cluster/README.md.',
    "-- Each table: sharded Replicated*MergeTree `<name>_local` + Distributed `<name>` (the name the hub",
    '-- uses), sharded by the hash of the sorting key so rows that merge together live on one shard.',
    '',
    `CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER '{cluster}';`,
    '',
    `USE ${database};`,
  ];
  for (const m of migrations) {
    ctx.current = m.name;
    out.push('', `-- ${m.name}`);
    for (const stmt of m.statements) for (const s of translate(stmt, ctx)) out.push('', `${s};`);
  }
  // The hub's own bookkeeping (created by migrate.ts, same columns): one full replica on every node
  // (one Keeper path for all shards), so each hub reads the complete list locally and finds every
  // migration applied; an insert on one node reaches all of them.
  const rows = migrations.map((m) => `    (${m.version}, '${m.name}')`).join(',\n');
  out.push(
    '',
    '-- Bookkeeping: every migration above is in place, so the hub does not run its single-node forms.',
    '',
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations ON CLUSTER '{cluster}'`,
    "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))",
    "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}')",
    'ORDER BY version;',
    '',
    `INSERT INTO ${database}.schema_migrations (version, name) VALUES\n${rows};`,
    '',
  );
  return out.join('\n');
}

function main(argv) {
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const database = opt('--database') ?? DEFAULT_DATABASE;
  const target = opt('--out') ?? SCHEMA_FILE;
  const dir = opt('--migrations') ?? MIGRATIONS_DIR;
  let text;
  try {
    text = generateClusterSchema(readMigrationFiles(dir), { database });
  } catch (e) {
    if (e instanceof ClusterSchemaError) {
      console.error(`cluster-schema: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  if (target === '-') {
    process.stdout.write(text);
  } else if (argv.includes('--check')) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error(`cluster-schema: ${path.relative(process.cwd(), target)} is stale; run npm run cluster-schema`);
      process.exit(1);
    }
  } else {
    fs.writeFileSync(target, text);
    console.log(`cluster-schema: wrote ${path.relative(process.cwd(), target)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main(process.argv.slice(2));
