/**
 * # Rotating the hub's pseudonym keyring — design note
 *
 * `jianguan-hub pseudonyms rotate` appends a fresh layer s_{n+1} to the keyring and rewrites
 * every stored hash v as L_{n+1}(v) = HMAC-SHA256(s_{n+1}, detachment + "|" + v). Because the
 * hub computes stored = L_n(…L_1(h_c)), the rewritten rows equal what the grown keyring gives new
 * arrivals, so joins (same person across old and new rows, registry staff against transactions,
 * person lists) survive. See pseudonyms.ts for the layering itself.
 *
 * What is rewritten (everything that holds a hub-form hash):
 *   transactions   subject_hash, agent_hash, owner_hash, licence_hash — one ALTER … UPDATE, the
 *                  HMAC computed by ClickHouse itself (SHA256 over the precomputed ipad/opad
 *                  blocks), so no row leaves the store;
 *   dead_letters   payload (JSON; the HASH_PATHS only, as ingest applied the layer);
 *   decisions      transaction (JSON);
 *   registry_versions  staff idHash; person-list entries (their key changes, so the rows are
 *                  inserted under the new key and the old key's rows deleted);
 *   registry_requests  items (pending requests are applied later and must carry the new form).
 * Not rewritten: held batches (sealed, collector form inside: they get the whole chain when
 * released) and rule state in Redis (keys derived from hashes; windows keyed by a person start
 * over — see docs/security.md).
 *
 * Order and failure: the grown keyring is first written next to the keyring as `<file>.next`
 * (0600, fsynced), then the store is rewritten, then `.next` replaces the keyring. A crash before
 * the rename leaves the old keyring in force and `.next` holding the layer the store may already
 * partly carry: the command refuses to run while `.next` exists (restore the store and the keyring
 * from the backup taken before, then delete it). Every hub of the detachment must be stopped:
 * nothing may be ingested under the old keyring during or after the rewrite.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { errorMessage, HubError, isHubError } from './errors.js';
import { Keyring, keyringFile, readKeyring, rekeyPaths, rekeyStoredValue } from './pseudonyms.js';
import { renameDurableSync, writeFileDurableSync } from './durable.js';
import { migrate } from './store/migrate.js';
import { param, sql, UNSAFE_RAW_SQL } from './store/sql.js';
import { openStore, type Store } from './store/store.js';
import { describeIssues } from './validation/issues.js';

/** Rows rewritten per table, for the command's report. */
export interface RotationReport {
  detachment: string;
  layer: string;
  layers: string[];
  transactions: number;
  deadLetters: number;
  decisions: number;
  registryVersions: number;
  registryRequests: number;
}

const HASH_RE = '^[0-9a-f]{16,128}$';
const PERSON_LISTS = new Set(['person_black', 'agent_red']);

/** `secret` as HMAC-SHA256's inner and outer key blocks (hex), for ClickHouse to compute the layer. */
function hmacBlocks(secretHex: string): { ipad: string; opad: string } {
  const k = Buffer.alloc(64);
  Buffer.from(secretHex, 'hex').copy(k); // 32–64 bytes: never longer than the block
  const x = (b: number) => Buffer.from(k.map((v) => v ^ b)).toString('hex');
  return { ipad: x(0x36), opad: x(0x5c) };
}

