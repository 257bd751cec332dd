/**
 * One way to declare a table export: the CSV and XLSX routes of a list, with the same auth,
 * scope and query, each admitted by the table-job gate (TOO_MANY_JOBS), built off the event
 * loop (CSV in time slices, XLSX in the table worker) and sent with a Chinese file name.
 *
 *   defineExportRoute(app, {
 *     url: '/api/v1/warnings', tags: ['预警', '导出'], summary: (f) => `导出预警清单（${f.toUpperCase()}）`,
 *     auth: WARNING_READERS, scope: 'list', query: WarningListQuery,
 *     columns: warningColumns, load: async (req) => ({ name: '预警清单', rows: … }),
 *   });
 *   → GET /api/v1/warnings.csv and GET /api/v1/warnings.xlsx
 *
 * With `formatIn: 'query'` there is one route at `url` taking `?format=csv|xlsx` (default csv).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize, type Role, type RouteScope } from '../http/access.js';
import { HubError } from '../errors.js';
import { defineRoute } from '../http/define.js';
import { tableJobsOf } from './table-jobs.js';
import { EXPORT_CONTENT_TYPES, toCsv, xlsxCells, xlsxColumns, type Column, type ExportFormat } from './table.js';

type Out<T> = T extends z.ZodType ? z.output<T> : unknown;

export type ExportRequest<Q, P> = FastifyRequest<{ Querystring: Out<Q>; Params: Out<P>; Body: unknown }>;

export interface ExportRouteDef<Q extends z.ZodObject | undefined, P extends z.ZodType | undefined, T> {
  /** Without extension: routes are `${url}.csv` and `${url}.xlsx` (or `url?format=` with formatIn 'query'). */
  url: string;
  /** @defaultValue 'extension' */
  formatIn?: 'extension' | 'query';
  tags: string[];
  summary: string | ((format: ExportFormat) => string);
  auth: readonly Role[];
  scope: RouteScope;
  query?: Q;
  params?: P;
  /** The columns, or a function giving them per request (headers that depend on live data). */
  columns: readonly Column<T>[] | (() => readonly Column<T>[]);
  /**
   * Authorises and loads the rows; `name` is the file's base name (also the XLSX sheet name), and
   * `columns`, when given, replaces the route's (a sheet whose columns depend on what was loaded).
   */
  load: (req: ExportRequest<Q, P>, format: ExportFormat) => Promise<{ name: string; rows: readonly T[]; columns?: readonly Column<T>[] }>;
}

const FORMATS = ['csv', 'xlsx'] as const;

export function defineExportRoute<Q extends z.ZodObject | undefined = undefined, P extends z.ZodType | undefined = undefined, T = unknown>(
  app: FastifyInstance,
  def: ExportRouteDef<Q, P, T>,
): void {
  const jobs = tableJobsOf(app);
  const send = async (req: ExportRequest<Q, P>, reply: FastifyReply, format: ExportFormat): Promise<FastifyReply> => {
    const release = jobs.admit(authorize(req, def.auth).userId);
    try {
      const loaded = await def.load(req, format);
      const { name, rows } = loaded;
      const columns = loaded.columns ?? (typeof def.columns === 'function' ? def.columns() : def.columns);
      const file = `${name}.${format}`;
      const disposition = `attachment; filename="export.${format}"; filename*=UTF-8''${encodeURIComponent(file)}`;
      if (format === 'csv') return await reply.type('text/csv; charset=utf-8').header('content-disposition', disposition).send(await toCsv(columns, rows));
      const cells = rows.length * columns.length;
      if (cells > jobs.limits.exportMaxXlsxCells) {
        throw new HubError('EXPORT_TOO_LARGE', `${rows.length} rows × ${columns.length} columns = ${cells} cells, XLSX limit ${jobs.limits.exportMaxXlsxCells}; narrow the filter or export CSV`);
      }
      const buf = await jobs.buildXlsx(name, xlsxColumns(columns), xlsxCells(columns, rows));
      return await reply.type(EXPORT_CONTENT_TYPES.xlsx).header('content-disposition', disposition).send(buf);
    } finally {
      release();
    }
  };

  const summaryOf = (f: ExportFormat) => (typeof def.summary === 'function' ? def.summary(f) : def.summary);
  if (def.formatIn === 'query') {
    const FormatQuery = z.object({ format: z.enum(FORMATS).default('csv') });
    const query = (def.query ? def.query.extend(FormatQuery.shape) : FormatQuery) as unknown as Q;
    defineRoute(app, {
      method: 'GET',
      url: def.url,
      tags: def.tags,
      summary: summaryOf('csv'),
      auth: def.auth,
      scope: def.scope,
      produces: [EXPORT_CONTENT_TYPES.csv, EXPORT_CONTENT_TYPES.xlsx],
      ...(query ? { query } : {}),
      ...(def.params ? { params: def.params } : {}),
      handler: async (req, reply) => send(req as ExportRequest<Q, P>, reply, (req.query as { format: ExportFormat }).format),
    });
    return;
  }
  for (const format of FORMATS) {
    defineRoute(app, {
      method: 'GET',
      url: `${def.url}.${format}`,
      tags: def.tags,
      summary: summaryOf(format),
      auth: def.auth,
      scope: def.scope,
      produces: [EXPORT_CONTENT_TYPES[format]],
      ...(def.query ? { query: def.query } : {}),
      ...(def.params ? { params: def.params } : {}),
      handler: async (req, reply) => send(req as ExportRequest<Q, P>, reply, format),
    });
  }
}
