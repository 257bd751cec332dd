#!/usr/bin/env node
// The leadership screens at a city's data size: synthesise a year of transactions and their
// warnings inside ClickHouse (INSERT … SELECT FROM numbers(), not through the pipeline) into the
// hub's real tables, then time the calls behind the screens against that store.
//
//   npm run bench:scale -- [--rows 100000000] [--json] [--dir .data/bench-scale] [--reuse] [--calls 15]
//
// Data: --rows transactions over the 12 local months 2025-12 … 2026-11, 3,000 institutions over
// the counties of 14 cities (skewed: institution i gets business ∝ 1/(i+20), so a few big vehicle
// offices carry much of the traffic), kinds and business types in the simulator's proportions,
// busy working hours; 3 % of transactions raise a warning (one each); warnings older than 14 days
// went their whole workflow life, newer ones are open (synthesiseWorkflow), and a tenth of the
// confirmed ones deduct points in the evaluation ledger. Migrations are
// applied first (hub/src/store/migrate.ts) into an embedded chDB under --dir (one process owns a
// chDB directory: run nothing else on it). --reuse keeps data already there with the same --rows.
//
// Calls (each --calls times on varied institutions / counties; p50 and p95 in ms):
//   city overview     EvaluationService.scores(month)                 GET /api/v1/evaluation/scores
//   county page       scores(month, { county })                       … ?county=
//   monthly ranking   scores(month, { type })                         … ?type=
//   quarterly grades  quarter(q), quarter(q, { county })             GET /api/v1/evaluation/quarters
//   12-month trend    trend(id, month, 12)                            GET …/institutions/:id/trend
//   volumes           institutionVolumes(store, …)                    GET …/institutions/:id/volumes
//   deductions        deductions(id, month)                           GET …/institutions/:id/deductions
//   wall statistics   dayStats(store, day)                            the wall's KPIs, map and business by type
//   wall: lag, collectors  pipelineLagP95, collectorHealth            the wall's lag and collector figures
//   health totals     totals(store)                                   /healthz, /metrics
//   assign: …         warningsByIds, openLoad (workflow/repo.js)      automatic assignment's reads
//   warning: transaction  transactionById (workflow/repo.js)        GET /api/v1/warnings/:id
//   list: …           listWarningsWithState (workflow/repo.js)        GET /api/v1/warnings (workbench, list)
//   sweep: …          unassignedWarnings, escalationCandidates        the workflow's periodic sweep
//   wall: workflow    wallWorkflowStats, overdueOpen                  the wall's workflow figures
//   ledger: …         EvaluationService.reconcile, full and between     the deduction ledger's check
// plus the monthly score refresh (EvaluationService, background job: every month is refreshed
// once before the reads are timed) and the disk footprint (system.parts, active parts).
// Build the hub first (`npx turbo run build`); Redis at JG_REDIS_URL (default
// redis://127.0.0.1:6399) holds only the evaluation lock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argOf = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const ROWS = Number(argOf('--rows', 100_000_000));
const CALLS = Number(argOf('--calls', 15));
const DIR = path.resolve(root, argOf('--dir', '.data/bench-scale'));
const JSON_OUT = args.includes('--json');
const REUSE = args.includes('--reuse');
// `--without 040`: leave out migrations with these numbers (comma-separated) — the "before" of
// a migration that adds projections or views; a later run with --reuse applies them.
const WITHOUT = new Set(String(argOf('--without', '')).split(',').filter(Boolean).map(Number));
if (!(Number.isInteger(ROWS) && ROWS >= 10_000)) throw new Error('--rows must be an integer >= 10000');

