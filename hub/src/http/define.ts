/**
 * One way to declare an API route: zod schemas for query, params and body (validated by zod,
 * with coded errors QUERY_INVALID / BODY_INVALID), the roles allowed, what the data is scoped
 * by, and Chinese summaries. The same zod schemas become the route's JSON schema, which
 * @fastify/swagger turns into the OpenAPI document served at /docs.
 *
 *   defineRoute(app, {
 *     method: 'GET', url: '/api/v1/things/:id', tags: ['示例'], summary: '查看',
 *     auth: ['leader'], scope: 'institution', params: z.object({ id: z.string() }),
 *     handler: async (req) => …req.params.id…,
 *   });
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import { HubError } from '../errors.js';
import type { RouteAuth, RouteScope } from './access.js';
import { describeIssues } from '../validation/issues.js';

type Out<T> = T extends z.ZodType ? z.output<T> : unknown;

export interface RouteDef<Q extends z.ZodType | undefined, P extends z.ZodType | undefined, B extends z.ZodType | undefined> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  tags: string[];
  /** Chinese, shown in /docs. */
  summary: string;
  description?: string;
  auth: RouteAuth;
  scope: RouteScope;
  /** Audit action name for mutating routes, e.g. 'warning.action'; false = the route logs itself. */
  audit?: string | false;
  query?: Q;
  params?: P;
  body?: B;
  /**
   * The JSON answer (status 200/201/202). It documents the route in OpenAPI; under test
   * (VITEST or JG_CHECK_RESPONSES=1) every answer is also checked against it, so a response that
   * drifts from its declared shape fails the tests instead of surprising a screen.
   */
  response?: z.ZodType;
  /** Response content types other than JSON (docs only), e.g. ['text/csv']. */
  produces?: string[];
  bodyLimit?: number;
  handler: (
    req: FastifyRequest<{ Querystring: Out<Q>; Params: Out<P>; Body: Out<B> }>,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}


export function defineRoute<Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  app: FastifyInstance,
  def: RouteDef<Q, P, B>,
): void {
  const parts: Record<string, { schema: z.ZodType; code: 'QUERY_INVALID' | 'BODY_INVALID' }> = {};
  const schema: FastifySchema & Record<string, unknown> = { tags: def.tags, summary: def.summary };
  if (def.description) schema.description = def.description;
  if (def.query) {
    parts.querystring = { schema: def.query, code: 'QUERY_INVALID' };
    schema.querystring = jsonSchemaOf(def.query);
  }
  if (def.params) {
    parts.params = { schema: def.params, code: 'QUERY_INVALID' };
    schema.params = jsonSchemaOf(def.params);
  }
  if (def.body) {
    parts.body = { schema: def.body, code: 'BODY_INVALID' };
    schema.body = jsonSchemaOf(def.body);
  }
  if (def.produces) schema.produces = def.produces;
  if (def.response) {
    const out = jsonSchemaOf(def.response, 'output');
    schema.response = { 200: out, 201: out, 202: out };
  }
  if (def.auth !== 'public') schema.security = [{ session: [] }, { bearer: [] }];
  app.route({
    method: def.method,
    url: def.url,
    schema,
    ...(def.bodyLimit ? { bodyLimit: def.bodyLimit } : {}),
    config: { auth: def.auth, scope: def.scope, ...(def.audit !== undefined ? { audit: def.audit } : {}) },
    // zod validates (and coerces); the JSON schema above is for the OpenAPI document only.
    validatorCompiler: ({ httpPart }) => {
      const part = httpPart ? parts[httpPart] : undefined;
      return (data: unknown) => {
        if (!part) return { value: data };
        const r = part.schema.safeParse(data ?? {});
        if (r.success) return { value: r.data };
        return { error: new HubError(part.code, describeIssues(r.error)) };
      };
    },
    // JSON.stringify, not a schema-compiled serializer: the response schema is for the document
    // (and the test-time check), so a field it does not list is never dropped silently.
    ...(def.response ? { serializerCompiler: responseSerializer(def.response, `${def.method} ${def.url}`) } : {}),
    handler: def.handler as never,
  });
}

const CHECK_RESPONSES = process.env.VITEST !== undefined || process.env.JG_CHECK_RESPONSES === '1';

function responseSerializer(schema: z.ZodType, route: string) {
  return ({ httpStatus }: { httpStatus?: string }) =>
    (data: unknown): string => {
      if (CHECK_RESPONSES && (httpStatus === '200' || httpStatus === '201' || httpStatus === '202')) {
        const r = schema.safeParse(data);
        if (!r.success) throw new Error(`response of ${route} does not match its schema: ${describeIssues(r.error)}`);
      }
      return JSON.stringify(data);
    };
}

/** Common list paging. */
export const Page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/**
 * 'YYYY-MM' month (local time), of the years 2000–2099: nothing this system holds is older, and
 * month arithmetic (Date.UTC) reads the years 0–99 as 1900–1999.
 */
export const Month = z.string().regex(/^20\d{2}-(0[1-9]|1[0-2])$/, '月份格式 YYYY-MM（2000–2099 年）');

/** 'YYYY-Qn' quarter (local time), of the years 2000–2099 as Month. */
export const Quarter = z.string().regex(/^20\d{2}-Q[1-4]$/, '季度格式 YYYY-Qn（如 2026-Q4，2000–2099 年）');

/** A boolean from a query string. */
export const QueryBool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');
