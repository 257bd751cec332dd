#!/usr/bin/env node
// What one evaluate job's records cost on their way through Redis: BullMQ jobs carrying a
// 200-record batch (as ingest enqueued them before jobs/queue.ts kept the records beside the job)
// against jobs carrying only a reference (as it enqueues them now), and the
// batch as a separate Redis value (JSON text or msgpack) that the worker reads and deletes. One
// process plays ingest (Queue + QueueEvents, waiting for each job) and the evaluation worker
// (concurrency 32, a processor that only decodes the records), so "client CPU" is both sides'.
// Also: the cost of the encodings alone, in this process, per 200 records.
//
//   node hub/bench/job-payload.bench.mjs [--jobs 400] [--rounds 2] [--json]
//
// Redis: JG_REDIS_URL (default redis://127.0.0.1:6399); its CPU from /proc/<redis pid>/stat, so
// Redis must run on this machine. Records: the collector's simulator (collector/dist).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const JOBS = argOf('--jobs', 400);
const ROUNDS = argOf('--rounds', 2);
const JSON_OUT = args.includes('--json');
const url = process.env.JG_REDIS_URL ?? 'redis://127.0.0.1:6399';

const { Queue, Worker, QueueEvents } = await import(path.join(root, 'node_modules/bullmq/dist/cjs/index.js'));
const { Redis } = await import(path.join(root, 'node_modules/ioredis/built/index.js'));
const { Packr } = await import(path.join(root, 'node_modules/msgpackr/index.js'));
const collector = await import(path.join(root, 'collector/dist/index.js'));
const { cpuSecondsOf } = await import(path.join(root, 'scripts/lib/proc.mjs'));

const sim = collector.createSimulator({ institutionId: 'JCJ-JYZ', anomalyRate: 0.02, malformedRate: 0, seed: 1, streamKey: 'bench:1' });
const pseudonymizer = collector.createPseudonymizer('k'.repeat(64));
const records = Array.from({ length: 200 }, (_, i) => collector.toTransaction(sim.next().raw, { collectorId: 'bench', seq: i + 1, capturedAt: Date.now() }, pseudonymizer));
const packr = new Packr({ useRecords: false });

const admin = new Redis(url);
const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const connection = { url, maxRetriesPerRequest: null };
const side = new Redis(url);
async function run(kind) {
  const prefix = `jgbench${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const queue = new Queue('evaluate', { connection, prefix, defaultJobOptions: { removeOnComplete: { age: 600, count: 20_000 } } });
  const events = new QueueEvents('evaluate', { connection, prefix });
  events.setMaxListeners(0);
  queue.setMaxListeners(0);
  const worker = new Worker(
    'evaluate',
    async (job) => {
      if (kind === 'records') return { stored: job.data.records.length };
      if (kind === 'reference') return { stored: 0 };
      const buf = await side.getBuffer(job.data.key);
      const recs = kind === 'value-json' ? JSON.parse(buf.toString('utf8')) : packr.unpack(buf);
      await side.del(job.data.key);
      return { stored: recs.length };
    },
    { connection, prefix, concurrency: 32 },
  );
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  const r0 = cpuSecondsOf(redisPid);
  const c0 = selfCpu();
  const t0 = Date.now();
  const pending = [];
  for (let i = 0; i < JOBS; i++) {
    const base = { batchId: `b${i}`, collectorId: 'bench', receivedAt: Date.now() };
    let data;
    if (kind === 'records') data = { ...base, records };
    else if (kind === 'reference') data = { ...base, ref: `bench|b${i}` };
    else {
      const key = `${prefix}:batch:${i}`;
      await side.set(key, kind === 'value-json' ? JSON.stringify(records) : packr.pack(records), 'PX', 600_000);
      data = { ...base, key };
    }
    pending.push(queue.add('batch', data, { jobId: `bench|b${i}` }).then((j) => j.waitUntilFinished(events, 60_000)));
    if (pending.length >= 128) await pending.shift();
  }
  await Promise.all(pending);
  const out = { kind, jobs: JOBS, redisMsPerJob: ((cpuSecondsOf(redisPid) - r0) * 1000) / JOBS, clientMsPerJob: ((selfCpu() - c0) * 1000) / JOBS, wallMs: Date.now() - t0 };
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return out;
}

function perBatch(label, f, n = 300) {
  for (let i = 0; i < 50; i++) f();
  const c0 = selfCpu();
  for (let i = 0; i < n; i++) f();
  return { encoding: label, msPer200: ((selfCpu() - c0) * 1000) / n };
}
const text = JSON.stringify(records);
const packed = packr.pack(records);
const encodings = [
  perBatch('JSON.stringify', () => JSON.stringify(records)),
  perBatch('JSON.parse', () => JSON.parse(text)),
  perBatch('msgpackr pack', () => packr.pack(records)),
  perBatch('msgpackr unpack', () => packr.unpack(packed)),
  perBatch('structuredClone', () => structuredClone(records)),
];

const rows = [];
for (let r = 0; r < ROUNDS; r++) for (const kind of ['records', 'reference', 'value-json', 'value-msgpack']) rows.push(await run(kind));
await side.quit();
await admin.quit();
const result = { batchRecords: records.length, jsonBytes: Buffer.byteLength(text), msgpackBytes: packed.length, jobs: rows, encodings };
if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`BullMQ jobs of ${records.length} records (${(result.jsonBytes / 1024).toFixed(0)} KiB JSON, ${(result.msgpackBytes / 1024).toFixed(0)} KiB msgpack), ${JOBS} jobs per run`);
  console.log('payload           Redis CPU/job  client CPU/job  wall');
  for (const r of rows) console.log(`${r.kind.padEnd(16)}  ${r.redisMsPerJob.toFixed(2).padStart(10)} ms  ${r.clientMsPerJob.toFixed(2).padStart(11)} ms  ${r.wallMs} ms`);
  console.log('\nencoding alone, per 200 records');
  for (const e of encodings) console.log(`${e.encoding.padEnd(16)}  ${e.msPer200.toFixed(3)} ms`);
}
process.exit(0);
