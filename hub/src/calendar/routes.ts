/**
 * The work calendar (calendar.ts): everyone who signs in may read it (auditors' time limits and
 * leadership's figures depend on it); rule and system administrators change it, audited.
 */
import type { FastifyInstance } from 'fastify';
import { parseHolidayNotice, TypeHoursSchema, WorkPeriodSchema, type WorkHours } from '@jianguan/rules';
import { z } from 'zod';
import { authorize } from '../http/access.js';
import { defineRoute } from '../http/define.js';
import { HolidayNoticeSchema, WorkCalendarViewSchema } from '../protocol/index.js';
import type { WorkCalendars } from './calendar.js';

const EDITORS = ['rule_admin', 'system_admin'] as const;
const Note = z.string().max(500).default('');

export function registerCalendarRoutes(app: FastifyInstance, deps: { calendars: WorkCalendars }): void {
  const { calendars } = deps;

  defineRoute(app, {
    method: 'GET',
    url: '/api/v1/calendar',
    tags: ['规则'],
    summary: '工作日历：工作日与工作时段、各年法定节假日与调休上班日；缺少的年份（当年，11 月 1 日起还有下一年）',
    auth: 'any',
    scope: 'none',
    response: WorkCalendarViewSchema,
    handler: async () => calendars.view(),
  });

  defineRoute(app, {
    method: 'PUT',
    url: '/api/v1/calendar/hours',
    tags: ['规则'],
    summary: '设置工作日与工作时段（北京时间；时段不可重叠，至多 6 个），以及有自己营业时间的机构类型（如周末营业的检验机构）；自保存起用于全部规则、时限与采集终端离线判断',
    auth: [...EDITORS],
    scope: 'city',
    audit: 'calendar.hours',
    body: z.object({
      workingDays: z.array(z.number().int().min(1).max(7)).max(7),
      periods: z.array(WorkPeriodSchema).max(6),
      /** Institution types with hours of their own; the types are checked by the service (named in the refusal). */
      byType: z.record(z.string().max(64), TypeHoursSchema).optional(),
      note: Note,
    }),
    response: WorkCalendarViewSchema,
    handler: async (req) => {
      const p = authorize(req, [...EDITORS]);
      req.auditNote = { targetType: 'calendar', targetId: 'hours' };
      const { note, ...hours } = req.body;
      return calendars.saveHours(hours as WorkHours, note, p.username);
    },
  });

  defineRoute(app, {
    method: 'PUT',
    url: '/api/v1/calendar/years/:year',
    tags: ['规则'],
    summary: '设置某年的法定节假日与调休上班日（YYYY-MM-DD；可含前后 7 天，如跨年的元旦）；整年替换，保留修改历史',
    auth: [...EDITORS],
    scope: 'city',
    audit: 'calendar.year',
    params: z.object({ year: z.coerce.number().int().min(2000).max(2100) }),
    body: z.object({
      holidays: z.array(z.string().max(10)).max(120),
      extraWorkdays: z.array(z.string().max(10)).max(60),
      note: Note,
    }),
    response: WorkCalendarViewSchema,
    handler: async (req) => {
      const p = authorize(req, [...EDITORS]);
      req.auditNote = { targetType: 'calendar', targetId: String(req.params.year) };
      return calendars.saveYear(req.params.year, { holidays: req.body.holidays, extraWorkdays: req.body.extraWorkdays }, req.body.note, p.username);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/api/v1/calendar/notice',
    tags: ['规则'],
    summary: '识别国务院办公厅节假日安排通知的文字（粘贴全文），得出该年的放假与调休上班日期供核对；不保存',
    auth: [...EDITORS],
    scope: 'city',
    // Saves nothing, but it is a POST: the audit log names it rather than listing it as "other".
    audit: 'calendar.notice',
    body: z.object({ text: z.string().max(20_000), year: z.number().int().min(2000).max(2100).optional() }),
    response: HolidayNoticeSchema,
    handler: async (req) => parseHolidayNotice(req.body.text, req.body.year),
  });
}
