/**
 * Worker-thread entry for table imports and exports (started by table-jobs.ts).
 *
 * Protocol, one task id per job; tasks may interleave:
 *   in:  {id, op: 'read-xlsx' | 'read-csv', data, limits}       → rows*, done {rows; a CSV's encoding, delimiter}
 *   in:  {id, op: 'write-xlsx', sheetName, columns} {id, op: 'rows', rows}* {id, op: 'end'} → done {data}
 *   out: {id, kind: 'rows', rows} | {id, kind: 'done', …} | {id, kind: 'error', code?, message}
 */
import { parentPort } from 'node:worker_threads';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { readCsvRows, readXlsxRows, XlsxBuilder } from './table-codec.js';

const Limits = z.object({
  maxBytes: z.number().int().positive(),
  maxUnzippedBytes: z.number().int().positive(),
  maxRows: z.number().int().positive(),
  maxColumns: z.number().int().positive(),
  maxCellChars: z.number().int().positive(),
});

// Validated here, in the worker, where the cost of checking every exported cell does not fall
// on the hub's event loop.
const Message = z.discriminatedUnion('op', [
  z.object({ id: z.number().int(), op: z.enum(['read-xlsx', 'read-csv']), data: z.instanceof(Uint8Array), limits: Limits }),
  z.object({ id: z.number().int(), op: z.literal('write-xlsx'), sheetName: z.string(), columns: z.array(z.object({ header: z.string(), width: z.number() })) }),
  z.object({ id: z.number().int(), op: z.literal('rows'), rows: z.array(z.array(z.union([z.string(), z.number()]))) }),
  z.object({ id: z.number().int(), op: z.literal('end') }),
]);

const port = parentPort;
if (!port) throw new Error('table-worker must run in a worker thread');

const builders = new Map<number, XlsxBuilder>();

function fail(id: number, e: unknown): void {
  builders.delete(id);
  if (e instanceof HubError) port!.postMessage({ id, kind: 'error', code: e.code, message: e.message });
  else port!.postMessage({ id, kind: 'error', message: e instanceof Error ? e.message : String(e) });
}

port.on('message', (raw: unknown) => {
  const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
  const parsed = Message.safeParse(raw);
  if (!parsed.success) return fail(id, new Error(`table worker: bad message: ${parsed.error.message}`));
  const m = parsed.data;
  switch (m.op) {
    case 'read-xlsx':
    case 'read-csv': {
      const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const sink = (rows: string[][]) => port.postMessage({ id: m.id, kind: 'rows', rows });
      const run =
        m.op === 'read-xlsx'
          ? readXlsxRows(data, m.limits, sink).then((rows) => ({ rows }))
          : Promise.resolve().then(() => readCsvRows(data, m.limits, sink));
      run.then(
        (r) => port.postMessage({ id: m.id, kind: 'done', ...r }),
        (e: unknown) => fail(m.id, e),
      );
      return;
    }
    case 'write-xlsx':
      try {
        builders.set(m.id, new XlsxBuilder(m.sheetName, m.columns));
      } catch (e) {
        fail(m.id, e);
      }
      return;
    case 'rows': {
      const b = builders.get(m.id);
      if (!b) return;
      try {
        b.add(m.rows);
      } catch (e) {
        fail(m.id, e);
      }
      return;
    }
    case 'end': {
      const b = builders.get(m.id);
      if (!b) return;
      builders.delete(m.id);
      b.finish().then(
        (buf) => {
          // Transferred, not copied: the file can be several megabytes.
          const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
          const own = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? data : data.slice();
          port.postMessage({ id: m.id, kind: 'done', data: own }, [own.buffer as ArrayBuffer]);
        },
        (e: unknown) => fail(m.id, e),
      );
      return;
    }
  }
});
