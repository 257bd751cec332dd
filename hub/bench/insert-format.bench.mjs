#!/usr/bin/env node
// What one transaction row costs chDB to insert, by what the row carries: the hub's table as it
// is (JSONEachRow, `payload` compressed with ZSTD(3), the by_capture projection), the same rows as
// JSONCompactEachRow, the table without its projection, `payload` with LZ4 or ZSTD(1), and rows
// without `payload` (the record as received, stored beside its columns since migration 021).
// CPU is this process's (every chDB thread included) over the inserts, per row; "encode" is the
// part spent building the text in JavaScript.
//
//   node hub/bench/insert-format.bench.mjs [--batch 200] [--rows 20000] [--rounds 2] [--json]
//
// The tables are made by the hub's own migrations in a temporary chDB directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const BATCH = argOf('--batch', 200);
const ROWS = argOf('--rows', 20_000);
const ROUNDS = argOf('--rounds', 2);
const JSON_OUT = args.includes('--json');

const collector = await import(path.join(root, 'collector/dist/index.js'));
const { transactionRow } = await import(path.join(root, 'hub/dist/store/repo.js'));
const { readMigrations } = await import(path.join(root, 'hub/dist/store/migrate.js'));
const { createChdbConnection } = await import('chdb/connection');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-insert-format-'));
const connection = createChdbConnection({ path: dir });
const ch = connection.chdb;
for (const m of readMigrations()) for (const stmt of m.statements) await ch.queryAsync(stmt);

const sim = collector.createSimulator({ institutionId: 'JCJ-JYZ', anomalyRate: 0.02, malformedRate: 0, seed: 1, streamKey: 'bench:1' });
const pseudonymizer = collector.createPseudonymizer('k'.repeat(64));
const rows = Array.from({ length: ROWS }, (_, i) => {
  const t = { ...collector.toTransaction(sim.next().raw, { collectorId: 'bench', seq: i + 1, capturedAt: Date.now() }, pseudonymizer), id: `bench:${i + 1}` };
  return transactionRow(t, { batchId: `b${Math.floor(i / BATCH)}`, county: '451202', ruleSet: 'bench', warningCount: 0 });
});
const columns = Object.keys(rows[0]);
const each = (rs) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const compact = (rs) => rs.map((r) => JSON.stringify(columns.map((c) => r[c]))).join('\n') + '\n';
const withoutPayload = (rs) => compact(rs.map((r) => ({ ...r, payload: '' })));

await ch.queryAsync('CREATE TABLE t_no_projection AS transactions');
await ch.queryAsync('ALTER TABLE t_no_projection DROP PROJECTION IF EXISTS by_capture');
await ch.queryAsync('CREATE TABLE t_payload_lz4 AS transactions');
await ch.queryAsync("ALTER TABLE t_payload_lz4 MODIFY COLUMN payload String DEFAULT '' CODEC(LZ4)");
await ch.queryAsync('CREATE TABLE t_payload_zstd1 AS transactions');
await ch.queryAsync("ALTER TABLE t_payload_zstd1 MODIFY COLUMN payload String DEFAULT '' CODEC(ZSTD(1))");

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const variants = [
  { name: 'as stored today', table: 'transactions', format: 'JSONEachRow', encode: each },
  { name: 'compact rows', table: 'transactions', format: 'JSONCompactEachRow', encode: compact },
  { name: 'no projection', table: 't_no_projection', format: 'JSONCompactEachRow', encode: compact },
  { name: 'payload LZ4', table: 't_payload_lz4', format: 'JSONCompactEachRow', encode: compact },
  { name: 'payload ZSTD(1)', table: 't_payload_zstd1', format: 'JSONCompactEachRow', encode: compact },
  { name: 'without payload', table: 't_no_projection', format: 'JSONCompactEachRow', encode: withoutPayload },
];
const results = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const v of variants) {
    await ch.queryAsync(`TRUNCATE TABLE ${v.table}`);
    const n = Math.floor(rows.length / BATCH);
    let encodeMs = 0;
    let bytes = 0;
    const c0 = cpu();
    const t0 = Date.now();
    for (let b = 0; b < n; b++) {
      const e0 = cpu();
      const text = v.encode(rows.slice(b * BATCH, (b + 1) * BATCH));
      encodeMs += cpu() - e0;
      bytes += Buffer.byteLength(text);
      await ch.rawInsert({ table: v.table, values: text, format: v.format });
    }
    const total = n * BATCH;
    results.push({ round: r + 1, variant: v.name, rows: total, batch: BATCH, cpuUsPerRow: ((cpu() - c0) * 1000) / total, encodeUsPerRow: (encodeMs * 1000) / total, bytesPerRow: bytes / total, wallMs: Date.now() - t0 });
  }
}
connection.close?.();
// Background merges may still be writing parts when the connection closes.
try {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
} catch {
  console.error(`could not remove ${dir}; remove it by hand`);
}
if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`chDB inserts of ${BATCH} transaction rows (${ROWS} rows per variant and round)`);
  console.log('variant            CPU/row (all threads)  of which encode  bytes/row  wall');
  for (const r of results) console.log(`${r.variant.padEnd(17)}  ${r.cpuUsPerRow.toFixed(1).padStart(14)} µs  ${r.encodeUsPerRow.toFixed(1).padStart(12)} µs  ${r.bytesPerRow.toFixed(0).padStart(9)}  ${r.wallMs} ms`);
}
process.exit(0);