// JG_BENCH_HUB_DIST: another build of the hub (the before of an A/B pair), as `npm run bench` takes it.
const hubDist = path.resolve(root, process.env.JG_BENCH_HUB_DIST ?? 'hub/dist');
const hub = (p) => import(path.join(hubDist, p));
const { loadConfig } = await hub('config.js');
const { openStore } = await hub('store/store.js');
const { migrate, MIGRATIONS_DIR } = await hub('store/migrate.js');
const { sql, UNSAFE_RAW_SQL } = await hub('store/sql.js');
const { collectorHealth, dayStats, pipelineLagP95, totals, wallWorkflowStats } = await hub('store/repo.js');
const { overdueOpen } = await hub('live/wall-stats.js');
const { EvaluationService } = await hub('evaluation/service.js');
const { DEFAULT_EVALUATION, monthRange } = await hub('evaluation/scoring.js');
const { institutionVolumes } = await hub('evaluation/volumes.js');
const { escalationCandidates, listWarningsWithState, openLoad, transactionById, unassignedWarnings, warningsByIds } = await hub('workflow/repo.js');
const { Redis } = await import(path.join(root, 'node_modules/ioredis/built/index.js'));
const { warningCalls } = await import(path.join(root, 'hub/bench/warning-calls.mjs'));

const log = (...m) => {
  if (!JSON_OUT) console.log(...m);
};
const raw = (text) => sql`${UNSAFE_RAW_SQL(text)}`;

// ---- institutions: 14 cities × their counties, 3,000 institutions ---------------------------
const CITIES = 14;
const COUNTIES_PER_CITY = [12, 7, 11, 9, 8, 9, 8, 8, 6, 10, 9, 6, 7, 5];
const COUNTIES = COUNTIES_PER_CITY.flatMap((n, c) => Array.from({ length: n }, (_, k) => `45${String(c + 1).padStart(2, '0')}${String(k + 1).padStart(2, '0')}`));
const N_INST = 3000;
const TYPES = ['vehicle_office', 'vehicle_office_branch', 'inspection_station', 'driving_school', 'exam_centre', 'hospital', 'agent'];
// Institution i: county i mod |counties|, type by share (stations and schools are numerous).
const TYPE_OF = (i) => (i < 40 ? 'vehicle_office' : i < 400 ? 'vehicle_office_branch' : i < 1100 ? 'inspection_station' : i < 1900 ? 'driving_school' : i < 2000 ? 'exam_centre' : i < 2600 ? 'hospital' : 'agent');
const institutions = Array.from({ length: N_INST }, (_, i) => ({
  id: `I${String(i).padStart(4, '0')}`,
  name: `机构${i}`,
  type: TYPE_OF(i),
  county: COUNTIES[i % COUNTIES.length],
  status: 'active',
}));
const MONTHS = ['2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11'];
const FROM = monthRange(MONTHS[0]).from;
const TO = monthRange(MONTHS.at(-1)).to;

// The skew as SQL: institution index from a uniform u in [0,1): the inverse CDF of weights
// ∝ 1/(i+20) over i in [0, N): i = (N+20)^u · 20^(1−u) − 20.
const instExpr = (u) => `least(${N_INST - 1}, toUInt32(pow(${N_INST + 20}, ${u}) * pow(20, 1 - ${u}) - 20))`;
const countyArray = `[${COUNTIES.map((c) => `'${c}'`).join(',')}]`;
const typeArray = `[${institutions.map((i) => `'${i.type}'`).join(',')}]`;

// ---- store ------------------------------------------------------------------------------------
fs.mkdirSync(DIR, { recursive: true });
const store = await openStore(loadConfig({}, { dataDir: DIR }));
let migrationsDir = MIGRATIONS_DIR;
if (WITHOUT.size > 0) {
  migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR)) if (!WITHOUT.has(Number(f.slice(0, 3)))) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(migrationsDir, f));
}
const appliedNow = await migrate(store, migrationsDir);
const REDIS_URL = process.env.JG_REDIS_URL ?? 'redis://127.0.0.1:6399';
// Before minutes of synthesis: without Redis the run would only fail at the first score refresh.
{
  const probe = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => {}); // the failure is reported below
  try {
    await probe.connect();
    await probe.ping();
    await probe.quit();
  } catch (e) {
    probe.disconnect();
    console.error(`bench:scale needs Redis at ${REDIS_URL} (JG_REDIS_URL) for the evaluation lock (${String(e.message).replace(/\.$/, '')}). Start one, e.g.: redis-server --port 6399 --save '' --daemonize yes`);
    process.exit(1);
  }
}
const redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
const count = async (table) => Number((await store.query(raw(`SELECT count() AS n FROM ${table}`)))[0].n);

