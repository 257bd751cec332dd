/**
 * Warning routes: the list (filter by state, assignee, overdue…), CSV/XLSX exports, the detail
 * (warning, transaction, derived state, timeline, evidence, deadlines), actions with optimistic
 * concurrency (`expectedSeq`), bulk actions, evidence upload and download, workflow metadata.
 */
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { COUNTY_BY_CODE, SEVERITY_LABELS } from '@jianguan/rules';
import { z } from 'zod';
import { errorMessage, HubError } from '../errors.js';
import { resolveError } from '../http-edges.js';
import { assertInScope, authorize, scopedCounty, type Role } from '../http/access.js';
import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { cstTime, type Column } from '../exports/table.js';
import { defineExportRoute } from '../exports/export-route.js';
import { personNamer, type PersonNamer } from '../auth/people.js';
import {
  applyEvent,
  CONCLUSION_LABELS,
  DISPOSAL_LABELS,
  EVENT_LABELS,
  SAMPLING_CONCLUSION_LABELS,
  STATE_LABELS,
  TRANSITIONS,
  WARNING_STATES,
  type WarningStateName,
} from '../workflow/machine.js';
import {
  BulkActionResultSchema,
  EvidenceUploadResultSchema,
  RecheckResultSchema,
  WarningActionResultSchema,
  WarningDetailSchema,
  WarningListItemSchema,
  WorkflowMetaSchema,
  WorkflowSweepResultSchema,
} from '../protocol/index.js';
import { evidenceOf, listWarningsWithState, transactionById, transactionView, warningItem, warningsByIds, type WarningListFilter, type WarningWithState } from '../workflow/repo.js';
import { activeDeadline, missedDeadline } from '../workflow/sla.js';
import { recheckWarnings, type RecheckDeps } from '../workflow/recheck.js';
import { ActionSchema, actorOf, eventOf, type WorkflowService } from '../workflow/service.js';
import type { EventPayload, EventType, WarningState } from '../workflow/machine.js';
import type { Principal } from '../http/access.js';
import { defineRoute, Page, QueryBool } from '../http/define.js';
import { describeIssues } from '../validation/issues.js';

export interface WarningRouteDeps {
  store: Store;
  registry: Registry;
  workflow: WorkflowService;
  evidenceMaxBytes: number;
  /** Checking warnings again under today's filings and calendar (recheck.ts). */
  recheck: Omit<RecheckDeps, 'store' | 'registryAt'>;
  /** The sampling rules' ids (evaluation/scoring.ts samplingRuleIds): their conclusions are worded as a spot check's. */
  samplingRules: () => ReadonlySet<string>;
}

/** Who reads warnings. */
export const WARNING_READERS: readonly Role[] = ['auditor', 'leader', 'rule_admin', 'system_admin'];
/** Who acts on warnings (the state machine then checks assignee/leader per action). */
export const WARNING_ACTORS: readonly Role[] = ['auditor', 'leader', 'system_admin'];

const States = z
  .string()
  .transform((s) => s.split(',').filter(Boolean))
  .pipe(z.array(z.enum(WARNING_STATES)));

export const WarningListQuery = Page.extend({
  institution: z.string().max(64).optional(),
  county: z.string().regex(/^\d{6}$/).optional(),
  rule: z.string().max(64).optional(),
  severity: z.enum(['low', 'medium', 'high']).optional(),
  /** One or more states, comma-separated. */
  state: States.optional(),
  /** 'me' or a user name. */
  assignee: z.string().max(64).optional(),
  /** true: escalated (超期督办) and not yet verified. */
  overdue: QueryBool.optional(),
  /** raised_at range, epoch ms. */
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
});

const WarningId = z.object({ id: z.string().min(1).max(128) });
const Seq = z.number().int().min(0);

export function warningView(w: WarningWithState, registry: Registry) {
  return warningItem(w, (id) => registry.institution(id)?.name ?? id);
}

export const WarningListResponse = z.object({
  total: z.number().int(),
  items: z.array(WarningListItemSchema),
});

/** GET /api/v1/warnings/:id (declared in @jianguan/protocol, read by the warning page). */
export const WarningDetailResponse = WarningDetailSchema;

