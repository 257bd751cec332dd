/**
 * The office directory: who is who, so screens show people by display name rather than user
 * name, and the assignees a warning may be handed to (the same eligibility the workflow checks:
 * an active auditor or leader whose scope covers the warning's county).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertInScope, authorize, inScope, ROLE_LABELS, scopedCounty, type Role } from '../http/access.js';
import { listUsers } from '../auth/users.js';
import type { Store } from '../store/store.js';
import { defineRoute } from '../http/define.js';
import { PeopleListSchema } from '../protocol/index.js';

/** Office roles: the wall account has no business knowing the staff list. */
const OFFICE: readonly Role[] = ['auditor', 'leader', 'registry_admin', 'rule_admin', 'system_admin'];

const PeopleQuery = z.object({
  /** Only people a warning of this county may be assigned to (auditors and leaders covering it). */
  assignableFor: z.string().regex(/^\d{6}$/).optional(),
  /** Only people of this county (and the city-wide ones); a county user may only ask for their own. */
  county: z.string().regex(/^\d{6}$/).optional(),
});

export function registerPeopleRoutes(app: FastifyInstance, deps: { store: Store }): void {
  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/people',
    tags: ['用户'],
    summary: '人员名录（用户名 → 姓名、角色、辖区），可筛选某区县预警的可分派核查人',
    auth: OFFICE,
    scope: 'list',
    query: PeopleQuery,
    response: PeopleListSchema,
    handler: async (req) => {
      const p = authorize(req, OFFICE);
      const county = req.query.assignableFor;
      if (county !== undefined) assertInScope(p, county, 'assignees');
      const only = scopedCounty(p, req.query.county);
      const users = (await listUsers(deps.store)).filter((u) => u.active);
      const items = users
        .filter((u) => only === undefined || u.scope === null || u.scope === only)
        .filter((u) => county === undefined || (u.roles.some((r) => r === 'auditor' || r === 'leader') && (u.scope === null || u.scope === county)))
        // A county-scoped reader sees the people of their county and the city-wide ones.
        .filter((u) => u.scope === null || inScope(p, u.scope))
        .map((u) => ({ username: u.username, displayName: u.displayName, roles: u.roles, roleNames: u.roles.map((r) => ROLE_LABELS[r]), scope: u.scope }));
      return { items };
    },
  });
}
