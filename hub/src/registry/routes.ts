/**
 * Registry routes: current records (optionally "as of" a time), version history, change
 * requests with maker-checker (file → a different registry administrator approves or rejects),
 * and CSV/XLSX import as one all-or-nothing request with a row-by-row error report.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HubError } from '../errors.js';
import { authorize, inScope, scopedCounty, type Principal, type Role } from '../http/access.js';
import { ChangeItemSchema, EffectiveFrom, versionEnds, type ChangeItem, type ChangeItemInput, type ItemError, type RegistryChanges, type RegistryRequest, type ReviewedItem } from '../registry/changes.js';
import { Entity, ENTITY_LABELS, institutionOf, keptGroups, keyOf, locateHeader, rowsToRecords, sheetFields, withFiledFields, type EntityData, type RowError, type RowValidity } from '../registry/entities.js';
import type { Registry } from '../registry/registry.js';
import { tableJobsOf } from '../exports/table-jobs.js';
import { defineExportRoute } from '../exports/export-route.js';
import { registryColumns, requestItemColumns } from './export.js';
import { defineRoute, Page } from '../http/define.js';
import { describeIssues } from '../validation/issues.js';
import {
  type CsvEncoding,
  RegistryImportResultSchema,
  RegistryRecordListSchemas,
  RegistryRequestListSchema,
  RegistryRequestSchema,
  RegistryVersionListSchema,
  REGISTRY_ITEM_CHANGES,
  type RegistryItemChange,
} from '../protocol/index.js';

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

  for (const entity of ['institution', 'staff', 'line', 'listing', 'device'] as const) {
    const plural = { institution: 'institutions', staff: 'staff', line: 'lines', listing: 'listings', device: 'devices' }[entity];
    defineRoute(app, {
      method: 'GET',
      url: `/api/v1/registry/${plural}`,
      tags: ['备案'],
      summary: `${entityName(entity)}（当前或 asOf 指定时刻，按区县范围过滤）`,
      auth: READERS,
      scope: 'list',
      query: AsOfQuery,
      response: RegistryRecordListSchemas[entity],
      handler: async (req) => {
        const items = await recordsOf(entity, authorize(req, READERS), req.query);
        return { asOf: req.query.asOf ?? null, total: items.length, items };
      },
    });

    // The same list as a sheet in the import's own columns: exported, corrected, imported again.
    const title = `${entityName(entity)}备案`;
    defineExportRoute(app, {
      url: `/api/v1/registry/${plural}`,
      tags: ['备案', '导出'],
      summary: (format) => `导出${title}（${format.toUpperCase()}，与导入相同的中文表头，可修改后重新导入）`,
      auth: READERS,
      scope: 'list',
      query: AsOfQuery,
      columns: () => registryColumns(entity, (id) => registry.institution(id)?.name ?? id),
      load: async (req) => ({ name: title, rows: await recordsOf(entity, authorize(req, READERS), req.query) }),
    });
  }

  /** An entity's records now (live) or as of a time, within the reader's scope and the query's filters. */
  async function recordsOf(entity: Entity, p: Principal, query: z.output<typeof AsOfQuery>): Promise<EntityData[]> {
    const county = scopedCounty(p, query.county);
    const at = query.asOf;
    let records: EntityData[];
    let institutions: Map<string, string>;
    if (at === undefined) {
      institutions = new Map(registry.listInstitutions().map((i) => [i.id, i.county]));
      records =
        entity === 'institution' ? registry.listInstitutions() : entity === 'staff' ? registry.listStaff() : entity === 'line' ? registry.listLines() : entity === 'device' ? registry.listDevices() : registry.listListings();
    } else {
      const { records: r } = await registry.asOf(at);
      institutions = new Map(r.institutions.map((i) => [i.id, i.county]));
      records = entity === 'institution' ? r.institutions : entity === 'staff' ? r.staff : entity === 'line' ? r.lines : entity === 'device' ? r.devices : r.listings;
    }
    return records.filter((r) => {
      const c = countyOf(entity, r, institutions);
      if (entity === 'listing' && !c) return p.scope === null || county === undefined;
      if (county !== undefined && c !== county) return false;
      if (query.institution && institutionOf(entity, r) !== query.institution) return false;
      return true;
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
    response: RegistryVersionListSchema,
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
    summary: '备案变更申请（待审批、已通过、已驳回；institution 只列变更该机构本身备案的申请）',
    auth: ['registry_admin', 'system_admin'],
    scope: 'list',
    query: Page.extend({ status: z.enum(['pending', 'approved', 'rejected']).optional(), county: z.string().regex(/^\d{6}$/).optional(), institution: z.string().min(1).max(64).optional() }),
    response: RegistryRequestListSchema,
    handler: async (req) => {
      const p = authorize(req, ['registry_admin', 'system_admin']);
      return changes.list({ status: req.query.status, county: scopedCounty(p, req.query.county), institution: req.query.institution, limit: req.query.limit, offset: req.query.offset });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/registry/requests/:id',
    tags: ['备案'],
    summary: '变更申请详情（条目分页；逐条与现行备案比较：新增、变更、相同、注销；已决定的申请为决定时的比较）',
    description:
      'offset/limit（默认 0/100，至多 1000）取条目的一页，itemPage 给出所取范围与总数；review 给出各类条目数（待审批：与现行备案比较；已通过或已驳回：决定时的比较），' +
      'change=new|changed|same|retire 只取该类条目，变更条目附 changedFields（变更的字段），待审批时另附 before（现行备案）。全部条目可导出为 CSV/XLSX（…/items.xlsx）。',
    auth: ['registry_admin', 'system_admin'],
    scope: 'request',
    params: z.object({ id: z.string().min(1).max(64) }),
    query: Page.extend({ limit: z.coerce.number().int().min(1).max(1000).default(FIRST_ITEMS), change: z.enum(REGISTRY_ITEM_CHANGES).optional() }),
    response: RegistryRequestSchema,
    handler: async (req) => {
      const { request, items, review } = await reviewedRequest(req.params.id, authorize(req, ['registry_admin', 'system_admin']));
      const chosen = req.query.change && review ? items.filter((i) => i.change === req.query.change) : items;
      const { offset, limit } = req.query;
      return { ...request, items: chosen.slice(offset, offset + limit), itemPage: { offset, limit, total: chosen.length, entities: entitiesOf(items) }, ...(review ? { review } : {}) };
    },
  });

  // Every item of a request as a sheet, for an approver who reads a 50,000-row import in Excel.
  defineExportRoute(app, {
    url: '/api/v1/registry/requests/:id/items',
    tags: ['备案', '导出'],
    summary: (format) => `导出变更申请的全部条目（${format.toUpperCase()}；待审批的申请附与现行备案的比较；entity 选类别，缺省为第一个条目的）`,
    auth: ['registry_admin', 'system_admin'],
    scope: 'request',
    params: z.object({ id: z.string().min(1).max(64) }),
    query: z.object({ entity: Entity.optional() }),
    columns: [],
    load: async (req) => {
      const { request, items } = await reviewedRequest(req.params.id, authorize(req, ['registry_admin', 'system_admin']));
      const entity = req.query.entity ?? items[0]?.entity ?? 'staff';
      const ofEntity = items.filter((i) => i.entity === entity);
      const ends = versionEnds(ofEntity);
      const rows = ofEntity.map((it, i) => ({ it, end: ends[i] ?? request.effectiveTo, start: it.validFrom ?? request.effectiveFrom }));
      return {
        name: `备案申请${request.id}-${entityName(entity)}`,
        rows,
        columns: requestItemColumns(entity, (id) => registry.institution(id)?.name ?? id),
      };
    },
  });

  /**
   * A request within the caller's scope, its items reviewed against the register while it is
   * pending. What was read and compared for one page is reused for the next page turn: a
   * 50,000-row import is 11 MB of items and a comparison over 25,000 keys (about 0.9 s), which an
   * approver paging through it would otherwise pay on every page. A kept entry is used while the
   * request is as it was written then (its updated_at), the register has not been reloaded since
   * (an approval here or on another replica changes what the items compare with) and it is
   * younger than REVIEWED_KEEP_MS (a replica that missed a reload's message compares afresh
   * soon). The caller's scope is checked on every call.
   */
  type Reviewed = { request: RegistryRequest; items: (ChangeItem & Partial<ReviewedItem>)[]; review?: Record<RegistryItemChange, number> };
  const kept = new Map<string, { at: number; updatedAt: number; generation: number; value: Reviewed }>();
  /** Registry reloads so far: a comparison made before one is not reused after it. */
  let generation = 0;
  const unfollow = registry.onReload(() => {
    generation++;
    kept.clear();
  });
  app.addHook('onClose', async () => unfollow());

  async function reviewedRequest(id: string, p: Principal): Promise<Reviewed> {
    const stamp = await changes.stamp(id);
    if (!stamp) throw new HubError('NOT_FOUND', `request ${id}`);
    const hit = kept.get(id);
    const fresh = hit && hit.updatedAt === stamp.updatedAt && hit.generation === generation && Date.now() - hit.at < REVIEWED_KEEP_MS;
    const value = fresh ? hit.value : await reviewAfresh(id, stamp.updatedAt);
    for (const c of value.request.counties) if (!inScope(p, c)) throw new HubError('OUT_OF_SCOPE', `request touches ${c}`);
    return value;
  }

  /**
   * Reads and compares a request; keeps it under the stamp read before it (a request written in
   * between is read anew at the next call, its stamp having moved) and the reload generation of
   * before the comparison.
   */
  async function reviewAfresh(id: string, updatedAt: number): Promise<Reviewed> {
    const before = generation;
    const r = await changes.get(id);
    if (!r) throw new HubError('NOT_FOUND', `request ${id}`);
    // Decided requests keep the comparison made when they were decided (none before it was kept).
    const items: (ChangeItem & Partial<ReviewedItem>)[] = r.status === 'pending' ? await changes.review(r.items) : r.items.map((it, index) => ({ ...it, index }));
    let value: Reviewed = { request: r, items };
    if (items.length && items.every((i) => i.change)) {
      const review: Record<RegistryItemChange, number> = { new: 0, changed: 0, same: 0, retire: 0 };
      for (const it of items) review[it.change!]++;
      value = { request: r, items, review };
    }
    kept.delete(id);
    kept.set(id, { at: Date.now(), updatedAt, generation: before, value });
    // The newest few only: each may hold tens of megabytes of items.
    for (const k of kept.keys()) if (kept.size > REVIEWED_KEEP) kept.delete(k);
    return value;
  }

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/registry/requests',
    tags: ['备案'],
    summary: '提交备案变更申请（新增/变更/注销，一次可多条）；须由另一名备案管理员审批后生效',
    description:
      'effectiveFrom（ISO 8601 含时区，可为过去时间）：新版本自该时刻起有效，用于补录历史备案或更正过去；缺省为审批通过的时刻。' +
      'effectiveTo（可选，须晚于 effectiveFrom，或晚于现在）：新版本到该时刻为止（如暂停三个月），此前的备案届时自动恢复有效，无需另提申请；缺省为长期有效。',
    auth: ADMINS,
    scope: 'institution',
    audit: 'registry.request',
    body: z.object({ summary: z.string().max(200).default(''), effectiveFrom: EffectiveFrom.optional(), effectiveTo: EffectiveFrom.optional(), items: z.array(ChangeItemSchema).min(1).max(5000) }),
    response: RegistryRequestSchema,
    handler: async (req, reply) => {
      const p = authorize(req, ADMINS);
      try {
        const r = await changes.createRequest(p, { kind: 'change', summary: req.body.summary, source: 'api', items: req.body.items, effectiveFrom: req.body.effectiveFrom ?? null, effectiveTo: req.body.effectiveTo ?? null });
        req.auditNote = { targetType: 'registry_request', targetId: r.id, detail: { items: r.itemCount, counties: r.counties, ...periodDetail(r) } };
        return reply.code(201).send(firstItems(r));
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
      response: RegistryRequestSchema,
      handler: async (req) => {
        const p = authorize(req, ADMINS);
        req.auditNote = { targetType: 'registry_request', targetId: req.params.id };
        const r = decision === 'approve' ? await changes.approve(p, req.params.id, req.body.comment) : await changes.reject(p, req.params.id, req.body.comment);
        // The checker approved versions valid from this time (past allowed): the audit log keeps it.
        req.auditNote.detail = { ...periodDetail(r), items: r.itemCount };
        return firstItems(r);
      },
    });
  }

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/registry/imports',
    tags: ['备案'],
    summary: '批量导入（CSV 或 XLSX，中文或英文表头）：全部行无误才生成一个待审批申请；否则返回逐行错误报告，不写入任何数据',
    description:
      'multipart：file + entity 字段（可选 preview=1、effectiveFrom）；或 JSON：{entity, filename, contentBase64, preview?, effectiveFrom?}。' +
      '每行的有效期起（人员、设备、名单；机构和检测线可加有效期起/止列）即该版本的生效时间，可为多年以前；preview=1 只校验并返回解析结果（CSV 另返回读取所用的编码），不生成申请。' +
      'CSV 的编码：UTF-8（有无 BOM 均可）、带 BOM 的 UTF-16，或 GB18030/GBK（中文 Windows 版 Excel 另存的普通 CSV）；逗号分隔，首行只有制表符时按制表符分隔。.xls 与设了打开密码的工作簿不支持（415 IMPORT_FORMAT），无法识别的编码 422 IMPORT_ENCODING',
    auth: ADMINS,
    scope: 'institution',
    audit: 'registry.import',
    // Base64 in JSON is 4/3 of the file, plus the other fields.
    bodyLimit: Math.ceil((maxFileBytes * 4) / 3) + 64 * 1024,
    // 200: the preview; 201: the pending request. 422 IMPORT_INVALID carries the row-by-row report.
    response: RegistryImportResultSchema,
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
    let preview = false;
    let effectiveFrom: number | null = null;
    const parseEffective = (v: unknown) => {
      if (v === undefined || v === '') return null;
      const e = EffectiveFrom.safeParse(v);
      if (!e.success) throw new HubError('BODY_INVALID', `effectiveFrom: ISO 8601 with a zone, e.g. 2024-03-01T00:00:00+08:00`);
      return e.data;
    };
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
      preview = fields.preview === '1' || fields.preview === 'true';
      effectiveFrom = parseEffective(fields.effectiveFrom);
    } else {
      const b = z
        .object({ entity: Entity, filename: z.string().min(1).max(200), contentBase64: z.string().min(1), preview: z.boolean().default(false), effectiveFrom: z.string().max(40).optional() })
        .safeParse(req.body);
      if (!b.success) throw new HubError('BODY_INVALID', describeIssues(b.error));
      entity = b.data.entity;
      filename = b.data.filename;
      data = Buffer.from(b.data.contentBase64, 'base64');
      preview = b.data.preview;
      effectiveFrom = parseEffective(b.data.effectiveFrom);
    }
    if (data.length > maxFileBytes) throw new HubError('IMPORT_TOO_LARGE', `file is ${data.length} bytes, limit ${maxFileBytes}`);
    const isXlsx = /\.xlsx$/i.test(filename) || data.subarray(0, 2).toString('latin1') === 'PK';
    let table: string[][];
    let encoding: CsvEncoding | null;
    try {
      ({ rows: table, encoding } = await tables.readTable(isXlsx ? 'xlsx' : 'csv', data));
    } catch (e) {
      // Limit breaches keep their own codes (which limit, where); anything else is unreadable.
      if (e instanceof HubError) throw e;
      throw new HubError('BODY_INVALID', `cannot read ${filename}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Title rows above the header are skipped; every row number below is the sheet's own.
    const skip = locateHeader(entity, table);
    req.auditNote = { targetType: 'registry_import', targetId: filename, detail: { entity, rows: Math.max(0, table.length - 1 - skip), ...(encoding ? { encoding } : {}), ...(skip ? { headerRow: skip + 1 } : {}) } };
    const { records, rows: rowNumbers, validity, errors } = await rowsToRecordsSliced(entity, skip ? table.slice(skip) : table);
    const sheetRow = (row: number) => row + skip;
    const report = (errs: RowError[]) =>
      reply.code(422).send({ error: { code: 'IMPORT_INVALID', message: `${errs.length} 处错误，未导入任何数据` }, report: errs.map((e) => ({ ...e, row: sheetRow(e.row) })) });
    if (errors.length) return report(errors);
    if (!records.length) return report([{ row: 2, field: '', message: '没有数据行' }]);
    const rowOf = (index: number) => rowNumbers[index]!;
    const where = (index: number) => `第 ${sheetRow(rowOf(index))} 行`;
    // A sheet without a column for an optional field (an older template) keeps what is on file
    // for that field: re-importing names must not lift a suspension, end an expiry or drop an
    // identity, hours or a place (entities.ts KEPT_WHEN_NO_COLUMN).
    const keptFields = keptGroups(entity, sheetFields(entity, table[skip] ?? []));
    const filed = keptFields.length ? await changes.currentVersions([...new Set(records.map((r) => keyOf(entity, r)))].map((key) => ({ entity, key }))) : new Map();
    const items: ChangeItemInput[] = records.map((r, i) => {
      const on = filed.get(`${entity}\u0000${keyOf(entity, r)}`);
      return { entity, op: 'upsert', data: withFiledFields(r, keptFields, on && !on.retired ? on.data : undefined) as unknown as Record<string, unknown>, ...validity[i] };
    });
    if (preview) {
      // Validated as the request would be (scope, institutions, duplicates), nothing stored.
      const checked = changes.validate(items, p, where);
      if (checked.errors.length) return report(checked.errors.map((x) => ({ row: rowOf(x.index), field: x.field, message: x.message })));
      const ends = versionEnds(checked.items);
      return reply.code(200).send({
        preview: true,
        entity,
        total: records.length,
        ...(encoding ? { encoding } : {}),
        ...(skip ? { headerRow: skip + 1 } : {}),
        counties: checked.counties,
        // As they would be filed: identity numbers already as their hash and masked form, and a
        // history's earlier rows ending where the next begins.
        items: checked.items.slice(0, PREVIEW_ROWS).map((it, i) => ({ row: sheetRow(rowOf(i)), data: it.data, validFrom: validity[i]?.validFrom ?? null, validTo: ends[i] ?? null })),
      });
    }
    try {
      const r = await changes.createRequest(p, { kind: 'import', summary: `导入 ${filename}（${records.length} 行）`, source: `${isXlsx ? 'xlsx' : 'csv'}:${filename}`, items, effectiveFrom, where });
      req.auditNote.detail = { ...req.auditNote.detail, request: r.id };
      return reply.code(201).send(firstItems(r));
    } catch (e) {
      const itemErrors = (e as { report?: ItemError[] }).report;
      if (itemErrors) return report(itemErrors.map((x) => ({ row: rowOf(x.index), field: x.field, message: x.message })));
      throw e;
    }
  };
}

const ENTITY_HELP = 'institution | staff | line | listing | device';

/** An entity's label as a file and sheet name ('/' has no place in either). */
const entityName = (e: Entity) => ENTITY_LABELS[e].replace('/', '与');

/** Items a request's detail answers by default, and what filing or deciding one answers. */
const FIRST_ITEMS = 100;

/** A request as answered when it is filed or decided: its first items (the detail pages through the rest). */
function firstItems(r: RegistryRequest): RegistryRequest & { itemPage: { offset: number; limit: number; total: number; entities: Entity[] } } {
  return { ...r, items: r.items.slice(0, FIRST_ITEMS), itemPage: { offset: 0, limit: FIRST_ITEMS, total: r.items.length, entities: entitiesOf(r.items) } };
}

/** The period a request was filed for, as the audit log keeps it. */
const periodDetail = (r: RegistryRequest) => ({
  effectiveFrom: r.effectiveFrom === null ? 'approval' : new Date(r.effectiveFrom).toISOString(),
  ...(r.effectiveTo === null ? {} : { effectiveTo: new Date(r.effectiveTo).toISOString() }),
});

/** The kinds of record among a request's items, in the order they first appear. */
const entitiesOf = (items: readonly { entity: Entity }[]): Entity[] => [...new Set(items.map((i) => i.entity))];

/** Requests whose reviewed items are kept for page turns, and for how long (see reviewedRequest). */
const REVIEWED_KEEP = 2;
const REVIEWED_KEEP_MS = 60_000;

/** Rows a preview returns (the count is always the whole file's). */
const PREVIEW_ROWS = 200;

/** Rows validated per turn of the event loop. */
const VALIDATE_SLICE = 500;

/**
 * rowsToRecords over slices of the rows, yielding between slices: 6,000 rows hold the event
 * loop for ~100 ms in one go. Rows are validated independently and header problems are reported
 * on row 1, so slicing changes nothing but the row numbers, which are shifted back here.
 */
async function rowsToRecordsSliced(entity: Entity, table: string[][]): Promise<ReturnType<typeof rowsToRecords>> {
  const [header, ...rows] = table;
  if (!header || rows.length <= VALIDATE_SLICE) return rowsToRecords(entity, table);
  const records: EntityData[] = [];
  const rowNumbers: number[] = [];
  const validity: RowValidity[] = [];
  const errors: RowError[] = [];
  for (let offset = 0; offset < rows.length; offset += VALIDATE_SLICE) {
    const part = rowsToRecords(entity, [header, ...rows.slice(offset, offset + VALIDATE_SLICE)]);
    for (const r of part.records) records.push(r);
    for (const n of part.rows) rowNumbers.push(n + offset);
    for (const v of part.validity) validity.push(v);
    for (const e of part.errors) {
      if (e.row > 1) errors.push({ ...e, row: e.row + offset });
      else if (offset === 0) errors.push(e);
    }
    await yieldToLoop();
  }
  return { records, rows: rowNumbers, validity, errors };
}
