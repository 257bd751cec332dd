/**
 * The store: one small interface, two drivers. Both speak ClickHouse SQL through
 * @clickhouse/client; they differ only in the connection — chDB in-process (embedded default,
 * data under JG_DATA_DIR/chdb) or a ClickHouse server over HTTP (JG_CLICKHOUSE_URL).
 *
 * chDB binds one data directory per process, so in embedded mode everything that touches the
 * store must live in the hub process — and in its main thread: the evaluation threads
 * (jobs/eval-threads.ts) hand their rows to it instead of writing themselves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { HubConfig } from '../config.js';
import { HubError, errorMessage } from '../errors.js';
import type { SqlQuery } from './sql.js';

export type StoreDriver = 'chdb' | 'clickhouse';

export interface Store {
  readonly driver: StoreDriver;
  readonly database: string;
  query<T = Record<string, unknown>>(q: SqlQuery): Promise<T[]>;
  command(q: SqlQuery): Promise<void>;
  /** JSONEachRow insert of plain objects. Times as epoch milliseconds. */
  insert(table: string, rows: readonly object[]): Promise<void>;
  /**
   * Insert of rows already encoded: JSONEachRow (`encodeRows`, one JSON object per line), or —
   * with `columns` — JSONCompactEachRow, one JSON array per line holding those columns' values in
   * that order (no key names to write or parse: the transactions of the hot path). The hot path
   * encodes where the rows are built (an evaluation thread) so the store's thread only hands the
   * text over; chDB parses it natively without a JS object tree.
   */
  insertText(table: string, text: InsertText, columns?: readonly string[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const CLICKHOUSE_SETTINGS = {
  // Wait for the insert to be written before returning: an ack must mean durable.
  wait_end_of_query: 1,
  date_time_input_format: 'best_effort',
} as const;

/**
 * Rows for `insertText`: a string, or its UTF-8 bytes (the hot path writes each row's JSON
 * straight into bytes, store/line-buffer.ts: no large string to build, flatten and convert again
 * when it is handed to the engine, which takes bytes as they are).
 */
export type InsertText = string | Uint8Array;

/** Called for statements slower than `config.slowQueryMs` (named telemetry, no log dependency here). */
export type SlowStatementListener = (statement: string, ms: number) => void;

/** Rows as JSONEachRow text: what `Store.insertText` takes. */
export function encodeRows(rows: readonly object[]): string {
  let text = '';
  for (const r of rows) text += `${JSON.stringify(r)}\n`;
  return text;
}

/** What `insertText` needs of the connection: chDB's raw insert when embedded, else the client. */
type RawInsert = (table: string, text: InsertText, columns?: readonly string[]) => Promise<unknown>;

/**
 * Rows already encoded, sent to a ClickHouse server as the body of their INSERT. Not through the
 * client's `insert`: that takes rows (objects, or an object-mode stream whose every chunk it
 * JSON-encodes) for the JSON formats, and would send encoded text as one quoted JSON string.
 * `table` and `columns` are the hub's own identifiers, never input.
 */
async function serverRawInsert(client: ClickHouseClient, table: string, text: InsertText, columns?: readonly string[]): Promise<void> {
  const { format } = formatOf(columns);
  const body = Readable.from([typeof text === 'string' ? Buffer.from(text, 'utf8') : text], { objectMode: false });
  const res = await client.exec({ query: `INSERT INTO ${table}${columns ? ` (${columns.join(', ')})` : ''} FORMAT ${format}`, values: body });
  // The answer is empty; reading it to the end returns the connection to the pool.
  for await (const _ of res.stream) void _;
}

const formatOf = (columns?: readonly string[]) => (columns ? { format: 'JSONCompactEachRow' as const, columns: [...columns] as [string, ...string[]] } : { format: 'JSONEachRow' as const });

/**
 * The clients a store uses. A chDB connection runs one statement at a time, so with a single one
 * every insert waited behind the wall's and the API's aggregates (measured: 2–5 ms inserts taking
 * 100 ms and more under load). Embedded, the store therefore opens several connections to the same
 * data directory — they share one engine and see each other's committed writes — and keeps
 * writes (inserts, DDL, mutations) apart from reads: `writers` for the former, `readers` for the
 * latter, each statement on the least busy one. A server client pools HTTP connections itself.
 */
interface Clients {
  writers: Lane[];
  readers: Lane[];
  close(): Promise<void>;
}

interface Lane {
  client: ClickHouseClient;
  rawInsert: RawInsert;
  busy: number;
}

function leastBusy(lanes: Lane[]): Lane {
  let best = lanes[0]!;
  for (const l of lanes) if (l.busy < best.busy) best = l;
  return best;
}

export async function openStore(config: HubConfig, onSlow?: SlowStatementListener): Promise<Store> {
  let clients: Clients;
  let driver: StoreDriver;
  let database = config.clickhouseDatabase;
  try {
    if (config.clickhouseUrl) {
      driver = 'clickhouse';
      const bootstrap = createClient({ url: config.clickhouseUrl, username: config.clickhouseUser, password: config.clickhousePassword });
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
      await bootstrap.close();
      const client = createClient({
        url: config.clickhouseUrl,
        username: config.clickhouseUser,
        password: config.clickhousePassword,
        database,
        clickhouse_settings: CLICKHOUSE_SETTINGS,
      });
      const lane: Lane = { client, busy: 0, rawInsert: (table, text, columns) => serverRawInsert(client, table, text, columns) };
      clients = { writers: [lane], readers: [lane], close: () => client.close() };
    } else {
      driver = 'chdb';
      const dir = path.join(config.dataDir, 'chdb');
      fs.mkdirSync(dir, { recursive: true });
      // Loaded lazily: a server deployment does not need the 500 MB engine on disk.
      const { createChdbConnection } = await import('chdb/connection');
      const open = (): Lane => {
        const connection = createChdbConnection({ path: dir });
        return {
          client: createClient({ connection: connection as never }),
          busy: 0,
          // chDB's raw insert hands the text to the engine as it is (no concatenation with the
          // statement, no re-encoding); it returns only after the rows are written.
          rawInsert: (table, text, columns) => connection.chdb.rawInsert({ table, values: text, ...formatOf(columns), settings: { date_time_input_format: 'best_effort' } }),
        };
      };
      const writers = Array.from({ length: config.chdbWriteConnections }, open);
      const readers = Array.from({ length: config.chdbReadConnections }, open);
      clients = { writers, readers, close: async () => void (await Promise.all([...writers, ...readers].map((l) => l.client.close()))) };
      // The chDB connection ignores the client's `database` option; the data directory is
      // ours alone, so the embedded store simply uses `default`.
      database = 'default';
    }
  } catch (e) {
    throw new HubError('STORE_UNAVAILABLE', errorMessage(e), { cause: e });
  }
  return wrap(clients, driver, database, config.slowQueryMs, onSlow);
}

function wrap(clients: Clients, driver: StoreDriver, database: string, slowMs: number, onSlow?: SlowStatementListener): Store {
  const timed = async <T>(statement: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      const ms = performance.now() - started;
      if (onSlow && ms >= slowMs) onSlow(statement.replace(/\s+/g, ' ').slice(0, 160), Math.round(ms));
    }
  };
  const on = async <T>(lanes: Lane[], run: (lane: Lane) => Promise<T>): Promise<T> => {
    const lane = leastBusy(lanes);
    lane.busy += 1;
    try {
      return await run(lane);
    } finally {
      lane.busy -= 1;
    }
  };
  /**
   * One insert of JSONEachRow text (or JSONCompactEachRow of `columns`), produced by `encode`
   * inside the try so that rows that cannot be encoded fail like the insert; `what` names it in
   * the slow log.
   */
  const insertRaw = async (table: string, encode: () => InsertText, what: string, columns?: readonly string[]): Promise<void> => {
    try {
      const text = encode();
      await timed(`INSERT INTO ${table} (${what})`, () => on(clients.writers, (lane) => lane.rawInsert(table, text, columns)));
    } catch (e) {
      throw new HubError('STORE_UNAVAILABLE', `insert into ${table}: ${errorMessage(e)}`, { cause: e });
    }
  };
  return {
    driver,
    database,
    async query<T>(q: SqlQuery): Promise<T[]> {
      try {
        return await timed(q.sql, async () => {
          const rs = await on(clients.readers, ({ client }) => client.query({
            query: q.sql,
            query_params: q.params as Record<string, unknown>,
            format: 'JSONEachRow',
          }));
          return (await rs.json()) as T[];
        });
      } catch (e) {
        throw new HubError('STORE_UNAVAILABLE', `${errorMessage(e)} — in: ${q.sql.slice(0, 200)}`, { cause: e });
      }
    },
    async command(q: SqlQuery): Promise<void> {
      try {
        await timed(q.sql, () => on(clients.writers, ({ client }) => client.command({ query: q.sql, query_params: q.params as Record<string, unknown> })));
      } catch (e) {
        throw new HubError('STORE_UNAVAILABLE', `${errorMessage(e)} — in: ${q.sql.slice(0, 200)}`, { cause: e });
      }
    },
    // Rows are encoded here and handed over as text, like insertText's: the client's own
    // JSONEachRow path streams them through its encoder object by object on this thread (the
    // decision log's inserts spent more in that encoder than in JSON.stringify).
    insert: async (table: string, rows: readonly object[]): Promise<void> => {
      if (rows.length > 0) await insertRaw(table, () => encodeRows(rows), `${rows.length} rows`);
    },
    insertText: async (table: string, text: InsertText, columns?: readonly string[]): Promise<void> => {
      if (text.length > 0) await insertRaw(table, () => text, 'text', columns);
    },
    async ping() {
      try {
        const r = await on(clients.readers, ({ client }) => client.ping());
        return r.success;
      } catch {
        return false;
      }
    },
    close: () => clients.close(),
  };
}