/** API action → the event types it may produce, with a payload that passes validation. */
const ACTION_PROBES: readonly [string, EventType, EventPayload][] = [
  ['assign', 'assigned', { assignee: '\u0000probe' }],
  ['acknowledge', 'acknowledged', {}],
  ['start_verification', 'verification_started', {}],
  ['conclude', 'concluded', { conclusion: 'confirmed' }],
  ['dispose', 'disposed', { disposal: ['correct_record'] }],
  ['review', 'reviewed', {}],
  ['review', 'review_rejected', { comment: 'probe' }],
  ['close', 'closed', {}],
  ['reopen', 'reopened', { comment: 'probe' }],
  ['comment', 'commented', { comment: 'probe' }],
  ['evidence', 'evidence_attached', { evidence: { sha256: '0'.repeat(64), name: 'probe', mime: 'text/plain', size: 1 } }],
];

/** The actions the caller could take now (dry run of the state machine with their roles). */
function allowedActions(p: Principal, state: WarningState): string[] {
  const out = new Set<string>();
  for (const [action, type, payload] of ACTION_PROBES) {
    if (out.has(action)) continue;
    for (const role of p.roles) {
      try {
        applyEvent(state, { warningId: state.warningId, seq: state.seq + 1, type, actor: p.username, role, at: Date.now(), payload });
        out.add(action);
        break;
      } catch {
        /* not allowed for this role */
      }
    }
  }
  return [...out];
}

/** Evidence types served with their own content type; anything else is a plain download. */
const SAFE_MIME = /^(image\/(png|jpeg|gif|webp)|application\/pdf|video\/mp4|audio\/(mpeg|wav)|text\/plain)$/;

function warningColumns(registry: Registry, person: PersonNamer = (u) => u): Column<WarningWithState>[] {
  return [
    { header: '预警编号', value: (w) => w.id, width: 22 },
    { header: '规则编号', value: (w) => w.rule_id, width: 24 },
    { header: '规则名称', value: (w) => w.rule_name, width: 24 },
    { header: '严重程度', value: (w) => SEVERITY_LABELS[w.severity as keyof typeof SEVERITY_LABELS] ?? w.severity },
    { header: '处置方式', value: (w) => (w.action === 'hold' ? '拦截' : '预警') },
    { header: '机构', value: (w) => registry.institution(w.institution_id)?.name ?? w.institution_id, width: 28 },
    { header: '区县', value: (w) => COUNTY_BY_CODE.get(w.county)?.name ?? w.county },
    { header: '业务发生时间', value: (w) => cstTime(w.occurred_at), width: 20 },
    { header: '预警时间', value: (w) => cstTime(w.raised_at), width: 20 },
    { header: '状态', value: (w) => STATE_LABELS[w.state] ?? w.state },
    { header: '核查人', value: (w) => person(w.assignee) },
    { header: '核查结论', value: (w) => (w.conclusion ? CONCLUSION_LABELS[w.conclusion] : '') },
    { header: '超期督办', value: (w) => (w.escalated ? '是' : '否') },
    { header: '说明', value: (w) => w.explanation, width: 40 },
    { header: '当事人', value: (w) => w.subject_masked, width: 20 },
    { header: '业务流水', value: (w) => w.transaction_id, width: 20 },
    { header: '业务流水号', value: (w) => w.lsh ?? '', width: 20 },
    { header: '规则版本', value: (w) => w.rule_version },
  ];
}

