/**
 * The cluster schema generator (hub/scripts/cluster-schema.mjs): every migration's tables appear
 * as Replicated* local tables with a Distributed table under the original name, every migration is
 * marked applied, the committed deploy file is exactly the generator's output, and statements
 * without a mechanical cluster form stop the generator. Every generated statement is also put
 * through the real ClickHouse parser (chDB's formatQuery): Keeper-backed engines cannot run here,
 * but a statement ClickHouse cannot parse is caught.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterSchemaError,
  generateClusterSchema,
  readMigrationFiles,
  SCHEMA_FILE,
  splitStatements,
  type ClusterMigration,
} from '../scripts/cluster-schema.mjs';
import { loadConfig } from '../src/config.js';
import { readMigrations } from '../src/store/migrate.js';
import { param, sql } from '../src/store/sql.js';
import { openStore, type Store } from '../src/store/store.js';
import { tmpDir } from './helpers.js';

const migrations = readMigrationFiles();
const generated = generateClusterSchema(migrations);
const statements = splitStatements(generated);

/** Tables created by a list of migration statements (the single-node names). */
function createdTables(ms: readonly ClusterMigration[]): string[] {
  return ms.flatMap((m) =>
    m.statements.flatMap((s) => {
      const hit = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/i.exec(s);
      return hit ? [hit[1]!] : [];
    }),
  );
}

/** name → engine of every CREATE TABLE in the generated script, and the Distributed targets. */
function generatedEngines(stmts: readonly string[]): Map<string, { engine: string; args: string }> {
  const out = new Map<string, { engine: string; args: string }>();
  for (const s of stmts) {
    const name = /^CREATE TABLE IF NOT EXISTS jianguan\.(\w+) ON CLUSTER '\{cluster\}'/.exec(s);
    const engine = /\bENGINE = (\w+)\((.*)\)\s*$/m.exec(s);
    if (name && engine) out.set(name[1]!, { engine: engine[1]!, args: engine[2]! });
  }
  return out;
}

function expectUntranslatable(ms: ClusterMigration[], migration: string): ClusterSchemaError {
  try {
    generateClusterSchema(ms);
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterSchemaError);
    const err = e as ClusterSchemaError;
    expect(err.code).toBe('CLUSTER_SCHEMA_UNTRANSLATABLE');
    expect(err.migration).toBe(migration);
    return err;
  }
  throw new Error('expected CLUSTER_SCHEMA_UNTRANSLATABLE');
}

const core: ClusterMigration = {
  version: 1,
  name: '001_core',
  statements: ['CREATE TABLE IF NOT EXISTS t (id String, v UInt64) ENGINE = MergeTree ORDER BY id'],
};

