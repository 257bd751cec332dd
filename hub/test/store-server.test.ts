/**
 * The store's ClickHouse-server driver (JG_CLICKHOUSE_URL) against a stand-in HTTP server that
 * records what it is sent: rows already encoded — text or bytes, JSONEachRow or JSONCompactEachRow
 * of named columns — must reach the server as the body of their INSERT exactly as encoded (the
 * client's own insert would JSON-encode a text chunk into one quoted string), and a refusal by the
 * server comes back as a coded store error.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openStore, type Store } from '../src/store/store.js';

interface Seen {
  query: string;
  body: string;
}
const seen: Seen[] = [];
let refuse = false;
let server: http.Server;
let store: Store;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ query: url.searchParams.get('query') ?? body, body });
      if (refuse && url.searchParams.get('query')?.startsWith('INSERT')) {
        res.writeHead(500, { 'X-ClickHouse-Exception-Code': '27' });
        res.end('Code: 27. DB::Exception: Cannot parse input: expected \'[\' before: \'"x"\'. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Summary': '{}' });
      res.end('');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  store = await openStore(loadConfig({}, { clickhouseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
});

afterAll(async () => {
  await store?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const inserts = () => seen.filter((s) => s.query.startsWith('INSERT'));

describe('store on a ClickHouse server', () => {
  it('sends encoded rows as the INSERT body exactly as they are: text, bytes, objects, with and without columns', async () => {
    seen.length = 0;
    await store.insertText('transactions', '["c1:1",1]\n["c1:2","桂M12345"]\n', ['id', 'hphm']);
    await store.insertText('transactions', Buffer.from('["c1:3","换证"]\n', 'utf8'), ['id', 'hphm']);
    await store.insertText('warnings', '{"id":"w1"}\n');
    await store.insert('dead_letters', [{ record_key: 'b#0', reason: '字段缺失' }]);
    expect(inserts()).toEqual([
      { query: 'INSERT INTO transactions (id, hphm) FORMAT JSONCompactEachRow', body: '["c1:1",1]\n["c1:2","桂M12345"]\n' },
      { query: 'INSERT INTO transactions (id, hphm) FORMAT JSONCompactEachRow', body: '["c1:3","换证"]\n' },
      { query: 'INSERT INTO warnings FORMAT JSONEachRow', body: '{"id":"w1"}\n' },
      { query: 'INSERT INTO dead_letters FORMAT JSONEachRow', body: '{"record_key":"b#0","reason":"字段缺失"}\n' },
    ]);
  });

  it("reports the server's refusal as STORE_UNAVAILABLE with its message, and keeps working", async () => {
    refuse = true;
    const err = await store.insertText('transactions', '["x"]\n', ['id']).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    refuse = false;
    expect(err?.code).toBe('STORE_UNAVAILABLE');
    expect(err?.message).toMatch(/insert into transactions: .*Cannot parse input/);
    seen.length = 0;
    await store.insertText('transactions', '["c1:4"]\n', ['id']);
    expect(inserts()).toEqual([{ query: 'INSERT INTO transactions (id) FORMAT JSONCompactEachRow', body: '["c1:4"]\n' }]);
  });
});