async function synthesise() {
  for (const t of ['transactions', 'warnings', 'warning_events', 'evaluation_ledger', 'evaluation_scores']) await store.command(raw(`TRUNCATE TABLE IF EXISTS ${t}`));
  const CHUNK = 5_000_000;
  const t0 = performance.now();
  for (let off = 0; off < ROWS; off += CHUNK) {
    const n = Math.min(CHUNK, ROWS - off);
    // Per row: u1 picks the institution, u2 the kind, u3 the instant. Hours: 08–18 local on most
    // rows (a working day), the rest spread over the day. Deterministic (hash of the row number).
    await store.command(
      raw(`
      INSERT INTO transactions (id, batch_id, collector_id, seq, source, channel, institution_id, county, counter, staff_id, device_id, ip, mac, lsh,
        sub_lsh, kind, ywlx, ywyy, subject_hash, subject_masked, agent_hash, agent_masked, hpzl, hphm, vin, owner_hash, licence_hash, zjcx,
        occurred_at, applied_at, started_at, ended_at, completed_at, captured_at, stored_at, outcome, measurements, evidence, rule_set, warning_count)
      SELECT
        concat('T', toString(number)) AS id,
        concat('B', toString(intDiv(number, 100))) AS batch_id,
        concat('C', toString(inst)) AS collector_id,
        number AS seq,
        'simulator' AS source,
        if(k < 0.05, 'internet', 'counter') AS channel,
        concat('I', leftPad(toString(inst), 4, '0')) AS institution_id,
        ${countyArray}[inst % ${COUNTIES.length} + 1] AS county,
        concat('W0', toString(number % 6 + 1)) AS counter,
        concat('S', toString(inst), '-', toString(number % 7)) AS staff_id,
        '' AS device_id, '10.45.1.12' AS ip, '' AS mac,
        toString(number) AS lsh, '' AS sub_lsh,
        multiIf(k < 0.30, 'vehicle', k < 0.45, 'licence', k < 0.53, 'violation', k < 0.63, 'check', k < 0.78, 'inspection', k < 0.90, 'exam', k < 0.96, 'medical', 'queue') AS kind,
        arrayElement(['A','B','D','E','G','K','L','O','1','2','3','4'], toUInt32(number % 12) + 1) AS ywlx,
        '' AS ywyy,
        lower(hex(SHA256(toString(number)))) AS subject_hash,
        '4512**********0011' AS subject_masked, '' AS agent_hash, '' AS agent_masked,
        '02' AS hpzl, concat('桂M', toString(10000 + number % 90000)) AS hphm,
        concat('LSV', upper(substring(hex(cityHash64(number)), 1, 14))) AS vin,
        '' AS owner_hash, '' AS licence_hash, '' AS zjcx,
        at AS occurred_at, NULL AS applied_at, at - toIntervalMinute(10) AS started_at, at AS ended_at, at AS completed_at,
        at + toIntervalMillisecond(400) AS captured_at, at + toIntervalSecond(2) AS stored_at,
        if(number % 33 = 0, 'refused', 'done') AS outcome,
        map() AS measurements, [] AS evidence, 'bench' AS rule_set,
        toUInt16(number % 33 = 7) AS warning_count
      FROM (
        SELECT number,
          ${instExpr('(cityHash64(number, 1) % 1000000) / 1000000')} AS inst,
          (cityHash64(number, 2) % 1000000) / 1000000 AS k,
          fromUnixTimestamp64Milli(toInt64(
            ${FROM} + (cityHash64(number, 3) % ${Math.round((TO - FROM) / 86_400_000)}) * 86400000
            + if(cityHash64(number, 4) % 10 < 8, 28800000 + cityHash64(number, 5) % 36000000, cityHash64(number, 5) % 86400000)
          ), 'UTC') AS at
        FROM numbers(${off}, ${n})
      )`),
    );
    log(`  transactions ${Math.min(off + n, ROWS).toLocaleString('en-US')} / ${ROWS.toLocaleString('en-US')}  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  // Warnings: one per warned transaction (3 %), a rule per family by the transaction's kind.
  await store.command(
    raw(`
    INSERT INTO warnings (id, rule_id, rule_name, rule_version, family, severity, action, transaction_id, batch_id, collector_id, institution_id,
      county, occurred_at, captured_at, raised_at, explanation, values_json, subject_masked)
    SELECT concat('W', tid) AS id,
      arrayElement(['counter.off_hours','counter.long_wait','check.short_duration','inspection.short_test','exam.short_duration','agent.frequent','vehicle.approval_revoked','points.multi_vehicle'], toUInt32(seq % 8) + 1) AS rule_id,
      '规则' AS rule_name, 'r1-bench' AS rule_version, splitByChar('.', rule_id)[1] AS family,
      arrayElement(['low','medium','high'], toUInt32(seq % 3) + 1) AS severity, if(seq % 50 = 7, 'hold', 'warn') AS action,
      tid AS transaction_id, batch_id, collector_id, institution_id, county, occurred_at, captured_at, captured_at + toIntervalSecond(1) AS raised_at,
      concat('业务', tid, '触发规则，阈值说明') AS explanation, '{"count":3}' AS values_json, subject_masked
    FROM (SELECT id AS tid, * FROM transactions WHERE warning_count > 0)`),
  );
  await synthesiseWorkflow();
  return (performance.now() - t0) / 1000;
}

// The warnings' lives as a detachment works them: warnings raised more than 14 days before the
// data's end went the whole way (assigned → acknowledged → verifying → concluded, 70 % confirmed
// → reviewed → closed, six events; 5 % escalated on the way); the newer ones are spread over the
// open states (30 % raised without an event, 30 % assigned, 20 % acknowledged, 20 % verifying,
// 10 % of those escalated). An escalation is an event of its own, as the hub's overdue sweep
// writes it (type escalated, by the system, state unchanged, the flag carried by every later
// event), here right after the assignment. 40 auditors. Every confirmed warning deducts its
// severity's points (the default 3 / 2 / 1) in the evaluation ledger: the ledger in step, as
// reconcile keeps it.
const RECENT_DAYS = 14;
async function synthesiseWorkflow() {
  for (const t of ['warning_events', 'warning_state', 'evaluation_ledger', 'evaluation_scores']) await store.command(raw(`TRUNCATE TABLE IF EXISTS ${t}`));
  const recentFrom = TO - RECENT_DAYS * 86_400_000;
  // A life's steps without and with the escalation (its second event).
  const types = `if(esc, ['assigned','escalated','acknowledged','verification_started','concluded','reviewed','closed'], ['assigned','acknowledged','verification_started','concluded','reviewed','closed'])`;
  const froms = `if(esc, ['raised','assigned','assigned','acknowledged','verifying','concluded','reviewed'], ['raised','assigned','acknowledged','verifying','concluded','reviewed'])`;
  const tos = `if(esc, ['assigned','assigned','acknowledged','verifying','concluded','reviewed','closed'], ['assigned','acknowledged','verifying','concluded','reviewed','closed'])`;
  const hours = `if(esc, [1, 2, 3, 5, 20, 30, 40], [1, 3, 5, 20, 30, 40])`;
  await store.command(
    raw(`
    INSERT INTO warning_events (id, warning_id, seq, type, from_state, to_state, actor, role, at, assignee, conclusion, escalated, institution_id, county, payload, raised_at, rule_id, severity)
    SELECT concat(wid, '#', toString(s)) AS id, wid AS warning_id, s AS seq, ev_type AS type, ev_from AS from_state, ev_to AS to_state,
      multiIf(ev_type = 'escalated', 'system', ev_type IN ('assigned', 'reviewed', 'closed'), 'leader1', who) AS actor,
      multiIf(ev_type = 'escalated', 'system', ev_type IN ('assigned', 'reviewed', 'closed'), 'supervisor', 'auditor') AS role,
      raised + toIntervalHour(ev_hours) AS at, who AS assignee,
      if(ev_type IN ('concluded', 'reviewed', 'closed'), if(cityHash64(wid) % 10 < 7, 'confirmed', 'false_alarm'), '') AS conclusion,
      toUInt8(esc AND s >= 2) AS escalated, inst AS institution_id, cty AS county, '' AS payload, raised AS raised_at, rid AS rule_id, sev AS severity
    FROM (
      -- Source columns under names of their own: an alias in the outer SELECT (id, type, assignee,
      -- …) would otherwise shadow the column of the same name in every expression there.
      SELECT wid, raised, inst, cty, rid, sev, who, esc, s, ${types}[s] AS ev_type, ${froms}[s] AS ev_from, ${tos}[s] AS ev_to, ${hours}[s] AS ev_hours
      FROM (
        SELECT id AS wid, raised_at AS raised, institution_id AS inst, county AS cty, rule_id AS rid, severity AS sev,
          concat('auditor', toString(cityHash64(id, 12) % 40)) AS who,
          if(raised_at < fromUnixTimestamp64Milli(${recentFrom}, 'UTC'), 6, [0, 0, 0, 1, 1, 1, 2, 2, 3, 3][cityHash64(id, 11) % 10 + 1]) AS steps,
          -- escalated only once assigned (a warning without events has none)
          steps > 0 AND if(raised_at < fromUnixTimestamp64Milli(${recentFrom}, 'UTC'), cityHash64(id, 13) % 20 = 0, cityHash64(id, 13) % 10 = 0) AS esc,
          steps + toUInt32(esc) AS n
        FROM warnings
      ) ARRAY JOIN range(1, toUInt32(n) + 1) AS s
      WHERE n > 0
    )`),
  );
  await store.command(
    raw(`
    INSERT INTO evaluation_ledger (id, month, institution_id, warning_id, rule_id, severity, category, points, kind, reverses, at, reason)
    SELECT concat('L', w.id) AS id, formatDateTime(addHours(w.occurred_at, 8), '%Y-%m') AS month, w.institution_id, w.id AS warning_id, w.rule_id, w.severity,
      'compliance' AS category, multiIf(w.severity = 'high', 3, w.severity = 'medium', 2, 1) AS points, 'deduct' AS kind, '' AS reverses, e.at, '核查属实，扣分' AS reason
    FROM warnings AS w INNER JOIN (SELECT warning_id, at FROM warning_events WHERE conclusion = 'confirmed' AND type = 'concluded') AS e ON e.warning_id = w.id`),
  );
}

const existing = await count('transactions');
let buildSeconds = null;
if (REUSE && existing === ROWS) {
  log(`reusing ${existing.toLocaleString('en-US')} transactions in ${DIR}`);
  // A store synthesised before the warnings pointed at their transactions (an alias made every
  // transaction_id the warning's own id, 'W' + the transaction's) is mended in place.
  const [dangling] = await store.query(raw(`SELECT count() AS n FROM warnings WHERE startsWith(transaction_id, 'WT')`));
  if (Number(dangling.n) > 0) {
    log(`  pointing ${Number(dangling.n).toLocaleString('en-US')} warnings at their transactions …`);
    await store.command(raw(`ALTER TABLE warnings UPDATE transaction_id = substring(transaction_id, 2) WHERE startsWith(transaction_id, 'WT') SETTINGS mutations_sync = 1`));
  }
  // A store synthesised before the warnings had their whole lives gets them now.
  const [life] = await store.query(
    raw(`SELECT countIf(type = 'closed') AS closed, countIf(type = 'closed' AND warning_id IN (SELECT id FROM warnings)) AS linked,
      countIf(type = 'escalated') AS escalations FROM warning_events`),
  );
  // (and a store whose escalations were only a flag on other events, without an escalation event)
  if (Number(life.closed) === 0 || Number(life.linked) < Number(life.closed) || Number(life.escalations) === 0) {
    log('  synthesising the warnings\' workflow events …');
    await synthesiseWorkflow();
  }
}
else {
  log(`synthesising ${ROWS.toLocaleString('en-US')} transactions into ${DIR} …`);
  buildSeconds = await synthesise();
}
const sizes = {
  transactions: await count('transactions'),
  warnings: await count('warnings'),
  warningEvents: await count('warning_events'),
  ledger: await count('evaluation_ledger'),
};

// ---- the service as the hub builds it (registry: the synthetic institutions) -----------------
const quiet = { info() {}, warn() {}, error: (o) => console.error(o), debug() {} };
const evaluation = new EvaluationService({
  store,
  registry: { listInstitutions: () => institutions, institution: (id) => institutions.find((i) => i.id === id) },
  redis,
  prefix: `jg-bench-scale-${process.pid}`,
  config: DEFAULT_EVALUATION,
  intervalMs: 3_600_000,
  log: quiet,
});

const loadAvg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
async function timeCalls(name, route, fn) {
  await fn(0); // first call: caches, part loading
  const ms = [];
  for (let i = 1; i <= CALLS; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  const row = { name, route, calls: CALLS, p50: quantile(ms, 0.5), p95: quantile(ms, 0.95), max: Math.max(...ms) };
  log(`  ${name.padEnd(18)} p50 ${row.p50.toFixed(0).padStart(6)} ms   p95 ${row.p95.toFixed(0).padStart(6)} ms   (${route})`);
  return row;
}

// Mutations a migration started (MATERIALIZE PROJECTION over stored parts) finish first.
{
  const t = performance.now();
  while (Number((await store.query(raw(`SELECT count() AS n FROM system.mutations WHERE NOT is_done`)))[0].n) > 0) await new Promise((r) => setTimeout(r, 1000));
  if (appliedNow.length > 0) log(`migrations applied now: ${appliedNow.join(', ')} (mutations done after ${((performance.now() - t) / 1000).toFixed(0)} s)`);
}
const applied = (await store.query(raw(`SELECT name FROM schema_migrations FINAL ORDER BY version`))).map((r) => r.name);
const load0 = loadAvg();
log(`load average ${load0}`);
const month = MONTHS.at(-1);
// Refresh every month once (the background job), timed per month.
const refreshMs = [];
for (const m of MONTHS) {
  const t = performance.now();
  await evaluation.serial(() => evaluation.refreshUnlocked(m));
  refreshMs.push(performance.now() - t);
}
log(`  score refresh      p50 ${quantile(refreshMs, 0.5).toFixed(0).padStart(6)} ms   max ${Math.max(...refreshMs).toFixed(0)} ms per month (background job)`);

// Varied targets: the big institutions (most rows) and a spread of others.
const target = (i) => institutions[i % 5 === 0 ? i % 10 : (i * 197) % N_INST];
const countyOf = (i) => COUNTIES[(i * 7) % COUNTIES.length];
const monthAt = (i) => MONTHS[MONTHS.length - 1 - (i % 3)];
const rows = [];
rows.push(await timeCalls('city overview', 'GET /api/v1/evaluation/scores?month', (i) => evaluation.scores(monthAt(i))));
rows.push(await timeCalls('county page', 'GET /api/v1/evaluation/scores?month&county', (i) => evaluation.scores(monthAt(i), { county: countyOf(i) })));
rows.push(await timeCalls('monthly ranking', 'GET /api/v1/evaluation/scores?month&type', (i) => evaluation.scores(monthAt(i), { type: TYPES[i % TYPES.length] })));
// The data's whole quarters (2026-Q1 … Q3), as a leader and as a county reader asks for them.
const QUARTERS = ['2026-Q1', '2026-Q2', '2026-Q3'];
rows.push(await timeCalls('quarterly grades', 'GET /api/v1/evaluation/quarters?quarter', (i) => evaluation.quarter(QUARTERS[i % QUARTERS.length])));
rows.push(await timeCalls('quarterly grades, county', 'GET /api/v1/evaluation/quarters?quarter&county', (i) => evaluation.quarter(QUARTERS[i % QUARTERS.length], { county: countyOf(i) })));
rows.push(await timeCalls('12-month trend', 'GET /api/v1/evaluation/institutions/:id/trend', (i) => evaluation.trend(target(i).id, month, 12)));
rows.push(
  await timeCalls('volumes', 'GET /api/v1/evaluation/institutions/:id/volumes', (i) => {
    const inst = target(i);
    const peers = institutions.filter((p) => p.type === inst.type && p.county === inst.county);
    return institutionVolumes(store, { institution: inst, month: monthAt(i), peers, peerCounty: inst.county });
  }),
);
rows.push(await timeCalls('deductions', 'GET /api/v1/evaluation/institutions/:id/deductions', (i) => evaluation.deductions(target(i).id, monthAt(i))));
// The wall's calls read one of the last five days of the newest month (local days, [from, to)).
const recentDay = (i) => {
  const from = monthRange(month).to - (1 + (i % 5)) * 86_400_000;
  return { from, to: from + 86_400_000 };
};
rows.push(
  await timeCalls('wall statistics', 'wall KPIs, map and business by type (repo.dayStats)', (i) => {
    const { from, to } = recentDay(i);
    return dayStats(store, from, to);
  }),
);
// The rest of a wall statistics round (hub/src/live/wall.ts stats()): the collectors' warnings and
// the pipeline's lag.
rows.push(
  await timeCalls('wall: lag, collectors', 'wall: pipeline lag p95, collector warnings of the day', (i) => {
    const { from, to } = recentDay(i);
    return Promise.all([pipelineLagP95(store, from + 12 * 3_600_000, 5 * 60_000), collectorHealth(store, from, to, 5)]);
  }),
);
rows.push(await timeCalls('health totals', '/healthz, /metrics (repo.totals)', () => totals(store)));
// Automatic assignment, every half second while warnings arrive (workflow/service.ts): reading
// a round's fresh warnings back by id — by id alone, and with their institutions as assignment
// knows them — and the open warnings per auditor (folded from every workflow event).
{
  const sample = await store.query(raw(`SELECT id, institution_id FROM warnings ORDER BY raised_at DESC LIMIT 400`));
  const round = (i) => sample.slice((i * 20) % 380, ((i * 20) % 380) + 20);
  rows.push(await timeCalls('assign: by id', 'automatic assignment, warnings by id alone', (i) => warningsByIds(store, round(i).map((w) => w.id))));
  rows.push(
    await timeCalls('assign: by institution', 'automatic assignment, warnings by id and institution', (i) =>
      warningsByIds(
        store,
        round(i).map((w) => w.id),
        round(i).map((w) => w.institution_id),
      ),
    ),
  );
  rows.push(await timeCalls('assign: open load', 'automatic assignment, open warnings per auditor', () => openLoad(store)));
}
// The warning page's transaction, the auditors' workbench and the warning list (GET
// /api/v1/warnings, 50 a page), the workflow's periodic sweep and the wall's workflow figures
// (hub/bench/warning-calls.mjs, shared with hub/bench/warning-lists-ab.mjs).
{
  const behind = await store.query(raw(`SELECT transaction_id, institution_id, toUnixTimestamp64Milli(captured_at) AS cap FROM warnings ORDER BY raised_at DESC LIMIT 50`));
  const calls = warningCalls(store, { countyOf, institutionOf: (i) => ({ id: target(i).id, ...monthRange(monthAt(i)) }), behind, end: TO, recentDay });
  const r = { escalationCandidates, listWarningsWithState, transactionById, unassignedWarnings, wallWorkflowStats, overdueOpen };
  for (const [name, { what, call }] of Object.entries(calls)) rows.push(await timeCalls(name, what, (i) => call(r, i)));
  // The deduction ledger's reconcile (background, after conclusions and every interval): the full
  // one (at start, hourly, on request) reads every warning with a workflow state; in between only
  // the warnings whose state changed lately. The synthesised ledger is in step, so both append
  // nothing and time the reading.
  rows.push(await timeCalls('ledger: full', 'evaluation reconcile, every warning (first after start, hourly, on request)', () => evaluation.reconcile({ full: true })));
  rows.push(await timeCalls('ledger: changes', 'evaluation reconcile between full runs (after conclusions)', () => evaluation.reconcile()));
}
const load1 = loadAvg();

const parts = await store.query(
  raw(`SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table ORDER BY bytes DESC`),
);
const disk = parts.map((p) => ({ table: p.table, rows: Number(p.rows), bytes: Number(p.bytes), parts: Number(p.parts) }));
const totalBytes = disk.reduce((s, d) => s + d.bytes, 0);
log(`  disk: ${(totalBytes / 2 ** 30).toFixed(2)} GiB active parts — ${disk.slice(0, 6).map((d) => `${d.table} ${(d.bytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);
log(`load average ${load1}`);

const result = { rows: ROWS, migrations: applied, sizes, buildSeconds, refreshMsPerMonth: { p50: quantile(refreshMs, 0.5), max: Math.max(...refreshMs) }, calls: rows, disk, diskBytes: totalBytes, load: { before: load0, after: load1 }, node: process.version, when: new Date().toISOString() };
if (JSON_OUT) console.log(JSON.stringify(result, null, 2));
await evaluation.close();
await store.close();
await redis.quit();