describe('cluster schema generator', () => {
  it('reads the migrations exactly as the hub applies them', () => {
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations).toEqual(readMigrations());
  });

  it('creates every migration table as a Replicated* local table plus a Distributed table under its name', () => {
    const engines = generatedEngines(statements);
    const tables = createdTables(migrations);
    expect(tables).toContain('transactions');
    for (const t of tables) {
      const local = engines.get(`${t}_local`);
      expect(local?.engine, `${t}_local`).toMatch(/^Replicated\w*MergeTree$/);
      expect(local?.args, `${t}_local`).toMatch(new RegExp(`^'/clickhouse/tables/\\{shard\\}/\\{database\\}/${t}', '\\{replica\\}'`));
      const dist = engines.get(t);
      expect(dist?.engine, t).toBe('Distributed');
      expect(dist?.args, t).toMatch(new RegExp(`^'\\{cluster\\}', jianguan, ${t}_local, cityHash64\\(.+\\)$`));
    }
  });

  it('keeps each engine argument after the Keeper path and replica', () => {
    const engines = generatedEngines(statements);
    expect(engines.get('transactions_local')).toEqual({
      engine: 'ReplicatedReplacingMergeTree',
      args: "'/clickhouse/tables/{shard}/{database}/transactions', '{replica}', stored_at",
    });
    // Shards by the whole sorting key, so rows that ReplacingMergeTree must merge share a shard.
    expect(engines.get('transactions')?.args).toBe("'{cluster}', jianguan, transactions_local, cityHash64(institution_id, id)");
  });

  it('runs every DDL statement on the whole cluster, ALTERs on both the local and the Distributed table', () => {
    for (const s of statements) {
      if (/^(USE|INSERT)\b/.test(s)) continue;
      expect(s, s.slice(0, 80)).toContain("ON CLUSTER '{cluster}'");
    }
    const alters = migrations.flatMap((m) => m.statements.filter((s) => /^ALTER\s+TABLE\b/i.test(s)));
    for (const a of alters) {
      const [, table, action] = /^ALTER\s+TABLE\s+(\w+)\s+([\s\S]+)$/i.exec(a)!;
      expect(generated).toContain(`ALTER TABLE jianguan.${table}_local ON CLUSTER '{cluster}'\n    ${action};`);
      // Column changes also on the Distributed table (it mirrors columns); projections,
      // indexes, settings and mutations exist only on the local tables.
      const distributed = `ALTER TABLE jianguan.${table} ON CLUSTER '{cluster}'\n    ${action};`;
      if (/^(?:ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i.test(action!)) expect(generated).toContain(distributed);
      else expect(generated).not.toContain(distributed);
    }
  });

  it('marks every migration version applied', () => {
    const insert = statements.find((s) => s.startsWith('INSERT INTO jianguan.schema_migrations'));
    const rows = [...(insert ?? '').matchAll(/\((\d+), '(\w+)'\)/g)].map((m) => ({ version: Number(m[1]), name: m[2] }));
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
  });

  it('matches the committed deploy/cluster/clickhouse/schema-cluster.sql (rerun npm run cluster-schema)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
  });

  it('takes any new migration file in order', () => {
    const dir = tmpDir('cluster-migrations');
    fs.writeFileSync(path.join(dir, '001_core.sql'), `${core.statements[0]};\n`);
    fs.writeFileSync(
      path.join(dir, '030_totals.sql'),
      [
        '-- Daily totals.',
        'CREATE TABLE IF NOT EXISTS totals (day Date, institution_id String, n UInt64, s AggregateFunction(uniq, String))',
        'ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (day, institution_id);',
        'CREATE TABLE IF NOT EXISTS sums (k String, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY k;',
        'ALTER TABLE t ADD INDEX v_idx v TYPE minmax GRANULARITY 1, ADD COLUMN IF NOT EXISTS w String;',
        '',
      ].join('\n'),
    );
    const read = readMigrationFiles(dir);
    expect(read.map((m) => m.version)).toEqual([1, 30]);
    const out = generateClusterSchema(read);
    const engines = generatedEngines(splitStatements(out));
    expect(engines.get('totals_local')?.engine).toBe('ReplicatedAggregatingMergeTree');
    expect(engines.get('totals')?.args).toBe("'{cluster}', jianguan, totals_local, cityHash64(day, institution_id)");
    expect(engines.get('sums_local')?.args).toBe("'/clickhouse/tables/{shard}/{database}/sums', '{replica}', (n)");
    // The index is the local table's business; only the column reaches the Distributed table.
    expect(out).toContain("ALTER TABLE jianguan.t_local ON CLUSTER '{cluster}'\n    ADD INDEX v_idx v TYPE minmax GRANULARITY 1,\n    ADD COLUMN IF NOT EXISTS w String;");
    expect(out).toContain("ALTER TABLE jianguan.t ON CLUSTER '{cluster}'\n    ADD COLUMN IF NOT EXISTS w String;");
    expect(out).toContain("(1, '001_core'),\n    (30, '030_totals');");
  });

  it('triggers a materialized view on the local source table and writes to the Distributed target; passes a backfill through', () => {
    const out = generateClusterSchema([
      core,
      {
        version: 30,
        name: '030_derived',
        statements: [
          'CREATE TABLE IF NOT EXISTS d (k String, n UInt64) ENGINE = ReplacingMergeTree ORDER BY k',
          'CREATE MATERIALIZED VIEW IF NOT EXISTS d_mv TO d AS SELECT id AS k, v AS n FROM t',
          'INSERT INTO d (k, n) SELECT id, v FROM t WHERE id GLOBAL NOT IN (SELECT k FROM d)',
        ],
      },
    ]);
    // Fires once per block inserted on a node's t_local; each row goes to the shard of its key.
    expect(out).toContain("CREATE MATERIALIZED VIEW IF NOT EXISTS jianguan.d_mv ON CLUSTER '{cluster}' TO jianguan.d AS\nSELECT id AS k, v AS n FROM jianguan.t_local;");
    // The backfill reads and writes the Distributed tables (USE jianguan).
    expect(out).toContain('\nINSERT INTO d (k, n) SELECT id, v FROM t WHERE id GLOBAL NOT IN (SELECT k FROM d);');
  });

  it('stops on statements without a mechanical cluster form, naming the migration and statement', () => {
    const bad = (statement: string): ClusterMigration[] => [core, { version: 30, name: '030_next', statements: [statement] }];
    const cases = [
      'CREATE MATERIALIZED VIEW IF NOT EXISTS t_mv ENGINE = MergeTree ORDER BY id AS SELECT id, v FROM t',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS t_mv TO t AS SELECT t.id, u.v FROM t JOIN t AS u ON u.id = t.id',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS t_mv TO missing AS SELECT id, v FROM t',
      'CREATE TABLE IF NOT EXISTS mem (id String) ENGINE = Memory',
      'CREATE TABLE IF NOT EXISTS keyless (id String) ENGINE = ReplacingMergeTree ORDER BY tuple()',
      "INSERT INTO t (id, v) VALUES ('a', 1)",
      'ALTER TABLE t MODIFY ORDER BY (id, v)',
      'ALTER TABLE missing ADD COLUMN x String',
      'RENAME TABLE t TO t2',
    ];
    for (const statement of cases) expect(expectUntranslatable(bad(statement), '030_next').statement).toBe(statement);
  });
});

describe('generated statements against the ClickHouse parser', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(loadConfig({}, { dataDir: tmpDir('cluster-schema') }));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('parses every statement of the generated script', async () => {
    expect(statements.length).toBeGreaterThan(migrations.length);
    for (const s of statements) {
      const [row] = await store.query<{ f: string }>(sql`SELECT formatQuery(${param.String(s)}) AS f`);
      expect(row?.f.length, s.slice(0, 80)).toBeGreaterThan(0);
    }
  });
});
