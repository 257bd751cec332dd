/**
 * Registry routes: current records (optionally "as of" a time), version history, change
 * requests with maker-checker (file → a different registry administrator approves or rejects),
 * and CSV/XLSX import as one all-or-nothing request with a row-by-row error report.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { authorize, inScope, scopedCounty, type Principal, type Role } from '../auth/principal.js';
import { ChangeItemSchema, type ChangeItemInput, type ItemError, type RegistryChanges } from '../registry/changes.js';
import { Entity, institutionOf, rowsToRecords, type EntityData, type RowError } from '../registry/entities.js';
import type { Registry } from '../registry/registry.js';
import { tableJobsOf } from '../exports/table-jobs.js';
import { defineRoute, Page } from './define.js';

export interface RegistryRouteDeps {
  registry: Registry;
  changes: RegistryChanges;
}

const READERS: readonly Role[] = ['registry_admin', 'leader', 'auditor', 'rule_admin', 'system_admin'];
const ADMINS: readonly Role[] = ['registry_admin'];

const AsOfQuery = z.object({
  /** Epoch ms: the registry as it stood then (from the versions). Omitted = now (live). */
  asOf: z.coerce.number().int().min(0).optional(),
  institution: z.string().max(64).optional(),
  county: z.string().regex(/^\d{6}$/).optional(),
});

function sendInvalid(reply: FastifyReply, e: unknown): FastifyReply | undefined {
  const report = (e as { report?: unknown }).report;
  if (e instanceof HubError && report) return reply.code(e.statusCode).send({ error: { code: e.code, message: e.message }, report });
  return undefined;
}