/** Waits until ClickHouse has applied every mutation of `table` (ALTER … UPDATE/DELETE run in the background). */
async function mutationsDone(store: Store, table: string): Promise<void> {
  for (let i = 0; ; i++) {
    const rows = await store.query<{ n: string; failed: string }>(sql`
      SELECT count() AS n, any(latest_fail_reason) AS failed FROM system.mutations
      WHERE database = currentDatabase() AND table = ${param.String(table)} AND is_done = 0`);
    if (Number(rows[0]?.n ?? 0) === 0) return;
    if (rows[0]?.failed) throw new HubError('MIGRATION_FAILED', `${table}: ${rows[0].failed}`);
    if (i > 6000) throw new HubError('MIGRATION_FAILED', `${table}: mutations still running after 10 min`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Rewrites `column` where the new value differs, keyed by `keyExpr` (one mutation per chunk). */
async function rewriteColumn(store: Store, table: string, keyExpr: string, column: string, changed: Map<string, string>): Promise<void> {
  const entries = [...changed];
  for (let i = 0; i < entries.length; i += 2000) {
    const part = entries.slice(i, i + 2000);
    const keys = part.map(([k]) => k);
    const values = part.map(([, v]) => v);
    // Table, column and key expression are this module's constants, never input.
    await store.command(sql`ALTER TABLE ${UNSAFE_RAW_SQL(table)} UPDATE ${UNSAFE_RAW_SQL(column)} = transform(${UNSAFE_RAW_SQL(keyExpr)}, ${param.ArrayString(keys)}, ${param.ArrayString(values)}, ${UNSAFE_RAW_SQL(column)}) WHERE has(${param.ArrayString(keys)}, ${UNSAFE_RAW_SQL(keyExpr)})`);
    await mutationsDone(store, table);
  }
}

/**
 * Applies one new layer (`secret`) to every stored hub-form hash. Exported for the test; the
 * command wraps it with the keyring file handling.
 */
export async function rewriteStore(store: Store, detachment: string, secret: string): Promise<Omit<RotationReport, 'detachment' | 'layer' | 'layers'>> {
  const next = (v: string) => rekeyStoredValue(v, secret, detachment);
  const json = (text: string, f: (v: unknown) => unknown): string | undefined => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return undefined; // a dead letter that was never JSON holds no hash at a known path
    }
    const out = JSON.stringify(f(v));
    return out === text ? undefined : out;
  };

  // transactions: in ClickHouse, row by row, without reading anything out.
  const [{ n: txCount } = { n: '0' }] = await store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions`);
  const { ipad, opad } = hmacBlocks(secret);
  const layerSql = (col: string) =>
    sql`if(match(${UNSAFE_RAW_SQL(col)}, ${param.String(HASH_RE)}), lower(hex(SHA256(concat(unhex(${param.String(opad)}), SHA256(concat(unhex(${param.String(ipad)}), ${param.String(`${detachment}|`)}, ${UNSAFE_RAW_SQL(col)})))))), ${UNSAFE_RAW_SQL(col)})`;
  await store.command(
    sql`ALTER TABLE transactions UPDATE subject_hash = ${layerSql('subject_hash')}, agent_hash = ${layerSql('agent_hash')}, owner_hash = ${layerSql('owner_hash')}, licence_hash = ${layerSql('licence_hash')} WHERE 1`,
  );
  await mutationsDone(store, 'transactions');

  // JSON payloads: read, rewrite the known paths, write back what changed.
  const dl = await store.query<{ k: string; payload: string }>(sql`SELECT record_key AS k, payload FROM dead_letters FINAL`);
  const dlChanged = new Map<string, string>();
  for (const r of dl) {
    const out = json(r.payload, (v) => rekeyPaths(v, next));
    if (out !== undefined) dlChanged.set(r.k, out);
  }
  await rewriteColumn(store, 'dead_letters', 'record_key', 'payload', dlChanged);

  const dec = await store.query<{ k: string; t: string }>(sql`SELECT request_id AS k, transaction AS t FROM decisions FINAL`);
  const decChanged = new Map<string, string>();
  for (const r of dec) {
    const out = json(r.t, (v) => rekeyPaths(v, next));
    if (out !== undefined) decChanged.set(r.k, out);
  }
  await rewriteColumn(store, 'decisions', 'request_id', 'transaction', decChanged);

  // Registry data: staff identity and person-list keys.
  const registryData = (entity: unknown, data: unknown): unknown => {
    if (typeof data !== 'object' || data === null) return data;
    const d = data as Record<string, unknown>;
    if (entity === 'staff' && typeof d.idHash === 'string') return { ...d, idHash: next(d.idHash) };
    if (entity === 'listing' && PERSON_LISTS.has(String(d.list)) && typeof d.key === 'string') return { ...d, key: next(d.key) };
    return data;
  };
  const versions = await store.query<Record<string, unknown>>(sql`
    SELECT entity, key, version, toUnixTimestamp64Milli(valid_from) AS valid_from, if(isNull(valid_to), NULL, toUnixTimestamp64Milli(assumeNotNull(valid_to))) AS valid_to,
      retired, data, request_id, approved_by, toUnixTimestamp64Milli(revision) AS revision
    FROM registry_versions FINAL WHERE entity IN ('staff', 'listing')`);
  const dataChanged = new Map<string, string>();
  const moved: Record<string, unknown>[] = [];
  const movedKeys = new Set<string>();
  for (const v of versions) {
    const out = json(String(v.data), (d) => registryData(v.entity, d));
    if (out === undefined) continue;
    if (v.entity === 'listing') {
      // The key is `list:hash` and part of the table's sorting key: a new row, the old one deleted.
      const d = JSON.parse(out) as { list: string; key: string };
      moved.push({ ...v, key: `${d.list}:${d.key}`, data: out, valid_from: Number(v.valid_from), valid_to: v.valid_to === null ? null : Number(v.valid_to), revision: Number(v.revision) });
      movedKeys.add(String(v.key));
    } else dataChanged.set(`${String(v.entity)}|${String(v.key)}|${String(v.version)}`, out);
  }
  await rewriteColumn(store, 'registry_versions', "concat(entity, '|', key, '|', toString(version))", 'data', dataChanged);
  if (moved.length) {
    await store.insert('registry_versions', moved);
    await store.command(sql`ALTER TABLE registry_versions DELETE WHERE entity = 'listing' AND has(${param.ArrayString([...movedKeys])}, key)`);
    await mutationsDone(store, 'registry_versions');
  }

  const reqs = await store.query<{ id: string; items: string }>(sql`SELECT id, items FROM registry_requests FINAL`);
  const reqChanged = new Map<string, string>();
  for (const r of reqs) {
    const out = json(r.items, (items) =>
      Array.isArray(items)
        ? items.map((it: Record<string, unknown>) => {
            const data = registryData(it.entity, it.data) as Record<string, unknown>;
            return it.entity === 'listing' && data !== it.data ? { ...it, key: `${String(data.list)}:${String(data.key)}`, data } : { ...it, data };
          })
        : items,
    );
    if (out !== undefined) reqChanged.set(r.id, out);
  }
  await rewriteColumn(store, 'registry_requests', 'id', 'items', reqChanged);

  return {
    transactions: Number(txCount),
    deadLetters: dlChanged.size,
    decisions: decChanged.size,
    registryVersions: dataChanged.size + moved.length,
    registryRequests: reqChanged.size,
  };
}


/** The keyring's pending file; refuses when an earlier rotation did not finish or there is no keyring. */
function assertRotatable(file: string): string {
  const pending = `${file}.next`;
  if (fs.existsSync(pending)) {
    throw new HubError('CONFIG_INVALID', `${pending} exists: an earlier rotation did not finish. Restore the store and ${file} from the backup taken before it, delete ${pending}, then rotate again`);
  }
  if (!fs.existsSync(file)) throw new HubError('CONFIG_INVALID', `no keyring at ${file} (set JG_PSEUDONYM_SECRET_FILE or JG_DATA_DIR as the hub has them)`);
  return pending;
}

/**
 * The command's work: grow the keyring in `file` by one layer and rewrite `store` with it.
 * `layerId` defaults to k<n+1>.
 */
export async function rotateKeyring(store: Store, file: string, opts: { layerId?: string } = {}): Promise<RotationReport> {
  const pending = assertRotatable(file);
  const parsed = Keyring.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new HubError('CONFIG_INVALID', `${file}: ${describeIssues(parsed.error)}`);
  const k = parsed.data;
  let n = k.layers.length + 1;
  while (k.layers.some((l) => l.id === `k${n}`)) n++;
  const id = opts.layerId ?? `k${n}`;
  if (k.layers.some((l) => l.id === id)) throw new HubError('CONFIG_INVALID', `layer id '${id}' is already in the keyring`);
  const grown = Keyring.parse({ ...k, layers: [...k.layers, { id, secret: crypto.randomBytes(32).toString('hex') }] });
  const secret = grown.layers[grown.layers.length - 1]!.secret;
  writeFileDurableSync(pending, `${JSON.stringify(grown, null, 2)}\n`);
  const counts = await rewriteStore(store, grown.detachment, secret);
  renameDurableSync(pending, file);
  return { detachment: grown.detachment, layer: id, layers: grown.layers.map((l) => l.id), ...counts };
}

export const PSEUDONYMS_USAGE = `  jianguan-hub pseudonyms rotate [--layer-id 层编号]
    为假名密钥环追加一层并改写库中全部已存摘要（先停止本支队全部中心服务并备份数据与密钥环）
    appends a layer to the hub's pseudonym keyring and rewrites every stored hash (stop every hub
    of the detachment and back up the store and the keyring first)
  jianguan-hub pseudonyms show   密钥环的支队与各层编号（不含密钥） / detachment and layer ids, never the secrets`;

/**
 * `jianguan-hub pseudonyms …` with the hub's JG_* settings. Exit codes: 0 done, 1 refused (bad
 * arguments, keyring problems, an unfinished earlier rotation), 2 the store could not be reached.
 */
export async function pseudonymsCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { 'layer-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const [command, ...rest] = positionals;
  if (values.help || (command !== 'rotate' && command !== 'show') || rest.length) {
    process.stderr.write(`用法 / usage:\n${PSEUDONYMS_USAGE}\n`);
    return values.help ? 0 : 1;
  }
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const refuse = (e: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'error', event: 'pseudonyms.refused', code: isHubError(e) ? e.code : 'PSEUDONYMS_FAILED', message: errorMessage(e) })}\n`);
    return 1;
  };
  let config;
  try {
    config = loadConfig(env);
    if (config.pseudonymSecrets !== undefined) throw new HubError('CONFIG_INVALID', 'the keyring is given in the configuration, not a file: nothing to rotate');
    if (command === 'show') {
      const k = readKeyring(config);
      out({ event: 'pseudonyms.keyring', file: keyringFile(config), detachment: k.detachment, layers: k.layers.map((l) => l.id) });
      return 0;
    }
    // Before touching the store: an unfinished rotation must be cleaned up by hand first.
    assertRotatable(keyringFile(config));
  } catch (e) {
    return refuse(e);
  }
  let store;
  try {
    store = await openStore(config);
    await migrate(store);
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ level: 'error', event: 'pseudonyms.store_unavailable', message: errorMessage(e) })}\n`);
    return 2;
  }
  try {
    const report = await rotateKeyring(store, keyringFile(config), values['layer-id'] === undefined ? {} : { layerId: values['layer-id'] });
    out({ event: 'pseudonyms.rotated', ...report });
    return 0;
  } catch (e) {
    return refuse(e);
  } finally {
    await store.close();
  }
}