export function registerWarningRoutes(app: FastifyInstance, deps: WarningRouteDeps): void {
  const { store, registry, workflow } = deps;

  const filterOf = (req: { principal: import('../http/access.js').Principal | null }, q: z.infer<typeof WarningListQuery>): WarningListFilter => {
    const p = authorize(req, WARNING_READERS);
    const county = scopedCounty(p, q.county);
    if (q.institution) {
      const inst = registry.institution(q.institution);
      if (inst) assertInScope(p, inst.county, 'institution');
    }
    return {
      institutionId: q.institution,
      county,
      ruleId: q.rule,
      severity: q.severity,
      states: q.state as WarningStateName[] | undefined,
      assignee: q.assignee === 'me' ? p.username : q.assignee,
      overdue: q.overdue,
      from: q.from,
      to: q.to,
      limit: q.limit,
      offset: q.offset,
    };
  };

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/warnings',
    tags: ['预警'],
    summary: '预警列表（按机构、区县、规则、严重程度、状态、核查人、是否超期、时间筛选；分页；每条附当前时限 due）',
    auth: WARNING_READERS,
    scope: 'list',
    query: WarningListQuery,
    response: WarningListResponse,
    handler: async (req) => {
      const r = await listWarningsWithState(store, filterOf(req, req.query));
      // The active deadline travels with each item, so a queue can sort overdue-first and show
      // countdowns without a detail request per warning.
      return { total: r.total, items: r.items.map((w) => ({ ...warningView(w, registry), due: activeDeadline(workflow.deadlines(w), w.state) })) };
    },
  });

  defineExportRoute(app, {
    url: '/api/v1/warnings',
    tags: ['预警', '导出'],
    summary: (format) => `导出预警清单（${format.toUpperCase()}，中文表头）`,
    auth: WARNING_READERS,
    scope: 'list',
    query: WarningListQuery.extend({ limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }),
    columns: () => warningColumns(registry),
    load: async (req) => {
      const [{ items: rows }, person] = await Promise.all([listWarningsWithState(store, filterOf(req, req.query)), personNamer(store)]);
      return { name: '预警清单', rows, columns: warningColumns(registry, person) };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/warnings/:id',
    tags: ['预警'],
    summary: '预警详情：业务记录、当前状态（由事件推导）、处置时间线、证据、时限',
    auth: WARNING_READERS,
    scope: 'warning',
    params: WarningId,
    response: WarningDetailResponse,
    handler: async (req) => {
      const p = authorize(req, WARNING_READERS);
      const w = (await warningsByIds(store, [req.params.id])).get(req.params.id);
      if (!w) throw new HubError('NOT_FOUND', `warning ${req.params.id}`);
      assertInScope(p, w.county, 'warning');
      const [{ state, events }, transaction, evidence] = await Promise.all([workflow.stateOf(w.id), transactionById(store, w.transaction_id, w.institution_id, w.captured_at), evidenceOf(store, w.id)]);
      const d = workflow.deadlines(w);
      const sampling = deps.samplingRules().has(w.rule_id);
      const conclusionLabels = sampling ? SAMPLING_CONCLUSION_LABELS : CONCLUSION_LABELS;
      return {
        warning: warningView(w, registry),
        transaction: transaction ? { ...transactionView(transaction), institutionName: registry.institution(String(transaction.institution_id))?.name ?? String(transaction.institution_id) } : null,
        state: { ...state, label: STATE_LABELS[state.state], conclusionLabel: state.conclusion ? conclusionLabels[state.conclusion] : null },
        events: events.map((e) => ({ ...e, label: EVENT_LABELS[e.type] })),
        evidence,
        deadlines: { ...d, missed: missedDeadline(d, state.state, Date.now()) },
        allowedActions: allowedActions(p, state),
        sampling,
      };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/warnings/:id/actions',
    tags: ['预警'],
    summary: '处置动作（分派、签收、开始核查、结论、处置、审核、办结、重新核查、备注）；expectedSeq 不符时 409 CONFLICT 并返回当前状态',
    auth: WARNING_ACTORS,
    scope: 'warning',
    audit: 'warning.action',
    params: WarningId,
    body: ActionSchema.and(z.object({ expectedSeq: Seq })),
    response: WarningActionResultSchema,
    handler: async (req, reply) => {
      const p = authorize(req, WARNING_ACTORS);
      const body = req.body;
      const w = (await warningsByIds(store, [req.params.id])).get(req.params.id);
      if (!w) throw new HubError('NOT_FOUND', `warning ${req.params.id}`);
      assertInScope(p, w.county, 'warning');
      const { expectedSeq, ...action } = body;
      req.auditNote = { action: `warning.${action.type}`, targetType: 'warning', targetId: w.id, detail: { expectedSeq, ...action } };
      try {
        const state = await workflow.act(actorOf(p), w.id, expectedSeq, ActionSchema.parse(action));
        return { ok: true, state };
      } catch (e) {
        const current = (e as { current?: unknown }).current;
        if (e instanceof HubError && current) {
          return reply.code(e.statusCode).send({ error: { code: e.code, message: e.message }, current });
        }
        throw e;
      }
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/warnings/bulk',
    tags: ['预警'],
    summary: '批量动作（如批量分派、签收、办结），逐条返回结果',
    auth: WARNING_ACTORS,
    scope: 'warning',
    audit: 'warning.bulk',
    body: z.object({
      action: ActionSchema,
      items: z.array(z.object({ id: z.string().min(1).max(128), expectedSeq: Seq })).min(1).max(500),
    }),
    response: BulkActionResultSchema,
    handler: async (req) => {
      const p = authorize(req, WARNING_ACTORS);
      const { type, payload } = eventOf(req.body.action);
      req.auditNote = { action: `warning.bulk.${req.body.action.type}`, targetType: 'warning', targetId: req.body.items.map((i) => i.id).join(',').slice(0, 500), detail: { count: req.body.items.length } };
      const results = await workflow.append(
        actorOf(p),
        req.body.items.map((i) => ({ warningId: i.id, expectedSeq: i.expectedSeq, type, payload })),
      );
      return { ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/warnings/recheck',
    tags: ['预警'],
    summary: '按现行备案与工作日历复核预警：逐条说明是否仍会产生（只读，不改变预警状态）',
    description:
      '每条预警的规则在其业务记录上重新判断：备案按业务发生时的版本（含事后补录、追溯生效的备案），工作日历与营业时间按现行。' +
      'still = 仍会产生；no_longer = 不再产生（可核查为误报）；not_checkable = 规则依赖历史累计（stateful）、非单条业务产生（not_per_record）、' +
      '业务记录缺失（no_transaction）或不在管辖范围（not_found）。',
    auth: WARNING_READERS,
    scope: 'warning',
    // Read-only, but a POST: audited under its own name rather than as its path.
    audit: 'warning.recheck',
    body: z.object({
      ids: z.array(z.string().min(1).max(128)).min(1).max(500),
      /** The warnings' institutions (the list shows them): the rows are read by them first. */
      institutions: z.array(z.string().min(1).max(64)).max(500).optional(),
    }),
    response: RecheckResultSchema,
    handler: async (req) => {
      const p = authorize(req, WARNING_READERS);
      // A warning of another county is refused as on every warning route (OUT_OF_SCOPE), not
      // answered as missing: the caller named it.
      return recheckWarnings({ ...deps.recheck, store: deps.store, registryAt: (t) => deps.registry.at(t) }, req.body.ids, (county) => assertInScope(p, county), req.body.institutions);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/warnings/:id/evidence',
    tags: ['预警'],
    summary: '上传证据（multipart：file + expectedSeq；或 JSON：name, mime, contentBase64, expectedSeq）',
    auth: WARNING_ACTORS,
    scope: 'warning',
    audit: 'warning.evidence',
    params: WarningId,
    bodyLimit: Math.ceil((deps.evidenceMaxBytes * 4) / 3) + 64 * 1024,
    response: EvidenceUploadResultSchema,
    handler: async (req) => {
      const p = authorize(req, WARNING_ACTORS);
      const w = (await warningsByIds(store, [req.params.id])).get(req.params.id);
      if (!w) throw new HubError('NOT_FOUND', `warning ${req.params.id}`);
      assertInScope(p, w.county, 'warning');
      let file: { name: string; mime: string; data: Buffer };
      let expectedSeq: number;
      let comment: string | undefined;
      if (req.isMultipart()) {
        const fields: Record<string, string> = {};
        let got: typeof file | undefined;
        // The file is buffered in memory (at most evidenceMaxBytes): nothing reaches the disk
        // until the workflow accepts the event. Whatever goes wrong while reading the body (no
        // boundary, truncated part, bad header) is the client's multipart, so a 400.
        try {
          for await (const part of req.parts({ limits: { fileSize: deps.evidenceMaxBytes, files: 1 } })) {
            if (part.type === 'file') {
              const data = await part.toBuffer();
              if (part.file.truncated) throw new HubError('PAYLOAD_TOO_LARGE', `> ${deps.evidenceMaxBytes} bytes`);
              got = { name: part.filename, mime: part.mimetype, data };
            } else fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
          }
        } catch (e) {
          const r = resolveError(e);
          if (r.status === 413) throw new HubError('PAYLOAD_TOO_LARGE', `> ${deps.evidenceMaxBytes} bytes`);
          throw new HubError('MULTIPART_INVALID', errorMessage(e), { cause: e });
        }
        if (!got) throw new HubError('BODY_INVALID', 'no file part');
        file = got;
        expectedSeq = fields.expectedSeq !== undefined && /^\d{1,15}$/.test(fields.expectedSeq) ? Number(fields.expectedSeq) : NaN;
        if (fields.comment !== undefined && fields.comment.length > 2000) throw new HubError('BODY_INVALID', 'comment: at most 2000 characters');
        comment = fields.comment;
      } else {
        const b = z
          .object({ name: z.string().min(1).max(200), mime: z.string().min(1).max(100).default('application/octet-stream'), contentBase64: z.string().min(1), expectedSeq: Seq, comment: z.string().max(2000).optional() })
          .safeParse(req.body);
        if (!b.success) throw new HubError('BODY_INVALID', describeIssues(b.error));
        file = { name: b.data.name, mime: b.data.mime, data: Buffer.from(b.data.contentBase64, 'base64') };
        expectedSeq = b.data.expectedSeq;
        comment = b.data.comment;
      }
      if (!Number.isInteger(expectedSeq) || expectedSeq < 0) throw new HubError('BODY_INVALID', 'expectedSeq');
      req.auditNote = { action: 'warning.evidence', targetType: 'warning', targetId: w.id, detail: { name: file.name, size: file.data.length } };
      const r = await workflow.attachEvidence(actorOf(p), w.id, expectedSeq, file, comment);
      req.auditNote.detail = { ...req.auditNote.detail, sha256: r.sha256 };
      return { ok: true, sha256: r.sha256, state: r.state };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/warnings/:id/evidence/:sha256',
    tags: ['预警'],
    summary: '下载证据',
    auth: WARNING_READERS,
    scope: 'warning',
    params: z.object({ id: z.string().min(1).max(128), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    // The file itself, in its own type when it is a safe one (images, PDF, MP4, audio, text), else octet-stream.
    produces: ['application/octet-stream', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'video/mp4', 'audio/mpeg', 'audio/wav', 'text/plain'],
    handler: async (req, reply) => {
      const p = authorize(req, WARNING_READERS);
      const w = (await warningsByIds(store, [req.params.id])).get(req.params.id);
      if (!w) throw new HubError('NOT_FOUND', `warning ${req.params.id}`);
      assertInScope(p, w.county, 'warning');
      const meta = (await evidenceOf(store, w.id)).find((e) => e.sha256 === req.params.sha256);
      if (!meta) throw new HubError('NOT_FOUND', 'evidence');
      const file = workflow.evidencePath(meta.sha256);
      return reply
        .type(SAFE_MIME.test(meta.mime) ? meta.mime : 'application/octet-stream')
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', `attachment; filename="evidence"; filename*=UTF-8''${encodeURIComponent(meta.name)}`)
        .header('x-content-sha256', meta.sha256)
        .send(fs.createReadStream(file));
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/workflow/meta',
    tags: ['预警'],
    summary: '处置流程的状态、事件、结论与处置措施（中文名称）',
    auth: 'any',
    scope: 'none',
    response: WorkflowMetaSchema,
    handler: async () => ({
      states: WARNING_STATES.map((s) => ({ state: s, label: STATE_LABELS[s] })),
      events: Object.entries(EVENT_LABELS).map(([type, label]) => ({ type, label, from: TRANSITIONS[type as keyof typeof TRANSITIONS].from })),
      conclusions: Object.entries(CONCLUSION_LABELS).map(([conclusion, label]) => ({ conclusion, label })),
      disposals: Object.entries(DISPOSAL_LABELS).map(([action, label]) => ({ action, label })),
    }),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/workflow/sweep',
    tags: ['预警'],
    summary: '立即执行自动分派与超期检查（运维）',
    auth: ['system_admin'],
    scope: 'city',
    audit: 'workflow.sweep',
    response: WorkflowSweepResultSchema,
    handler: async (req) => {
      return workflow.sweep();
    },
  });
}