export function registerRegistryRoutes(app: FastifyInstance, deps: RegistryRouteDeps): void {
  const { registry, changes } = deps;
  const tables = tableJobsOf(app);
  const maxFileBytes = tables.limits.import.maxBytes;

  /** County of a record (via its institution), for scope filtering. */
  const countyOf = (entity: Entity, data: EntityData, institutions: Map<string, string>): string | undefined => {
    const inst = institutionOf(entity, data);
    return entity === 'institution' ? (data as { county: string }).county : institutions.get(inst);
  };

  for (const entity of ['institution', 'staff', 'line', 'listing'] as const) {
    const plural = { institution: 'institutions', staff: 'staff', line: 'lines', listing: 'listings' }[entity];
    defineRoute(app, {
      method: 'GET',
      url: `/api/v1/registry/${plural}`,
      tags: ['备案'],
      summary: `${{ institution: '机构', staff: '人员', line: '检测线与考试路线', listing: '红黑名单' }[entity]}（当前或 asOf 指定时刻，按区县范围过滤）`,
      auth: READERS,
      scope: 'list',
      query: AsOfQuery,
      handler: async (req) => {
        const p = authorize(req, READERS);
        const county = scopedCounty(p, req.query.county);
        const at = req.query.asOf;
        let records: EntityData[];
        let institutions: Map<string, string>;
        if (at === undefined) {
          institutions = new Map(registry.listInstitutions().map((i) => [i.id, i.county]));
          records = entity === 'institution' ? registry.listInstitutions() : entity === 'staff' ? registry.listStaff() : entity === 'line' ? registry.listLines() : registry.listListings();
        } else {
          const { records: r } = await registry.asOf(at);
          institutions = new Map(r.institutions.map((i) => [i.id, i.county]));
          records = entity === 'institution' ? r.institutions : entity === 'staff' ? r.staff : entity === 'line' ? r.lines : r.listings;
        }
        const items = records.filter((r) => {
          const c = countyOf(entity, r, institutions);
          if (entity === 'listing' && !c) return p.scope === null || county === undefined;
          if (county !== undefined && c !== county) return false;
          if (req.query.institution && institutionOf(entity, r) !== req.query.institution) return false;
          return true;
        });
        return { asOf: at ?? null, total: items.length, items };
      },
    });
  }

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/registry/:entity/:key/versions',
    tags: ['备案'],
    summary: '备案记录的全部版本（有效期起止、审批单、审批人）',
    auth: READERS,
    scope: 'institution',
    params: z.object({ entity: Entity, key: z.string().min(1).max(200) }),
    handler: async (req) => {
      const p = authorize(req, READERS);
      const versions = await changes.history(req.params.entity, req.params.key);
      if (!versions.length) throw new HubError('NOT_FOUND', `${req.params.entity} ${req.params.key}`);
      const institutions = new Map(registry.listInstitutions().map((i) => [i.id, i.county]));
      const last = versions[versions.length - 1]!;
      const c = countyOf(req.params.entity, last.data, institutions);
      if (c && !inScope(p, c)) throw new HubError('OUT_OF_SCOPE', `${req.params.key} belongs to ${c}`);
      return { items: versions };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/registry/requests',
    tags: ['备案'],
    summary: '备案变更申请（待审批、已通过、已驳回）',
    auth: ['registry_admin', 'system_admin'],
    scope: 'list',
    query: Page.extend({ status: z.enum(['pending', 'approved', 'rejected']).optional(), county: z.string().regex(/^\d{6}$/).optional() }),
    handler: async (req) => {
      const p = authorize(req, ['registry_admin', 'system_admin']);
      return changes.list({ status: req.query.status, county: scopedCounty(p, req.query.county), limit: req.query.limit, offset: req.query.offset });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/registry/requests/:id',
    tags: ['备案'],
    summary: '变更申请详情（含全部条目）',
    auth: ['registry_admin', 'system_admin'],
    scope: 'request',
    params: z.object({ id: z.string().min(1).max(64) }),
    handler: async (req) => {
      const p = authorize(req, ['registry_admin', 'system_admin']);
      const r = await changes.get(req.params.id);
      if (!r) throw new HubError('NOT_FOUND', `request ${req.params.id}`);
      for (const c of r.counties) if (!inScope(p, c)) throw new HubError('OUT_OF_SCOPE', `request touches ${c}`);
      return r;
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/registry/requests',
    tags: ['备案'],
    summary: '提交备案变更申请（新增/变更/注销，一次可多条）；须由另一名备案管理员审批后生效',
    auth: ADMINS,
    scope: 'institution',
    audit: 'registry.request',
    body: z.object({ summary: z.string().max(200).default(''), items: z.array(ChangeItemSchema).min(1).max(5000) }),
    handler: async (req, reply) => {
      const p = authorize(req, ADMINS);
      try {
        const r = await changes.createRequest(p, { kind: 'change', summary: req.body.summary, source: 'api', items: req.body.items });
        req.auditNote = { targetType: 'registry_request', targetId: r.id, detail: { items: r.itemCount, counties: r.counties } };
        return reply.code(201).send(r);
      } catch (e) {
        const sent = sendInvalid(reply, e);
        if (sent) return sent;
        throw e;
      }
    },
  });

  for (const decision of ['approve', 'reject'] as const) {
    defineRoute(app, {
      method: 'POST',
      url: `/api/v1/registry/requests/:id/${decision}`,
      tags: ['备案'],
      summary: decision === 'approve' ? '审批通过（审批人须不同于申请人）：写入新版本并关闭旧版本' : '驳回申请',
      auth: ADMINS,
      scope: 'request',
      audit: `registry.${decision}`,
      params: z.object({ id: z.string().min(1).max(64) }),
      body: z.object({ comment: decision === 'reject' ? z.string().trim().min(1).max(500) : z.string().max(500).default('') }),
      handler: async (req) => {
        const p = authorize(req, ADMINS);
        req.auditNote = { targetType: 'registry_request', targetId: req.params.id };
        return decision === 'approve' ? changes.approve(p, req.params.id, req.body.comment) : changes.reject(p, req.params.id, req.body.comment);
      },
    });
  }

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/registry/imports',
    tags: ['备案'],
    summary: '批量导入（CSV 或 XLSX，中文或英文表头）：全部行无误才生成一个待审批申请；否则返回逐行错误报告，不写入任何数据',
    description: 'multipart：file + entity 字段；或 JSON：{entity, format: csv|xlsx, filename, contentBase64}',
    auth: ADMINS,
    scope: 'institution',
    audit: 'registry.import',
    // Base64 in JSON is 4/3 of the file, plus the other fields.
    bodyLimit: Math.ceil((maxFileBytes * 4) / 3) + 64 * 1024,
    handler: async (req, reply) => {
      const p: Principal = authorize(req, ADMINS);
      // Admitted before the upload is read, so the per-user and hub-wide caps also bound uploads.
      const release = tables.admit(p.userId);
      try {
        return await importTable(req, reply, p);
      } finally {
        release();
      }
    },
  });

  const importTable = async (req: FastifyRequest, reply: FastifyReply, p: Principal): Promise<FastifyReply> => {
    let entity: Entity;
    let filename: string;
    let data: Buffer;
    if (req.isMultipart()) {
      const fields: Record<string, string> = {};
      let file: { name: string; data: Buffer } | undefined;
      try {
        for await (const part of req.parts({ limits: { fileSize: maxFileBytes, files: 1 } })) {
          if (part.type === 'file') file = { name: part.filename, data: await part.toBuffer() };
          else fields[part.fieldname] = String(part.value);
        }
      } catch (e) {
        if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new HubError('IMPORT_TOO_LARGE', `file exceeds ${maxFileBytes} bytes`);
        throw e;
      }
      if (!file) throw new HubError('BODY_INVALID', 'no file part');
      const e = Entity.safeParse(fields.entity);
      if (!e.success) throw new HubError('BODY_INVALID', `entity: ${ENTITY_HELP}`);
      entity = e.data;
      filename = file.name;
      data = file.data;
    } else {
      const b = z.object({ entity: Entity, filename: z.string().min(1).max(200), contentBase64: z.string().min(1) }).safeParse(req.body);
      if (!b.success) throw new HubError('BODY_INVALID', b.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      entity = b.data.entity;
      filename = b.data.filename;
      data = Buffer.from(b.data.contentBase64, 'base64');
    }
    if (data.length > maxFileBytes) throw new HubError('IMPORT_TOO_LARGE', `file is ${data.length} bytes, limit ${maxFileBytes}`);
    const isXlsx = /\.xlsx$/i.test(filename) || data.subarray(0, 2).toString('latin1') === 'PK';
    let table: string[][];
    try {
      table = await tables.readTable(isXlsx ? 'xlsx' : 'csv', data);
    } catch (e) {
      // Limit breaches keep their own codes (which limit, where); anything else is unreadable.
      if (e instanceof HubError) throw e;
      throw new HubError('BODY_INVALID', `cannot read ${filename}: ${e instanceof Error ? e.message : String(e)}`);
    }
    req.auditNote = { targetType: 'registry_import', targetId: filename, detail: { entity, rows: Math.max(0, table.length - 1) } };
    const { records, errors } = await rowsToRecordsSliced(entity, table);
    const report = (errs: RowError[]) => reply.code(422).send({ error: { code: 'IMPORT_INVALID', message: `${errs.length} 处错误，未导入任何数据` }, report: errs });
    if (errors.length) return report(errors);
    if (!records.length) return report([{ row: 2, field: '', message: '没有数据行' }]);
    const items: ChangeItemInput[] = records.map((r) => ({ entity, op: 'upsert', data: r as unknown as Record<string, unknown> }));
    try {
      const r = await changes.createRequest(p, { kind: 'import', summary: `导入 ${filename}（${records.length} 行）`, source: `${isXlsx ? 'xlsx' : 'csv'}:${filename}`, items });
      req.auditNote.detail = { ...req.auditNote.detail, request: r.id };
      return reply.code(201).send(r);
    } catch (e) {
      const itemErrors = (e as { report?: ItemError[] }).report;
      if (itemErrors) return report(itemErrors.map((x) => ({ row: x.index + 2, field: x.field, message: x.message })));
      throw e;
    }
  };
}

const ENTITY_HELP = 'institution | staff | line | listing';

/** Rows validated per turn of the event loop. */
const VALIDATE_SLICE = 500;

/**
 * rowsToRecords over slices of the rows, yielding between slices: 6,000 rows hold the event
 * loop for ~100 ms in one go. Rows are validated independently and header problems are reported
 * on row 1, so slicing changes nothing but the row numbers, which are shifted back here.
 */
async function rowsToRecordsSliced(entity: Entity, table: string[][]): Promise<{ records: EntityData[]; errors: RowError[] }> {
  const [header, ...rows] = table;
  if (!header || rows.length <= VALIDATE_SLICE) return rowsToRecords(entity, table);
  const records: EntityData[] = [];
  const errors: RowError[] = [];
  for (let offset = 0; offset < rows.length; offset += VALIDATE_SLICE) {
    const part = rowsToRecords(entity, [header, ...rows.slice(offset, offset + VALIDATE_SLICE)]);
    for (const r of part.records) records.push(r);
    for (const e of part.errors) {
      if (e.row > 1) errors.push({ ...e, row: e.row + offset });
      else if (offset === 0) errors.push(e);
    }
    await yieldToLoop();
  }
  return { records, errors };
}
