// Raw chDB insert ceiling for the bench: JSONEachRow batches of 5,000 rows shaped like the
// transactions table, straight through @clickhouse/client over chDB. Run with cwd = hub/ so the
// hub's dependencies resolve. Prints `rows_per_sec=N`.
import fs from 'node:fs';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

const dir = process.argv[2];
fs.mkdirSync(dir, { recursive: true });
const client = createClient({ connection: createChdbConnection({ path: dir }) });
await client.command({
  query: `CREATE TABLE IF NOT EXISTS t (id String, institution_id LowCardinality(String), kind LowCardinality(String),
    subject_hash String, hphm String, vin String, occurred_at DateTime64(3, 'UTC'), captured_at DateTime64(3, 'UTC'),
    measurements Map(String, Float64)) ENGINE = ReplacingMergeTree ORDER BY (institution_id, id)`,
});
const batches = 40;
const size = 5000;
const now = Date.now();
let n = 0;
const started = performance.now();
for (let b = 0; b < batches; b++) {
  const rows = [];
  for (let i = 0; i < size; i++, n++) {
    rows.push({
      id: `c:${n}`,
      institution_id: `I${n % 15}`,
      kind: 'vehicle',
      subject_hash: 'a3f1'.repeat(16),
      hphm: `桂M${10000 + (n % 89999)}`,
      vin: 'LSVAA4182E2100001',
      occurred_at: now + n,
      captured_at: now + n,
      measurements: { speed: n % 100 },
    });
  }
  await client.insert({ table: 't', values: rows, format: 'JSONEachRow' });
}
const secs = (performance.now() - started) / 1000;
console.log(`rows_per_sec=${Math.round(n / secs)}`);
await client.close();
fs.rmSync(dir, { recursive: true, force: true });
