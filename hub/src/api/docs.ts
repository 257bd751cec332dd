/**
 * The OpenAPI document, generated from the route schemas (api/define.ts turns each route's zod
 * schemas into JSON schema) and served at /docs (Swagger UI) and /docs/json.
 */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: '监管 Jianguan API',
        version,
        description:
          '车驾管业务综合监管系统接口。登录：POST /api/v1/auth/login 返回会话令牌，并设置 HttpOnly Cookie `jg_session`；脚本可用 `Authorization: Bearer <token>`。' +
          '每个接口注明可用角色；区县范围的用户只能查看、处置本区县数据（越权返回 403 OUT_OF_SCOPE）。错误统一为 {"error":{"code","message"}}。',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'jg_session' },
          bearer: { type: 'http', scheme: 'bearer' },
          // /metrics: Bearer JG_METRICS_TOKEN (or loopback callers when no token is configured).
          metrics: { type: 'http', scheme: 'bearer', description: 'JG_METRICS_TOKEN' },
        },
      },
    },
    // Only the API is documented (not the SPA or health endpoints' internals).
    hiddenTag: 'hidden',
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}
