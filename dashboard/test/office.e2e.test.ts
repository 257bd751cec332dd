/**
 * The office screens against the real stack (hub + Redis + embedded ClickHouse + a simulated
 * collector + Chromium): login and role-aware navigation, the auditors' workbench taking a
 * warning through every workflow state (with a concurrency conflict and a bulk action), and the
 * leadership drill-down from the evaluation screen to a county, an institution's trend, a
 * deduction, its warning and transaction (the wall itself never navigates: an unattended wall must
 * never leave itself). Users are created and managed through forms.
 * Screenshots: dashboard/artifacts/office-*.png (git-ignored).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { canonicalAuthProof, READINESS_KEYS, type Readiness, type WorkCalendarView } from '@jianguan/protocol';
import { COUNTIES, DEFAULT_PACK } from '@jianguan/rules';
import ExcelJS from 'exceljs';
import { gb18030 } from '../../hub/test/gb18030';
import { HAVE_CHROMIUM, opened, shot, startStack, type Stack } from './stack';

if (!HAVE_CHROMIUM) console.warn('[office.e2e] SKIPPED: /usr/bin/chromium is missing (apt-get install -y chromium fonts-noto-cjk)');

const INSTITUTION = 'JCJ-CGS';

/** A made-up notice in the State Council's form, for a year no other test touches. */
const NOTICE_2031 = [
  '国务院办公厅关于2031年部分节假日安排的通知',
  '一、元旦：1月1日（周三）放假，共1天。',
  '二、春节：1月22日至28日放假调休，共7天。1月19日（周日）、2月8日（周六）上班。',
].join('\n');

/**
 * Chinese left on an English screen inside `roots`: text nodes, placeholders and options, except
 * recorded data (data-datum, lang="zh") and what is hidden.
 */
function chineseIn(page: Page, roots: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const out: string[] = [];
    const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
    for (const root of document.querySelectorAll(sel)) {
      const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const el = n.parentElement;
        const text = n.textContent ?? '';
        if (!el || !CJK.test(text) || el.closest('[data-datum], [lang^="zh"]') || el.closest('option, select, title')) continue;
        if (!el.checkVisibility()) continue;
        out.push(text.trim().slice(0, 40));
      }
      for (const el of root.querySelectorAll<HTMLInputElement>('input[placeholder], textarea[placeholder], select:not([data-datum]) option')) {
        const text = el.tagName === 'OPTION' ? (el.textContent ?? '') : el.placeholder;
        if (CJK.test(text) && !el.closest('[data-datum]')) out.push(`${el.tagName.toLowerCase()}: ${text.trim().slice(0, 40)}`);
      }
    }
    return [...new Set(out)];
  }, roots);
}
const COUNTY = '451202';

type Api = Awaited<ReturnType<Stack['as']>>;
interface Item {
  id: string;
  seq: number;
  state: string;
}

/** Clicks an action and answers the confirmation dialog of an irreversible step. */
async function confirmed(page: Page, selector: string): Promise<void> {
  await page.click(selector);
  await page.locator('[data-testid="confirm-ok"]').click({ timeout: 10_000 });
}

async function stateOf(page: Page): Promise<string | null> {
  return page.locator('[data-testid="state"]').getAttribute('data-state');
}

describe.skipIf(!HAVE_CHROMIUM)('office screens (real hub + collector + Chromium)', () => {
  let stack: Stack;
  let auditorApi: Api;
  /** The warning the auditor takes through the workflow (confirmed → a deduction). */
  let worked = '';

  beforeAll(async () => {
    stack = await startStack(INSTITUTION);
    auditorApi = await stack.as('auditor');
    // A collector presenting a key it has not had approved holds its batches until an
    // administrator approves it: approve the test collector as an administrator would.
    const adminApi = await stack.as('admin');
    for (const c of ((await adminApi('/api/v1/collectors')).body.items ?? []) as { collectorId: string; status: string }[]) {
      if (c.status === 'pending') expect((await adminApi(`/api/v1/collectors/${encodeURIComponent(c.collectorId)}/approve`, { json: {} })).status).toBe(200);
    }
    // New warnings are auto-assigned to the city auditor (the county one covers 451203 only).
    const deadline = Date.now() + 90_000;
    for (;;) {
      const n = ((await auditorApi('/api/v1/warnings?assignee=me&state=assigned&limit=50')).body.items ?? []).length;
      if (n >= 4) break;
      if (Date.now() > deadline) throw new Error(`only ${n} warnings were assigned to the auditor within 90 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  });

  afterEach(async (ctx) => {
    // A failed step leaves a picture of every page still open, for the report.
    if (ctx.task.result?.state === 'fail') {
      let i = 0;
      for (const p of opened.splice(0)) if (!p.isClosed()) await shot(p, `office-failed-${ctx.task.name.slice(0, 20).replace(/\W+/g, '-')}-${i++}.png`).catch(() => undefined);
    }
    opened.length = 0;
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('sends a visitor to /login, and keeps a wall viewer out of the workbench', async () => {
    const ctx = await stack.browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const page = await ctx.newPage();
    await page.goto(`${stack.hub.url}/workbench`);
    await page.waitForURL(/\/login\?next=%2Fworkbench/, { timeout: 15_000 });
    await page.fill('input[name="username"]', 'wall');
    await page.fill('input[name="password"]', 'wrong-password');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[data-testid="login-error"]').textContent(), { timeout: 10_000 }).toBe('用户名或密码错误');
    await shot(page, 'office-login.png');
    await ctx.close();

    const { page: wall, context, errors } = await stack.login('wall', '/workbench');
    await wall.waitForSelector('[data-testid="forbidden"]', { timeout: 15_000 });
    expect(await wall.locator('[data-testid="forbidden"]').textContent()).toContain('无权访问');
    expect(await wall.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏']);
    expect(await wall.locator('[data-testid="queue"]').count()).toBe(0);
    // The hub refuses the data as well.
    const api = await stack.as('wall');
    expect((await api('/api/v1/warnings?assignee=me')).status).toBe(403);
    await shot(wall, 'office-wall-viewer-forbidden.png');
    // Logging out ends the session: the workbench asks for a login again.
    await wall.click('[data-testid="logout"]');
    await wall.waitForURL(/\/login$/, { timeout: 10_000 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('answers an address no screen has with a page in Chinese naming it, and the way back', async () => {
    // A visitor: the wall and the login.
    const ctx = await stack.browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const visitor = await ctx.newPage();
    await visitor.goto(`${stack.hub.url}/counties`);
    const notice = visitor.locator('[data-testid="error-page"]');
    await notice.waitFor({ timeout: 15_000 });
    expect(await notice.getAttribute('data-status')).toBe('404');
    expect(await notice.locator('h1').textContent()).toBe('页面不存在');
    expect(await notice.textContent()).toContain('没有与此地址对应的页面：/counties');
    expect(await visitor.locator('[data-testid="error-wall"]').getAttribute('href')).toBe('/wall');
    await expect.poll(() => visitor.locator('[data-testid="error-home"]').getAttribute('href')).toBe('/login');
    await ctx.close();
    // A leader: back to the leader's own first screen, and in English when switched.
    const { page, context, errors } = await stack.login('leader');
    await page.waitForURL(/\/evaluation$/);
    await page.goto(`${stack.hub.url}/institution/${INSTITUTION}?lang=en`);
    await page.locator('[data-testid="error-page"] h1').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('[data-testid="error-home"]').textContent()).toBe('My start screen');
    expect(await page.locator('[data-testid="error-home"]').getAttribute('href')).toBe('/evaluation');
    expect(await page.locator('[data-testid="error-page"] h1').textContent()).toBe('Page not found');
    await shot(page, 'office-not-found-en.png');
    await page.locator('[data-testid="error-home"]').click();
    await page.waitForURL(/\/evaluation$/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets an auditor take a warning from assigned to disposed, and a leader review and close it', async () => {
    const mine: Item[] = (await auditorApi('/api/v1/warnings?assignee=me&state=assigned&limit=50')).body.items;
    const [first, second, b1, b2] = mine;
    worked = first!.id;

    const { page, context, errors } = await stack.login('auditor');
    await page.waitForURL(/\/workbench$/);
    expect(await page.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏', '我的待办', '预警']);
    const row = page.locator(`[data-testid="queue"] tr[data-warning-id="${worked}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('.badge').textContent()).toMatch(/^[高中低]$/);
    await expect.poll(() => row.locator('[data-testid="countdown"]').textContent(), { timeout: 15_000 }).toMatch(/^(剩余|超期) /);
    await shot(page, 'office-workbench.png');

    // A warning raised after the page opened, handed to the workflow as the evaluation worker
    // hands over what it stores: it is assigned to this auditor, and the queue's quiet reload
    // (every 10 s) shows it marked new and announces it (aria-live). The bulk step below runs meanwhile.
    const arrived = `w-e2e-arrival-${Date.now()}`;
    const raisedAt = Date.now();
    await stack.hub.store.insert('warnings', [
      {
        id: arrived, rule_id: 'check.short_duration', rule_name: '查验用时过短', rule_version: '1', family: 'check', severity: 'high', action: 'warn',
        transaction_id: `t-${arrived}`, batch_id: 'b-e2e-arrival', collector_id: 'c-office-e2e-01', institution_id: INSTITUTION, county: COUNTY,
        occurred_at: raisedAt, captured_at: raisedAt, raised_at: raisedAt, explanation: '查验用时60秒，少于阈值180秒', values_json: '{}', subject_masked: '',
      },
    ]);
    // And a warning the hub would no longer raise: 体检 off-hours on a stored business that is not
    // a medical check at all — as a warning looks once the filing it was raised on is corrected.
    const [stored] = await stack.hub.store.query<{ id: string; t: string }>(
      { sql: `SELECT id, toUnixTimestamp64Milli(occurred_at) AS t FROM transactions WHERE institution_id = '${INSTITUTION}' AND kind != 'medical' LIMIT 1`, params: {} },
    );
    const staleId = `w-e2e-stale-${Date.now()}`;
    await stack.hub.store.insert('warnings', [
      {
        id: staleId, rule_id: 'medical.off_hours', rule_name: '非工作时间出具体检证明', rule_version: '1', family: 'medical', severity: 'low', action: 'warn',
        transaction_id: stored!.id, batch_id: 'b-e2e-stale', collector_id: 'c-office-e2e-01', institution_id: INSTITUTION, county: COUNTY,
        occurred_at: Number(stored!.t), captured_at: Number(stored!.t), raised_at: raisedAt, explanation: '体检时间为休息日', values_json: '{}', subject_masked: '',
      },
    ]);
    stack.hub.supervision.raised([
      { id: arrived, county: COUNTY, institutionId: INSTITUTION, ruleId: 'check.short_duration', severity: 'high', raisedAt },
      { id: staleId, county: COUNTY, institutionId: INSTITUTION, ruleId: 'medical.off_hours', severity: 'low', raisedAt },
    ]);
    expect(await page.locator(`[data-testid="queue"] tr[data-warning-id="${arrived}"]`).count()).toBe(0);

    // Bulk: acknowledge two others at once.
    await page.locator(`tr[data-warning-id="${b1!.id}"] input[type="checkbox"]`).check();
    await page.locator(`tr[data-warning-id="${b2!.id}"] input[type="checkbox"]`).check();
    await page.click('[data-bulk="acknowledge"]');
    await expect.poll(() => page.locator('[data-testid="bulk-result"]').textContent(), { timeout: 15_000 }).toContain('成功 2');
    await expect.poll(() => page.locator(`tr[data-warning-id="${b1!.id}"]`).getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');

    // The arrival: assigned to this auditor by the hub, then in the queue marked new (only the
    // poll marks rows new) and announced, within two poll periods.
    await expect.poll(async () => (await auditorApi(`/api/v1/warnings/${encodeURIComponent(arrived)}`)).body.state?.assignee, { timeout: 10_000 }).toBe('auditor');
    const arrival = page.locator(`[data-testid="queue"] tr[data-warning-id="${arrived}"]`);
    await expect.poll(() => arrival.getAttribute('data-new'), { timeout: 25_000, interval: 500 }).toBe('yes');
    expect(await arrival.getAttribute('data-state')).toBe('assigned');
    expect(await arrival.locator('.new-tag').textContent()).toBe('新');
    const notice = page.locator('[data-testid="new-arrivals"]');
    expect(await notice.getAttribute('aria-live')).toBe('polite');
    expect(await notice.isVisible()).toBe(true);
    expect(await notice.textContent()).toMatch(/^新到预警 [1-9]\d* 条/);
    await shot(page, 'office-workbench-arrival.png');

    // 复核: the hub checks the queue again under today's filings and calendar. The stale warning is
    // no longer raised, the arrival (no business record behind it) cannot be rechecked; the one
    // no longer raised is selected with the note citing the recheck, and concluded as a false alarm
    // in three bulk steps.
    await expect.poll(async () => (await auditorApi(`/api/v1/warnings/${encodeURIComponent(staleId)}`)).body.state?.assignee, { timeout: 10_000 }).toBe('auditor');
    await page.click('[data-testid="refresh"]');
    await page.locator(`tr[data-warning-id="${staleId}"]`).waitFor({ timeout: 15_000 });
    await page.click('[data-testid="recheck"]');
    const summary = page.locator('[data-testid="recheck-result"]');
    await expect.poll(() => summary.textContent(), { timeout: 15_000 }).toMatch(/^已按现行备案与工作日历复核 \d+ 条：仍成立 \d+ 条，不再成立 1 条，无法复核 \d+ 条/);
    expect(await page.locator(`tr[data-warning-id="${staleId}"] [data-testid="stale"]`).textContent()).toBe('按现行备案已不成立');
    expect(await page.locator(`tr[data-warning-id="${arrived}"] [data-testid="not-checkable"]`).getAttribute('title')).toBe('未找到对应的业务记录');
    await shot(page, 'office-workbench-recheck.png');
    await page.click('[data-testid="select-stale"]');
    expect(await page.locator('[data-testid="queue"] tbody tr').count()).toBe(1);
    expect(await page.inputValue('[data-testid="bulk-note"]')).toMatch(/^系统复核（20\d\d-\d\d-\d\d \d\d:\d\d:\d\d，规则集 .+）：按现行备案与工作日历，该预警不再产生，核查为误报$/);
    await page.click('[data-bulk="acknowledge"]');
    await expect.poll(() => page.locator(`tr[data-warning-id="${staleId}"]`).getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');
    await page.locator(`tr[data-warning-id="${staleId}"] input[type="checkbox"]`).check();
    await page.click('[data-bulk="start_verification"]');
    await expect.poll(() => page.locator(`tr[data-warning-id="${staleId}"]`).getAttribute('data-state'), { timeout: 10_000 }).toBe('verifying');
    await page.locator(`tr[data-warning-id="${staleId}"] input[type="checkbox"]`).check();
    // The note stays as the recheck worded it through the steps before the conclusion.
    expect(await page.inputValue('[data-testid="bulk-note"]')).toMatch(/^系统复核/);
    // Concluding in bulk asks first, saying how many: cancelled, nothing changes.
    await page.click('[data-bulk="false_alarm"]');
    const dialog = page.locator('[data-testid="confirm"]');
    await expect.poll(() => dialog.textContent(), { timeout: 10_000 }).toContain('将 1 条预警');
    expect(await dialog.textContent()).toContain('不能撤回');
    await shot(page, 'office-workbench-bulk-confirm.png');
    await page.click('[data-testid="confirm-cancel"]');
    expect((await auditorApi(`/api/v1/warnings/${encodeURIComponent(staleId)}`)).body.state?.state).toBe('verifying');
    await confirmed(page, '[data-bulk="false_alarm"]');
    await expect.poll(async () => (await auditorApi(`/api/v1/warnings/${encodeURIComponent(staleId)}`)).body.state?.state, { timeout: 10_000 }).toBe('concluded');
    const concluded = (await auditorApi(`/api/v1/warnings/${encodeURIComponent(staleId)}`)).body;
    expect(concluded.state.conclusion).toBe('false_alarm');
    expect(concluded.events.at(-1).payload.comment).toMatch(/^系统复核/);
    await page.click('[data-testid="filter-all"]');
    // The list of all warnings rechecks its page too: the concluded one is still said to be no
    // longer raised (the recheck judges the rule, not the state).
    await page.goto(`${stack.hub.url}/warnings?state=concluded`);
    await page.locator(`[data-testid="warnings"] tr[data-warning-id="${staleId}"]`).waitFor({ timeout: 15_000 });
    await page.click('[data-testid="recheck-page"]');
    await expect.poll(() => page.locator('[data-testid="recheck-result"]').textContent(), { timeout: 15_000 }).toMatch(/不再成立 1 条/);
    expect(await page.locator(`[data-testid="warnings"] tr[data-warning-id="${staleId}"] [data-testid="stale"]`).textContent()).toBe('按现行备案已不成立');
    await page.goto(`${stack.hub.url}/workbench`);
    await row.waitFor({ timeout: 15_000 });

    // The full cycle on one warning, asserting each state.
    await row.locator('a').first().click();
    await page.waitForURL(new RegExp(`/warnings/${encodeURIComponent(worked)}$`));
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('assigned');
    expect(await page.locator('[data-testid="explanation"]').textContent()).toMatch(/[\u4e00-\u9fff]/);
    expect(await page.locator('[data-testid="transaction"] dt').count()).toBeGreaterThan(5);
    await page.click('[data-action="acknowledge"]');
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('acknowledged');
    await page.click('[data-action="start_verification"]');
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('verifying');
    await page.setInputFiles('[data-testid="evidence-file"]', { name: '现场照片.txt', mimeType: 'text/plain', buffer: Buffer.from('核查记录：调取窗口录像，确认代办人身份。') });
    await page.click('[data-action="evidence"]');
    await page.locator('[data-evidence="现场照片.txt"]').waitFor({ timeout: 15_000 });
    await page.check('input[name="conclusion"][value="confirmed"]');
    await page.fill('[data-testid="notes"]', '调取录像核实，确属违规办理。');
    // An irreversible step asks first; cancelling leaves the state as it was.
    await page.click('[data-action="conclude"]');
    expect(await page.locator('[data-testid="confirm"] h2').textContent()).toBe('提交核查结论');
    await page.click('[data-testid="confirm-cancel"]');
    expect(await stateOf(page)).toBe('verifying');
    await confirmed(page, '[data-action="conclude"]');
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('concluded');
    expect(await page.locator('[data-testid="conclusion"]').textContent()).toBe('异常属实');
    await page.locator('[data-testid="dispose"] label', { hasText: '锁定机动车' }).locator('input').check();
    await page.locator('[data-testid="dispose"] label', { hasText: '更正记录' }).locator('input').check();
    await page.fill('[data-testid="notes"]', '已锁定车辆并更正记录。');
    await confirmed(page, '[data-action="dispose"]');
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('disposed');
    expect(await page.locator('[data-testid="timeline"] li').count()).toBeGreaterThanOrEqual(6);
    expect(await page.locator('[data-action="review"]').count()).toBe(0); // review is the leader's
    await shot(page, 'office-warning-disposed.png');

    // Optimistic concurrency: someone else acknowledges while this screen shows the old state.
    await page.goto(`${stack.hub.url}/warnings/${encodeURIComponent(second!.id)}`);
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('assigned');
    expect((await auditorApi(`/api/v1/warnings/${encodeURIComponent(second!.id)}/actions`, { json: { type: 'acknowledge', expectedSeq: second!.seq } })).status).toBe(200);
    await page.click('[data-action="acknowledge"]');
    const conflict = page.locator('[data-testid="conflict"]');
    await conflict.waitFor({ timeout: 10_000 });
    expect(await conflict.textContent()).toContain('该预警刚被他人更新（当前状态为「已签收」');
    await shot(page, 'office-conflict.png');
    await page.click('[data-testid="reload"]');
    await expect.poll(() => stateOf(page), { timeout: 10_000 }).toBe('acknowledged');
    expect(await conflict.count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();

    // The leader reviews and closes.
    const leader = await stack.login('leader', `/warnings/${encodeURIComponent(worked)}`);
    const lp = leader.page;
    await expect.poll(() => stateOf(lp), { timeout: 15_000 }).toBe('disposed');
    // Reassigning is a choice of eligible people by display name, never a typed user name.
    const leaderApi = await stack.as('leader');
    const [open] = (await leaderApi('/api/v1/warnings?state=assigned&limit=1')).body.items as { id: string }[];
    expect(open).toBeDefined();
    await lp.goto(`${stack.hub.url}/warnings/${encodeURIComponent(open!.id)}`);
    await expect.poll(() => lp.locator('[data-testid="assignee-input"] option').count(), { timeout: 15_000 }).toBeGreaterThan(1);
    const names = await lp.locator('[data-testid="assignee-input"] option').allTextContents();
    expect(names.join()).toContain('核查');
    expect(names).not.toContain('auditor');
    await lp.goto(`${stack.hub.url}/warnings/${encodeURIComponent(worked)}`);
    await expect.poll(() => stateOf(lp), { timeout: 15_000 }).toBe('disposed');
    await confirmed(lp, '[data-action="review"]');
    await expect.poll(() => stateOf(lp), { timeout: 15_000 }).toBe('reviewed');
    await confirmed(lp, '[data-action="close"]');
    await expect.poll(() => stateOf(lp), { timeout: 15_000 }).toBe('closed');
    const events = await lp.locator('[data-testid="timeline"] li[data-event]').evaluateAll((els) => els.map((e) => e.getAttribute('data-event')));
    expect(events).toEqual(expect.arrayContaining(['assigned', 'acknowledged', 'verification_started', 'evidence_attached', 'concluded', 'disposed', 'reviewed', 'closed']));
    await shot(lp, 'office-warning-closed.png');
    expect(leader.errors).toEqual([]);
    await leader.context.close();
  });

  it('says the 12-month trend is being computed until it arrives, not 无业务 for every month', async () => {
    const { page, context, errors } = await stack.login('leader', '/evaluation');
    // The trend's answer is held until the loading state has been read (the first computation
    // takes ~20 s on a fresh hub); nothing here depends on how long anything takes.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await page.route(/\/api\/v1\/evaluation\/institutions\/[^/]+\/trend/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${stack.hub.url}/institutions/${INSTITUTION}`);
    await page.locator('[data-testid="trend-loading"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="trend-loading"]').textContent()).toContain('正在计算');
    expect(await page.locator('[data-nobiz]').count()).toBe(0);
    await shot(page, 'office-institution-trend-loading.png');
    release();
    await page.locator('[data-testid="score-trend"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="trend-loading"]').count()).toBe(0);
    // Export links are left to the browser (not routed or preloaded as pages).
    for (const a of await page.locator('a[href*=".xlsx"]').all()) expect(await a.getAttribute('download')).not.toBeNull();
    await page.unroute(/\/api\/v1\/evaluation\/institutions\/[^/]+\/trend/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('names every workflow step on the audit screen and filters them as 预警处置 and 批量处置', async () => {
    const { page, context, errors } = await stack.login('admin', '/audit');
    const rows = page.locator('[data-testid="audit"] td[data-action]');
    await rows.first().waitFor({ timeout: 15_000 });
    await page.selectOption('[data-testid="audit-action"]', 'group:warning');
    await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).every((a) => /^warning\.(?!bulk)/.test(a ?? '')), { timeout: 15_000 }).toBe(true);
    const steps = await rows.evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), e.textContent?.trim()]));
    expect(steps.map(([a]) => a)).toEqual(expect.arrayContaining(['warning.acknowledge', 'warning.conclude', 'warning.close']));
    expect(steps.find(([a]) => a === 'warning.conclude')?.[1]).toBe('预警核查结论');
    await shot(page, 'office-audit-warning-steps.png');
    await page.selectOption('[data-testid="audit-action"]', 'group:warning_bulk');
    await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).every((a) => (a ?? '').startsWith('warning.bulk.')), { timeout: 15_000 }).toBe(true);
    const bulk = await rows.evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), e.textContent?.trim()]));
    expect(bulk.find(([a]) => a === 'warning.bulk.conclude')?.[1]).toBe('批量核查结论');
    expect(await page.locator('[data-testid="audit"]').textContent()).not.toContain('其他操作');
    // The export link carries the same filter and is left to the browser.
    expect(await page.locator('a[href^="/api/v1/audit.xlsx"]').getAttribute('href')).toContain('actions=warning.bulk.');
    expect(await page.locator('a[href^="/api/v1/audit.xlsx"]').getAttribute('download')).not.toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets a leader drill from the evaluation screen to a county, an institution trend, a deduction, its warning and transaction', async () => {
    expect(worked).not.toBe('');
    // Score now rather than waiting for the 5-minute cycle: the administrator's recompute button,
    // which starts the hub's job and shows its progress until it ends.
    {
      const { page, context, errors } = await stack.login('admin', '/evaluation');
      await page.waitForURL(/\/evaluation$/);
      await page.locator('[data-testid="recompute"]').click();
      const status = page.locator('[data-testid="recompute-status"][data-state="done"]');
      await status.waitFor({ timeout: 30_000 });
      const text = (await status.textContent()) ?? '';
      expect(text).toContain('已完成');
      expect(text).toMatch(/台账核对 \d+ 轮/);
      expect(text).toMatch(/得分 (\d+)\/\1 个月/);
      expect(text).toContain('admin 发起于');
      await shot(page, 'office-evaluation-recompute.png');
      expect(errors).toEqual([]);
      await context.close();
      const admin = await stack.as('admin');
      expect((await admin('/api/v1/evaluation/refresh')).body.job).toMatchObject({ state: 'done', requestedBy: 'admin' });
    }

    const { page, context, errors } = await stack.login('leader');
    await page.waitForURL(/\/evaluation$/);
    expect(await page.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏', '机构考核', '预警', '规则质量']);
    const countyLink = page.locator(`[data-testid="county-summary"] [data-county-link="${COUNTY}"]`);
    await countyLink.waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="scores"]').waitFor({ timeout: 15_000 });
    // The month's figures are as of their computation, said with its time (the latest of the rows).
    {
      const month = (await (await stack.as('leader'))('/api/v1/evaluation/scores')).body as { items: { computedAt: number }[] };
      const latest = Math.max(...month.items.map((r) => r.computedAt));
      const cst = new Date(latest + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
      expect(await page.locator('[data-testid="computed-at"]').textContent()).toBe(`得分计算于 ${cst}（每5分钟及核查结论后重算）`);
    }
    await shot(page, 'office-evaluation.png');

    // By quarter: each institution's grade on the mean of its months, what the grade brings, the
    // months it came from — the hub's figures.
    await page.locator('[data-testid="period-quarter"]').click();
    const grades = page.locator('[data-testid="quarter-grades"]');
    await grades.waitFor({ timeout: 15_000 });
    const quarters = (await (await stack.as('leader'))('/api/v1/evaluation/quarters')).body as {
      quarter: string; months: string[]; final: boolean;
      items: { institutionId: string; score: number; grade: string; gradeLabel: string; action: string; graded: boolean }[];
    };
    expect(quarters.final).toBe(false);
    expect(await page.locator('[data-testid="quarter"]').inputValue()).toBe(quarters.quarter);
    expect(await page.locator('[data-testid="provisional"]').textContent()).toMatch(/本季度至 \d+ 月底结束/);
    const headers = await grades.locator('thead th').allTextContents();
    expect(headers).toEqual(['机构', '类型', '区县', ...quarters.months.map((m) => `${Number(m.slice(5))}月`), '季度得分', '季度等级', '处理', '同类排名']);
    const ours = quarters.items.find((i) => i.institutionId === INSTITUTION)!;
    expect(ours.graded).toBe(true);
    const row = grades.locator(`tr[data-institution="${INSTITUTION}"]`);
    const cells = await row.locator('td').allTextContents();
    expect(cells[3 + quarters.months.length]).toBe(ours.score.toFixed(2));
    expect(cells[4 + quarters.months.length]).toContain(`${ours.grade} ${ours.gradeLabel}`);
    expect(cells[5 + quarters.months.length]).toBe(ours.action);
    expect(await grades.locator('tbody tr').count()).toBe(quarters.items.filter((i) => i.graded).length);
    expect(await page.locator('a.btn[href^="/api/v1/evaluation/quarters.xlsx"]').getAttribute('href')).toBe(`/api/v1/evaluation/quarters.xlsx?quarter=${quarters.quarter}`);
    // The address keeps the view: a reload opens the quarter's grades again.
    expect(new URL(page.url()).search).toBe(`?period=quarter&quarter=${quarters.quarter}`);
    await page.reload();
    await grades.waitFor({ timeout: 15_000 });
    await shot(page, 'office-evaluation-quarter.png');
    await page.locator('[data-testid="period-month"]').click();
    await page.locator('[data-testid="scores"]').waitFor({ timeout: 15_000 });

    // The office side is where a journey starts: evaluation → county.
    await countyLink.click();
    await page.waitForURL(new RegExp(`/counties/${COUNTY}$`), { timeout: 10_000 });
    expect(await page.locator('[data-testid="county-title"]').textContent()).toBe('金城江区');
    const link = page.locator(`[data-institution-link="${INSTITUTION}"]`);
    await link.waitFor({ timeout: 15_000 });
    await shot(page, 'office-county.png');
    await link.click();

    await page.waitForURL(new RegExp(`/institutions/${INSTITUTION}$`));
    await page.locator('[data-testid="score-trend"] .pt').first().waitFor({ timeout: 15_000 });
    const score = Number(await page.locator('[data-testid="score-trend"] .pt').last().getAttribute('data-score'));
    expect(score).toBeGreaterThan(0);
    // The newest point's score label and the band letters never overlap.
    const newest = await page.locator('[data-testid="score-trend"] .pt').last().locator('text').boundingBox();
    expect(newest).not.toBeNull();
    for (const band of await page.locator('[data-testid="score-trend"] text[data-band]').all()) {
      const b = (await band.boundingBox())!;
      const apart = newest!.x + newest!.width <= b.x || b.x + b.width <= newest!.x || newest!.y + newest!.height <= b.y || b.y + b.height <= newest!.y;
      expect(apart, `band ${await band.getAttribute('data-band')} overlaps the newest score label`).toBe(true);
    }
    expect(score).toBeLessThanOrEqual(100);
    expect(await page.locator('[data-testid="grade"] .grade').textContent()).toMatch(/^[ABCD]$/);
    // When the score was computed, beside volumes that are live: the time the hub gives the month's row.
    const trend = (await (await stack.as('leader'))(`/api/v1/evaluation/institutions/${INSTITUTION}/trend`)).body as { items: { month: string; computedAt: number }[] };
    const selected = await page.locator('[data-testid="score-trend"] .pt.sel').getAttribute('data-month');
    const shown = trend.items.find((r) => r.month === selected)!;
    const cst = new Date(shown.computedAt + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    expect(await page.locator('[data-testid="computed-at"]').textContent()).toContain(`得分计算于 ${cst}`);
    // The quarters the trend covers whole, newest first, graded as the evaluation screen grades them.
    const byQuarter = (await (await stack.as('leader'))(`/api/v1/evaluation/institutions/${INSTITUTION}/trend`)).body as { quarters: { quarter: string; grade: string; gradeLabel: string; graded: boolean; score: number }[] };
    expect(byQuarter.quarters.length).toBeGreaterThanOrEqual(4);
    const newestQuarter = byQuarter.quarters[byQuarter.quarters.length - 1]!;
    expect(await page.locator('[data-testid="quarters"] tbody tr').first().getAttribute('data-quarter')).toBe(newestQuarter.quarter);
    const quarterCells = await page.locator(`[data-testid="quarters"] tr[data-quarter="${newestQuarter.quarter}"] td`).allTextContents();
    expect(quarterCells[0]).toContain('（进行中，暂定）');
    expect(quarterCells[1]).toBe(newestQuarter.score.toFixed(2));
    expect(quarterCells[2]).toContain(`${newestQuarter.grade} ${newestQuarter.gradeLabel}`);
    // A finished quarter's notice to the institution, printed by the hub; none while in progress.
    expect(await page.locator(`[data-testid="quarters"] tr[data-quarter="${newestQuarter.quarter}"] [data-notice]`).count()).toBe(0);
    const finished = byQuarter.quarters[byQuarter.quarters.length - 2]!;
    const noticeLink = page.locator(`[data-testid="quarters"] tr[data-quarter="${finished.quarter}"] [data-notice]`);
    const noticeUrl = `/api/v1/evaluation/institutions/${INSTITUTION}/notice?quarter=${finished.quarter}`;
    expect(await noticeLink.getAttribute('href')).toBe(noticeUrl);
    const title = !finished.graded ? '季度考核结果通知书' : finished.grade === 'C' ? '考核书面警示通知书' : finished.grade === 'D' ? '暂停联网业务通知书' : '季度考核结果通知书';
    expect(await noticeLink.textContent()).toBe(title === '季度考核结果通知书' ? '结果通知书' : title.replace('考核', ''));
    const printed = await context.newPage();
    expect((await printed.goto(`${stack.hub.url}${noticeUrl}`))?.status()).toBe(200);
    expect(await printed.locator('h1').textContent()).toBe(title);
    expect(await printed.locator('p.to').textContent()).toBe(`${await page.locator('[data-testid="institution-title"]').textContent()}：`);
    await shot(printed, 'office-quarter-notice.png');
    await printed.close();
    // The bands are the hub's configured thresholds, not the chart's defaults.
    const cfg = (await (await stack.as('leader'))('/api/v1/evaluation/config')).body as { grades: { A: number; B: number; C: number } };
    expect(await page.locator('[data-testid="score-trend"]').getAttribute('data-bands')).toBe(`A${cfg.grades.A},B${cfg.grades.B},C${cfg.grades.C},D0`);
    // One explanation: the deduction's score effect is the hub's figure, and the categories add up to the score shown.
    const ded = (await (await stack.as('leader'))(`/api/v1/evaluation/institutions/${INSTITUTION}/deductions?month=${await page.locator('[data-testid="score-trend"] .pt.sel').getAttribute('data-month')}`)).body as {
      explanation: { score: number; totalDeducted: number };
      items: { warningId: string; scorePoints: number; points: number }[];
    };
    const mine = ded.items.find((i) => i.warningId === worked)!;
    expect(mine.scorePoints).toBeGreaterThan(0);
    const effect = await page.locator(`[data-testid="deductions"] tr:has([data-deduction="${worked}"]) [data-field="effect"]`).textContent();
    expect(effect).toBe(`−${mine.scorePoints.toFixed(2)}`);
    expect(await page.locator('[data-testid="explained-score"]').textContent()).toBe(ded.explanation.score.toFixed(2));
    expect(await page.locator('[data-testid="families"] tr').count()).toBeGreaterThan(0);

    // Volumes by business type: the card shows the hub's numbers for the month on screen.
    const volumes = page.locator('[data-testid="volumes"]');
    await volumes.locator('tr[data-volume]').first().waitFor({ timeout: 15_000 });
    const shownMonth = (await volumes.getAttribute('data-month'))!;
    expect(shownMonth).toMatch(/^\d{4}-\d{2}$/);
    const leaderApi = await stack.as('leader');
    const fromApi = (await leaderApi(`/api/v1/evaluation/institutions/${INSTITUTION}/volumes?month=${shownMonth}`)).body as {
      total: { transactions: number };
      items: { key: string; label: string; transactions: number }[];
    };
    expect(fromApi.total.transactions).toBeGreaterThan(0);
    const rows = await volumes.locator('tr[data-volume]').evaluateAll((trs) =>
      trs.map((tr) => ({
        key: tr.getAttribute('data-volume'),
        label: tr.querySelector('[data-field="label"]')?.textContent?.trim(),
        count: Number(tr.querySelector('[data-field="count"]')?.textContent),
      })),
    );
    expect(rows).toEqual(fromApi.items.map((i) => ({ key: i.key, label: i.label, count: i.transactions })));
    // Largest first, Chinese business labels, and the biggest one did some business.
    expect(rows[0]!.count).toBeGreaterThan(0);
    expect(rows.map((r) => r.count)).toEqual([...rows.map((r) => r.count)].sort((a, b) => b - a));
    for (const r of rows) expect(r.label).toMatch(/[\u4e00-\u9fff]/);

    const deduction = page.locator(`[data-deduction="${worked}"]`);
    await deduction.waitFor({ timeout: 15_000 });
    await shot(page, 'office-institution.png');
    await deduction.click();

    await page.waitForURL(new RegExp(`/warnings/${encodeURIComponent(worked)}$`));
    await expect.poll(() => stateOf(page), { timeout: 15_000 }).toBe('closed');
    expect(await page.locator('[data-testid="rule-name"]').textContent()).toMatch(/[\u4e00-\u9fff]/);
    expect(await page.locator('[data-testid="transaction"] [data-field="id"]').count()).toBe(1);
    // …and the transaction behind it, by its business number and institution name.
    const detail = (await leaderApi(`/api/v1/warnings/${encodeURIComponent(worked)}`)).body as { transaction: { lsh: string; institutionName: string } };
    expect(detail.transaction.lsh).not.toBe('');
    expect(await page.locator('[data-testid="transaction"] [data-field="lsh"]').textContent()).toBe(detail.transaction.lsh);
    expect(await page.locator('[data-testid="transaction"] [data-field="institutionId"]').textContent()).toBe(detail.transaction.institutionName);
    await shot(page, 'office-drill-warning.png');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('files a registry change as one administrator and approves it as another (maker-checker)', async () => {
    const { page, context, errors } = await stack.login('registry');
    await page.waitForURL(/\/registry$/);
    expect(await page.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏', '备案管理']);
    const row = page.locator('[data-testid="records"] tr[data-key]').first();
    await row.waitFor({ timeout: 15_000 });
    const key = (await row.getAttribute('data-key'))!;
    await row.locator('[data-edit]').click();
    // A form, not JSON: typed fields with Chinese labels, a date picker and an institution choice.
    expect(await page.locator('[data-testid="change-json"]').count()).toBe(0);
    await expect.poll(() => page.locator('[data-testid="change-fields"] [data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe(key);
    expect(await page.locator('[data-testid="change-fields"] [data-field="validFrom"] input').getAttribute('type')).toBe('date');
    expect(await page.locator('[data-testid="change-fields"] [data-field="institutionId"] select option:checked').textContent()).toMatch(/[\u4e00-\u9fff]/);
    await page.fill('[data-testid="change-fields"] [data-field="name"] input', '备案变更测试员');
    await page.fill('[data-testid="change-fields"] [data-field="validTo"] input', '2030-12-31');
    await shot(page, 'office-registry-form.png');
    await page.click('[data-testid="change-form"] button[type="submit"]');
    const detail = page.locator('[data-testid="request-detail"]');
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 15_000 }).toBe('pending');
    expect(await page.locator('[data-testid="own-request"]').textContent()).toContain('另一名备案管理员');
    expect(await page.locator('[data-testid="approve"]').count()).toBe(0);
    const requestId = (await detail.locator('h2').textContent())!.match(/申请 (\S+)/)![1]!;
    await shot(page, 'office-registry-filed.png');

    // A new institution with business hours of its own (营业时间), typed as people write them: the
    // line under the input says what will be filed, or why it cannot be read (then nothing is sent).
    await page.selectOption('[data-testid="change-form"] select[aria-label="类别"]', 'institution');
    const fieldOf = (name: string) => page.locator(`[data-testid="change-fields"] [data-field="${name}"]`);
    await fieldOf('id').locator('input').fill('YZ-E2E-HOURS');
    await fieldOf('name').locator('input').fill('宜州区某机动车检测站');
    await fieldOf('type').locator('select').selectOption('inspection_station');
    await fieldOf('county').locator('select').selectOption('451203');
    await fieldOf('lon').locator('input').fill('108.64');
    await fieldOf('lat').locator('input').fill('24.5');
    await page.fill('[data-testid="change-form"] input[placeholder="申请说明"]', '新增机构（单独备案营业时间）');
    const reading = fieldOf('hours').locator('[data-testid="hours-reading"]');
    await fieldOf('hours').locator('input').fill('周一至周五 8:00-17:00，周六');
    await expect.poll(() => reading.getAttribute('data-ok')).toBe('false');
    expect(await reading.textContent()).toBe('无法识别：未写明周六的营业时段');
    await page.click('[data-testid="change-form"] button[type="submit"]');
    await expect.poll(() => page.locator('[data-testid="form-error"]').textContent()).toContain('营业时间：未写明周六的营业时段');
    expect(await detail.locator('h2').textContent()).toContain(requestId);
    // Saturday mornings: a day with periods of its own.
    await fieldOf('hours').locator('input').fill('周一至周五 8:00-17:00，周六上午 8:00-12:00，节假日照常营业');
    await expect.poll(() => reading.textContent()).toBe('将登记为：周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日照常营业');
    // The refusal was of the words before: it goes once the field is touched again.
    expect(await page.locator('[data-testid="form-error"]').count()).toBe(0);
    await fieldOf('hours').scrollIntoViewIfNeeded();
    await shot(page, 'office-registry-form-hours.png');
    await page.click('[data-testid="change-form"] button[type="submit"]');
    await expect.poll(() => detail.locator('h2').textContent(), { timeout: 15_000 }).not.toContain(requestId);
    const hoursRequestId = (await detail.locator('h2').textContent())!.match(/申请 (\S+)/)![1]!;
    expect(await detail.locator('[data-field="hours"]').textContent()).toBe('周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日照常营业');
    expect(errors).toEqual([]);
    await context.close();

    const checker = await stack.login('registry2');
    const cp = checker.page;
    await cp.locator(`[data-request="${requestId}"]`).click();
    await cp.fill('[data-testid="decision"]', '材料齐全，同意。');
    await cp.click('[data-testid="approve"]');
    await expect.poll(() => cp.locator('[data-testid="request-detail"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('approved');
    expect(await cp.locator('[data-testid="request-detail"] [data-field="validTo"]').textContent()).toBe('2030-12-31');
    await expect.poll(() => cp.locator(`[data-testid="records"] tr[data-key="${key}"]`).textContent(), { timeout: 15_000 }).toContain('备案变更测试员');
    // Staff rows name their institution; search narrows the list.
    await cp.fill('[data-testid="records-search"]', '备案变更测试员');
    await expect.poll(() => cp.locator('[data-testid="records"] tr[data-key]').count(), { timeout: 10_000 }).toBe(1);
    expect(await cp.locator(`[data-testid="records"] tr[data-key="${key}"] [data-col="institutionId"]`).textContent()).toMatch(/[\u4e00-\u9fff]/);
    await shot(cp, 'office-registry-approved.png');
    // The institution with its own hours: the approver reads them as words, and approves.
    await cp.locator(`[data-request="${hoursRequestId}"]`).click();
    await expect.poll(() => cp.locator('[data-testid="request-detail"] [data-field="hours"]').textContent(), { timeout: 10_000 }).toBe('周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日照常营业');
    await cp.click('[data-testid="approve"]');
    await expect.poll(() => cp.locator('[data-testid="request-detail"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('approved');

    // An institution filed without coordinates (its register has none): counted and listable.
    const maker = await stack.as('registry');
    const approver = await stack.as('registry2');
    const filed = await maker('/api/v1/registry/requests', { method: 'POST', json: { summary: '新增机构（无坐标）', items: [{ entity: 'institution', data: { id: 'YZ-E2E-NOPLACE', name: '宜州区某登记服务站', type: 'registration_station', county: '451203', status: 'active' } }] } });
    expect(filed.status).toBe(201);
    expect((await approver(`/api/v1/registry/requests/${(filed.body as { id: string }).id}/approve`, { method: 'POST', json: {} })).status).toBe(200);
    await cp.reload();
    await cp.locator('[data-entity="institution"]').click();
    const unplaced = cp.locator('[data-testid="records-unplaced"]');
    await expect.poll(() => unplaced.textContent(), { timeout: 15_000 }).toBe('未标注位置 1');
    await unplaced.click();
    await expect.poll(() => cp.locator('[data-testid="records"] tr[data-key]').count(), { timeout: 10_000 }).toBe(1);
    expect(await cp.locator('[data-testid="records"] tr[data-key="YZ-E2E-NOPLACE"] [data-col="name"]').textContent()).toBe('宜州区某登记服务站');
    await shot(cp, 'office-registry-unplaced.png');
    await unplaced.click();
    await expect.poll(() => cp.locator('[data-testid="records"] tr[data-key]').count(), { timeout: 10_000 }).toBeGreaterThan(1);
    // 营业时间: the institution's own hours in words; one without them keeps its type's.
    await cp.fill('[data-testid="records-search"]', 'YZ-E2E');
    const hoursCell = cp.locator('[data-testid="records"] tr[data-key="YZ-E2E-HOURS"] [data-col="hours"]');
    await expect.poll(() => hoursCell.textContent(), { timeout: 10_000 }).toBe('周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日照常营业');
    expect(await cp.locator('[data-testid="records"] tr[data-key="YZ-E2E-NOPLACE"] [data-col="hours"]').textContent()).toBe('按机构类型');
    await shot(cp, 'office-registry-hours.png');

    // A change approved ahead of its effective time: the request says it takes effect then, and
    // the register shows it once the time has come (no approval at that moment).
    const at = Date.now() + 4_000;
    const later = await maker('/api/v1/registry/requests', {
      method: 'POST',
      json: { summary: '更名（自下周一起）', effectiveFrom: new Date(at).toISOString(), items: [{ entity: 'institution', data: { id: 'YZ-E2E-NOPLACE', name: '宜州区某登记服务站（更名）', type: 'registration_station', county: '451203', status: 'active' } }] },
    });
    expect(later.status).toBe(201);
    const laterId = (later.body as { id: string }).id;
    expect((await approver(`/api/v1/registry/requests/${laterId}/approve`, { method: 'POST', json: {} })).status).toBe(200);
    await cp.goto(`${stack.hub.url}/registry?request=${encodeURIComponent(laterId)}`);
    await expect.poll(() => cp.locator('[data-testid="request-effective"]').textContent(), { timeout: 10_000 }).toContain('（尚未到生效时间，届时自动生效）');
    await shot(cp, 'office-registry-later.png');
    const nameNow = async () => ((await maker('/api/v1/registry/institutions')).body.items as { id: string; name: string }[]).find((i) => i.id === 'YZ-E2E-NOPLACE')?.name;
    await expect.poll(nameNow, { timeout: 15_000 }).toBe('宜州区某登记服务站（更名）');
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(checker.errors).toEqual([]);
    await checker.context.close();

    // The work calendar lists it among the institutions with hours of their own, linking to the
    // registry for a system administrator (who may open it); in English, all in English.
    const admin = await stack.login('admin', '/calendar');
    const own = admin.page.locator('[data-testid="institution-hours"]');
    const listed = own.locator('li[data-institution="YZ-E2E-HOURS"]');
    await listed.waitFor({ timeout: 15_000 });
    expect(await own.locator('h2').textContent()).toBe('单独备案营业时间的机构');
    expect(await listed.innerText()).toBe('宜州区某机动车检测站 机动车检验机构 · 宜州区\n周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日照常营业');
    expect(await own.locator('[data-testid="institution-hours-registry"]').getAttribute('href')).toBe('/registry');
    await own.scrollIntoViewIfNeeded();
    await shot(admin.page, 'office-calendar-institution-hours.png');
    await admin.page.goto(`${stack.hub.url}/calendar?lang=en`);
    await listed.waitFor({ timeout: 15_000 });
    expect(await listed.locator('[data-field="hours"]').innerText()).toBe('Mon–Fri 08:00–17:00; Sat 08:00–12:00; open on public holidays');
    expect(await chineseIn(admin.page, '[data-testid="institution-hours"]')).toEqual([]);
    await admin.page.evaluate(() => localStorage.setItem('jg.lang', 'zh'));
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  });

  it('reads the requests again every minute while the registry screen stays in view', async () => {
    const { page, context, errors } = await stack.login('registry');
    // The page's clock is faked from here on (it still runs with real time): a minute is skipped
    // below instead of waited for.
    await context.clock.install();
    await page.goto(`${stack.hub.url}/registry`);
    const list = page.locator('[data-testid="requests"]');
    // Loaded and settled (its list shows the requests waiting for approval: none of this one
    // yet) — filed before the screen's first reads were over, the request would be read by them.
    await page.locator('[data-testid="records"] tr[data-key]').first().waitFor({ timeout: 15_000 });
    await page.waitForLoadState('networkidle');
    // The other administrator files a change on their own screen.
    const other = await stack.as('registry2');
    const hospital = ((await other('/api/v1/registry/institutions')).body.items as Record<string, unknown>[]).find((i) => i.id === 'FS-YY')!;
    const filed = await other('/api/v1/registry/requests', { json: { summary: '每分钟刷新', items: [{ entity: 'institution', data: { ...hospital, name: `${String(hospital.name)}（更名）` } }] } });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    const id = filed.body.id as string;
    await page.waitForTimeout(1_000);
    expect(await list.locator(`[data-request="${id}"]`).count()).toBe(0);
    await page.clock.fastForward('01:01');
    await expect.poll(() => list.locator(`[data-request="${id}"]`).count(), { timeout: 10_000 }).toBe(1);
    // Withdrawn by its other administrator: the hospital's record is changed again further on.
    expect((await (await stack.as('registry'))(`/api/v1/registry/requests/${id}/reject`, { method: 'POST', json: { comment: '测试' } })).status).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("exports the register in the import columns, previews an import saved by Excel on a Chinese Windows (GBK CSV) with its names readable, and names an .xls it cannot read", async () => {
    const { page, context, errors } = await stack.login('registry');
    await page.waitForURL(/\/registry$/);
    // The register goes out in the import's own columns, names beside the codes.
    await page.locator('[data-entity="staff"]').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="records-export"]').click()]);
    expect(download.suggestedFilename()).toBe('人员备案.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(await download.path());
    const sheet = wb.worksheets[0]!;
    expect((sheet.getRow(1).values as unknown[]).slice(1, 5)).toEqual(['编号', '机构', '机构名称', '角色']);
    expect(String(sheet.getRow(2).getCell(3).value)).toMatch(/[\u4e00-\u9fff]/);
    await page.goto(`${stack.hub.url}/registry/import`);
    // The same file is offered on the import screen as its template.
    expect(await page.locator('[data-testid="import-template"]').getAttribute('href')).toBe('/api/v1/registry/staff.xlsx');
    const csv = gb18030('编号,机构,角色,姓名,备案,有效期起\r\nJCJ-JYZ-E2E-GBK,JCJ-JYZ,查验员,黄志强,是,2019-03-01\r\n');
    await page.setInputFiles('[data-testid="import-file"]', { name: '人员.csv', mimeType: 'text/csv', buffer: csv });
    await page.getByRole('button', { name: '预览' }).click();
    const preview = page.locator('[data-testid="import-preview"]');
    await preview.waitFor({ timeout: 15_000 });
    expect(await preview.locator('tbody tr').first().textContent()).toContain('黄志强');
    // Names, not codes: the institution as the registry screen names it, the role by its label.
    await expect.poll(() => preview.locator('tbody tr [data-col="institutionId"]').first().textContent(), { timeout: 10_000 }).toMatch(/^[^A-Z]*[\u4e00-\u9fff]/);
    expect(await preview.locator('tbody tr [data-col="role"]').first().textContent()).toBe('查验员');
    expect(await page.locator('[data-testid="import-encoding"]').textContent()).toContain('GBK');
    await shot(page, 'office-registry-import-gbk.png');
    // A register with its title above the header: skipped, and said so; rows numbered as the sheet's.
    // Two filing periods of one person: the first version ends the day before the second begins.
    const titled = Buffer.from('\uFEFF河池市机动车检验机构人员备案表,,,,,\r\n编号,机构,角色,姓名,备案,有效期起\r\nJCJ-JYZ-E2E-T1,JCJ-JYZ,查验员,莫小燕,是,2020-01-01\r\nJCJ-JYZ-E2E-T1,JCJ-JYZ,查验员,莫小燕,是,2022年6月1日\r\n');
    await page.setInputFiles('[data-testid="import-file"]', { name: '人员备案表.csv', mimeType: 'text/csv', buffer: titled });
    await page.getByRole('button', { name: '预览' }).click();
    await expect.poll(() => page.locator('[data-testid="import-header-row"]').textContent(), { timeout: 10_000 }).toContain('表头在第 2 行');
    expect(await preview.locator('tbody tr td.n').first().textContent()).toBe('3');
    expect(await preview.locator('tbody tr').first().locator('td').last().textContent()).toBe('2022-05-31');
    await shot(page, 'office-registry-import-titled.png');
    await page.setInputFiles('[data-testid="import-file"]', { name: '人员.xls', mimeType: 'application/vnd.ms-excel', buffer: Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(512)]) });
    await page.getByRole('button', { name: '预览' }).click();
    await expect.poll(() => page.locator('p.error[role="alert"]').textContent(), { timeout: 10_000 }).toContain('另存为不加密的 .xlsx 或 CSV');
    await shot(page, 'office-registry-import-xls.png');
    // A sheet with mistakes: refused row by row, the reasons in the screen's language and the
    // values as the sheet wrote them.
    const mistaken = Buffer.from('\uFEFF编号,机构,角色,姓名,备案,有效期起,工号\r\nJCJ-JYZ-E2E-B1,JCJ-JYZ,厨师,韦兰,也许,2019-03-01,7\r\n');
    const report = page.locator('[data-testid="import-report"]');
    await page.setInputFiles('[data-testid="import-file"]', { name: '人员.csv', mimeType: 'text/csv', buffer: mistaken });
    await page.getByRole('button', { name: '预览' }).click();
    await report.waitFor({ timeout: 10_000 });
    expect(await report.locator('[data-field="reason"]').allInnerTexts()).toEqual(['未知列：工号', '不是是/否：也许', '取值无效：厨师（可选：业务员、查验员、考试员、体检医生、代办人）']);
    await page.goto(`${stack.hub.url}/registry/import?lang=en`);
    await page.setInputFiles('[data-testid="import-file"]', { name: 'staff.csv', mimeType: 'text/csv', buffer: mistaken });
    await page.getByRole('button', { name: 'Preview' }).click();
    await report.waitFor({ timeout: 10_000 });
    expect(await report.locator('[data-field="reason"]').allInnerTexts()).toEqual(['Unknown column: 工号', 'Not yes or no: 也许', 'Not a valid value: 厨师 (one of: 业务员、查验员、考试员、体检医生、代办人)']);
    expect(await report.locator('[data-field="field"]').allInnerTexts()).toEqual(['工号', 'Filing approved', 'Role']);
    await shot(page, 'office-registry-import-report-en.png');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lists last quarter\'s C and D grades on the registry screen and prepares the suspension and closer checks they bring', async () => {
    // Last quarter, as the screen computes it; one inspection station graded D there (a veto in
    // its last month), written as the evaluation's monthly rows are.
    const now = new Date(Date.now() + 8 * 3_600_000);
    const q = Math.floor(now.getUTCMonth() / 3);
    const lastQ = q === 0 ? { y: now.getUTCFullYear() - 1, q: 4 } : { y: now.getUTCFullYear(), q };
    const lastMonth = `${lastQ.y}-${String(lastQ.q * 3).padStart(2, '0')}`;
    const station = 'DL-JYZ';
    await stack.hub.store.insert('evaluation_scores', [
      {
        month: lastMonth, institution_id: station, institution_type: 'inspection_station', county: '451224', transactions: 120, warnings: 3, confirmed: 1,
        false_alarms: 0, escalated: 0, deduct_compliance: 10, deduct_quality: 0, deduct_integrity: 0, deduct_responsiveness: 0, score: 90, grade: 'D', veto: 1,
        veto_rules: ['check.inspector_unfiled'], rank: 1, rank_of: 1, computed_at: Date.now(),
      },
      {
        month: lastMonth, institution_id: 'HJ-JX', institution_type: 'driving_school', county: '451226', transactions: 80, warnings: 9, confirmed: 6,
        false_alarms: 0, escalated: 0, deduct_compliance: 25, deduct_quality: 0, deduct_integrity: 5, deduct_responsiveness: 0, score: 70, grade: 'C', veto: 0,
        veto_rules: [], rank: 1, rank_of: 1, computed_at: Date.now(),
      },
    ]);
    const { page, context, errors } = await stack.login('registry');
    const notice = page.locator('[data-testid="d-grades"]');
    await notice.waitFor({ timeout: 15_000 });
    expect(await notice.innerText()).toContain(`${lastQ.y}年第${lastQ.q}季度考核 D 级、仍在正常办理业务的机构`);
    expect(await notice.innerText()).toContain('东兰县机动车检测站（一票否决）');
    await shot(page, 'office-registry-d-grades.png');
    await notice.locator(`[data-suspend="${station}"]`).click();
    const form = page.locator('[data-testid="change-form"]');
    await expect.poll(() => form.locator('[data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe(station);
    expect(await form.locator('[data-field="status"] select option:checked').textContent()).toBe('暂停');
    expect(await form.locator('input[placeholder="申请说明"]').inputValue()).toBe(`${lastQ.y}年第${lastQ.q}季度考核 D 级：暂停联网业务`);
    expect(await page.locator('[data-testid="suspension-hint"]').innerText()).toContain('期满时此前的备案自动恢复有效，无需另提申请');
    // From tomorrow 00:00 for a month; three months chosen, the end follows the start.
    const tomorrow = new Date(Date.now() + 8 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    const [ty, tm, td] = tomorrow.split('-').map(Number) as [number, number, number];
    const endOf = (months: number) => {
      const last = new Date(Date.UTC(ty, tm - 1 + months + 1, 0)).getUTCDate();
      return new Date(Date.UTC(ty, tm - 1 + months, Math.min(td, last))).toISOString().slice(0, 10);
    };
    expect(await form.locator('[data-testid="effective-from"]').inputValue()).toBe(`${tomorrow}T00:00`);
    expect(await form.locator('[data-testid="effective-to"]').inputValue()).toBe(`${endOf(1)}T00:00`);
    await page.locator('[data-testid="suspension-term"]').selectOption('3');
    await expect.poll(() => form.locator('[data-testid="effective-to"]').inputValue(), { timeout: 5_000 }).toBe(`${endOf(3)}T00:00`);
    await shot(page, 'office-registry-suspension.png');
    // Changing another record leaves the suspension: its start, term and end are not carried over.
    await page.locator('[data-testid="records"] tr[data-key="FS-YY"] [data-edit]').click();
    await expect.poll(() => form.locator('[data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe('FS-YY');
    expect([await form.locator('[data-testid="effective-to"]').isDisabled(), await form.locator('[data-testid="effective-to"]').inputValue(), await form.locator('[data-testid="effective-from"]').inputValue()]).toEqual([false, '', '']);
    expect(await page.locator('[data-testid="suspension-hint"]').count()).toBe(0);
    await notice.locator(`[data-suspend="${station}"]`).click();
    await expect.poll(() => form.locator('[data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe(station);
    await page.locator('[data-testid="suspension-term"]').selectOption('3');
    await expect.poll(() => form.locator('[data-testid="effective-to"]').inputValue(), { timeout: 5_000 }).toBe(`${endOf(3)}T00:00`);
    // Filed, it waits for the second administrator like any change, the station suspended in it
    // for the term, and the listing names it beside the station.
    await page.click('[data-testid="change-form"] button[type="submit"]');
    const detail = page.locator('[data-testid="request-detail"]');
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 15_000 }).toBe('pending');
    const id = (await detail.locator('h2').textContent())!.match(/申请 (\S+)/)![1]!;
    expect(await detail.locator('[data-testid="request-until"]').innerText()).toContain('期满后此前的备案自动恢复有效');
    await expect.poll(() => notice.locator(`[data-filed="${id}"]`).textContent(), { timeout: 10_000 }).toBe('已有申请待审批');
    const filed = (await (await stack.as('registry'))(`/api/v1/registry/requests/${id}`)).body as { summary: string; effectiveFrom: number; effectiveTo: number; items: { entity: string; key: string; data: { status: string } }[] };
    expect(filed.summary).toBe(`${lastQ.y}年第${lastQ.q}季度考核 D 级：暂停联网业务`);
    expect([filed.effectiveFrom, filed.effectiveTo]).toEqual([Date.parse(`${tomorrow}T00:00:00+08:00`), Date.parse(`${endOf(3)}T00:00:00+08:00`)]);
    expect(filed.items).toEqual([expect.objectContaining({ entity: 'institution', key: station, data: expect.objectContaining({ status: 'suspended' }) })]);
    await notice.scrollIntoViewIfNeeded();
    await shot(page, 'office-registry-suspension-filed.png');
    // Rejected here: the test's station stays active for the screens that follow.
    expect((await (await stack.as('registry2'))(`/api/v1/registry/requests/${id}/reject`, { method: 'POST', json: { comment: '测试' } })).status).toBe(200);
    // Decided on another screen: coming back to this tab, the listing and the requests say so.
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await expect.poll(() => notice.locator(`[data-filed="${id}"]`).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 10_000 }).toBe('rejected');
    // A record suspended for a term now: changing it says the change outlives the term. (A term
    // of seconds, over before the screens that follow.)
    const hospital = ((await (await stack.as('registry'))('/api/v1/registry/institutions')).body.items as Record<string, unknown>[]).find((i) => i.id === 'FS-YY')!;
    const until = Date.now() + 20_000;
    const term = await (await stack.as('registry'))('/api/v1/registry/requests', { json: { summary: '限期暂停', effectiveTo: new Date(until).toISOString(), items: [{ entity: 'institution', data: { ...hospital, status: 'suspended' } }] } });
    expect(term.status, JSON.stringify(term.body)).toBe(201);
    expect((await (await stack.as('registry2'))(`/api/v1/registry/requests/${term.body.id as string}/approve`, { method: 'POST', json: {} })).status).toBe(200);
    await page.locator('[data-testid="records"] tr[data-key="FS-YY"] [data-edit]').click();
    await expect.poll(() => page.locator('[data-testid="term-hint"]').textContent(), { timeout: 10_000 }).toContain('该记录现行的是限期备案');
    expect(await page.locator('[data-testid="term-hint"]').textContent()).toContain(new Date(until + 8 * 3_600_000).toISOString().slice(0, 10));
    await page.locator('[data-testid="term-hint"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(500);
    await shot(page, 'office-registry-term-hint.png');
    // Another record: no such words.
    await page.locator(`[data-testid="records"] tr[data-key="${station}"] [data-edit]`).click();
    await expect.poll(() => page.locator('[data-testid="change-fields"] [data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe(station);
    expect(await page.locator('[data-testid="term-hint"]').count()).toBe(0);

    // A C grade: closer checks until the end of this quarter, the written warning beside it.
    const cGrades = page.locator('[data-testid="c-grades"]');
    expect(await cGrades.innerText()).toContain(`${lastQ.y}年第${lastQ.q}季度考核 C 级、尚未登记加强抽查的机构`);
    expect(await cGrades.locator('a[target="_blank"]').getAttribute('href')).toBe(`/api/v1/evaluation/institutions/HJ-JX/notice?quarter=${lastQ.y}-Q${lastQ.q}`);
    await cGrades.locator('[data-closer="HJ-JX"]').click();
    await expect.poll(() => form.locator('[data-field="id"] input').inputValue(), { timeout: 10_000 }).toBe('HJ-JX');
    expect(await form.locator('[data-field="closerChecks"] input[type="checkbox"]').isChecked()).toBe(true);
    expect(await form.locator('[data-field="status"] select option:checked').textContent()).toBe('正常');
    const qEnd = q === 3 ? `${now.getUTCFullYear() + 1}-01-01` : `${now.getUTCFullYear()}-${String((q + 1) * 3 + 1).padStart(2, '0')}-01`;
    expect([await form.locator('[data-testid="effective-from"]').inputValue(), await form.locator('[data-testid="effective-to"]').inputValue()]).toEqual([`${tomorrow}T00:00`, `${qEnd}T00:00`]);
    expect(await page.locator('[data-testid="closer-hint"]').innerText()).toContain('期满自动恢复');
    await shot(page, 'office-registry-closer-checks.png');
    await page.click('[data-testid="change-form"] button[type="submit"]');
    // The detail turns to the new request (the one before it was decided elsewhere).
    await expect.poll(() => detail.locator('h2').textContent(), { timeout: 15_000 }).not.toContain(id);
    expect(await detail.getAttribute('data-status')).toBe('pending');
    const closerId = (await detail.locator('h2').textContent())!.match(/申请 (\S+)/)![1]!;
    const closer = (await (await stack.as('registry'))(`/api/v1/registry/requests/${closerId}`)).body as { summary: string; effectiveTo: number; items: { key: string; data: { closerChecks?: boolean; status: string } }[] };
    expect([closer.summary, closer.effectiveTo, closer.items[0]?.key, closer.items[0]?.data.closerChecks, closer.items[0]?.data.status]).toEqual([`${lastQ.y}年第${lastQ.q}季度考核 C 级：书面警示，加强抽查`, Date.parse(`${qEnd}T00:00:00+08:00`), 'HJ-JX', true, 'active']);
    expect((await (await stack.as('registry2'))(`/api/v1/registry/requests/${closerId}/reject`, { method: 'POST', json: { comment: '测试' } })).status).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
    // The leader's quarter grades say whether what each grade brings is in the register: both
    // requests rejected, neither is.
    const leader = await stack.login('leader', `/evaluation?period=quarter&quarter=${lastQ.y}-Q${lastQ.q}`);
    const grades = leader.page.locator('[data-testid="quarter-grades"]');
    await grades.waitFor({ timeout: 15_000 });
    for (const id of [station, 'HJ-JX']) expect(await grades.locator(`tr[data-institution="${id}"] [data-filed-term]`).textContent()).toBe('尚未登记');
    await shot(leader.page, 'office-evaluation-quarter-filed.png');
    // On an institution's own screen, whether it is suspended now: the hospital again for a term
    // of seconds (opening these screens scores the months afresh, so after the grades above).
    const brief = await (await stack.as('registry'))('/api/v1/registry/requests', { json: { summary: '限期暂停', effectiveTo: new Date(Date.now() + 15_000).toISOString(), items: [{ entity: 'institution', data: { ...hospital, status: 'suspended' } }] } });
    expect(brief.status, JSON.stringify(brief.body)).toBe(201);
    expect((await (await stack.as('registry2'))(`/api/v1/registry/requests/${brief.body.id as string}/approve`, { method: 'POST', json: {} })).status).toBe(200);
    await leader.page.goto(`${stack.hub.url}/institutions/FS-YY`);
    await expect.poll(() => leader.page.locator('[data-testid="institution-state"]').textContent(), { timeout: 10_000 }).toBe('已暂停联网业务');
    await leader.page.goto(`${stack.hub.url}/institutions/${station}`);
    await leader.page.locator('[data-testid="institution-title"]').waitFor({ timeout: 10_000 });
    await leader.page.waitForLoadState('networkidle');
    expect(await leader.page.locator('[data-testid="institution-state"]').count()).toBe(0);
    expect(leader.errors).toEqual([]);
    await leader.context.close();
  });

  it('lets an approver read a large request a page at a time: its changes against the register, a changed field beside its filed value, every item in Excel', async () => {
    const registryApi = await stack.as('registry');
    const staff = ((await registryApi('/api/v1/registry/staff')).body.items as Record<string, unknown>[]).filter((s) => s.filed === true);
    const person = staff[0]!;
    const fresh = Array.from({ length: 120 }, (_, i) => ({ entity: 'staff', data: { id: `E2E-BULK-${String(i).padStart(3, '0')}`, institutionId: person.institutionId, role: 'clerk', name: `批量${i}`, filed: true, validFrom: 0, validTo: null } }));
    const filed = await registryApi('/api/v1/registry/requests', { json: { summary: '批量补录', items: [{ entity: 'staff', data: { ...person, name: '复核改名' } }, ...fresh] } });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    const id = filed.body.id as string;

    const { page, context, errors } = await stack.login('registry2');
    await page.waitForURL(/\/registry$/);
    await page.locator(`[data-request="${id}"]`).click();
    const detail = page.locator('[data-testid="request-detail"]');
    await expect.poll(() => page.locator('[data-testid="request-review"] [data-change="new"]').textContent(), { timeout: 15_000 }).toBe('新增 120');
    expect(await page.locator('[data-testid="request-review"] [data-change="changed"]').textContent()).toBe('变更 1');
    // 121 items: fifty at a time, not one block each for the whole request.
    expect(await detail.locator('.item').count()).toBe(50);
    expect(await page.locator('[data-testid="items-range"]').textContent()).toBe('第 1–50 条，共 121 条');
    await page.locator('[data-testid="items-next"]').click();
    await expect.poll(() => page.locator('[data-testid="items-range"]').textContent(), { timeout: 10_000 }).toBe('第 51–100 条，共 121 条');
    expect(await detail.locator('.item').first().textContent()).toContain('#51');
    // Only the changes: the new name, and the filed one struck through beside it.
    await page.locator('[data-testid="request-review"] [data-change="changed"]').click();
    await expect.poll(() => detail.locator('.item').count(), { timeout: 10_000 }).toBe(1);
    const name = detail.locator('.item dd.changed[data-field="name"]');
    expect(await name.textContent()).toBe(`复核改名${String(person.name)}`);
    expect(await name.locator('s.was').textContent()).toBe(String(person.name));
    expect(await detail.locator('.item dd.changed').count()).toBe(1);
    await shot(page, 'office-registry-review.png');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="request-items-export"]').click()]);
    expect(download.suggestedFilename()).toBe(`备案申请${id}-人员.xlsx`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(await download.path());
    const sheet = wb.worksheets[0]!;
    expect(sheet.rowCount).toBe(122);
    expect((sheet.getRow(2).values as unknown[]).slice(1, 6)).toEqual([1, '新增/变更', '变更', '姓名', `姓名：${String(person.name)}`]);
    expect(errors).toEqual([]);
    await context.close();
    const registry2Api = await stack.as('registry2');
    expect((await registry2Api(`/api/v1/registry/requests/${encodeURIComponent(id)}/reject`, { json: { comment: '仅核对' } })).status).toBe(200);
    // Decided, it still says what it would have done, as seen when it was decided.
    const { page: later, context: laterContext, errors: laterErrors } = await stack.login('registry2');
    await later.selectOption('select[aria-label="状态"]', 'rejected');
    await later.locator(`[data-request="${id}"]`).click();
    await expect.poll(() => later.locator('[data-testid="request-review"]').textContent(), { timeout: 15_000 }).toContain('决定时与当时的备案比较');
    expect(await later.locator('[data-testid="request-review"] [data-change="changed"]').textContent()).toBe('变更 1');
    expect(laterErrors).toEqual([]);
    await laterContext.close();
  });

  it('drafts a rule release, backtests it with a diff, and has it approved by another person', async () => {
    const { page, context, errors } = await stack.login('rules');
    await page.waitForURL(/\/rules$/);
    expect(await page.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏', '规则发布', '规则质量', '工作日历', '死信记录']);
    // The list of sets (and with it the set in force) may arrive after the rule list: hold it
    // back so the rule is chosen first, as a slow hub does.
    let listHeld = 0;
    await page.route(/\/api\/v1\/rulesets(\?.*)?$/, async (route) => {
      listHeld += 1;
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.reload();
    await page.selectOption('[data-testid="draft-rule"]', 'check.short_duration');
    // The form prefills the rule's current parameters from the set in force.
    const minField = page.locator('[data-testid="draft-params"] [data-param="minSeconds"]');
    await expect.poll(() => minField.locator('input').inputValue(), { timeout: 10_000 }).toBe('180');
    expect(await minField.textContent()).toContain('最短用时（秒）');
    expect(listHeld).toBeGreaterThan(0);
    await page.unroute(/\/api\/v1\/rulesets(\?.*)?$/);
    await minField.locator('input').fill('120');
    await page.fill('[data-testid="draft-note"]', '查验用时阈值下调至120秒');
    await page.click('[data-testid="draft-form"] button[type="submit"]');
    const detail = page.locator('[data-testid="ruleset-detail"]');
    await page.waitForSelector('[data-testid="ruleset-detail"], [data-testid="rules-error"]', { timeout: 15_000 });
    const draftError = page.locator('[data-testid="rules-error"]');
    if ((await draftError.count()) > 0) throw new Error(`draft failed: ${await draftError.textContent()}`);
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 15_000 }).toBe('draft');
    expect(await page.locator('[data-testid="ruleset-diff"]').textContent()).toContain('最短用时（秒）');
    const version = (await detail.locator('h2').first().textContent())!.match(/规则集 (\S+)/)![1]!;

    // The simulator places its business in working time: on a weekend or a Monday morning the
    // last day holds none of it, so the backtest covers the last week.
    await page.selectOption('[data-testid="backtest-days"]', '7');
    const t0 = Date.now();
    await page.click('[data-testid="run-backtest"]');
    await expect.poll(() => page.locator('[data-testid="backtest"]').getAttribute('data-status'), { timeout: 60_000, interval: 500 }).toBe('done');
    console.log(`[office.e2e] backtest finished in ${Date.now() - t0} ms`);
    await page.locator('[data-testid="bt-by-rule"]').waitFor();
    expect(await page.locator('[data-testid="bt-by-rule"] tr[data-key="check.short_duration"]').count()).toBe(1);
    await shot(page, 'office-rules-backtest.png');

    // The author is not offered approval of their own draft (the hub refuses it as well).
    expect(await page.locator('[data-testid="approve-ruleset"]').count()).toBe(0);
    expect(await page.locator('[data-testid="own-draft"]').textContent()).toContain('另一名');
    const rulesApi = await stack.as('rules');
    expect((await rulesApi(`/api/v1/rulesets/${encodeURIComponent(version)}/approve`, { json: {} })).body.error.code).toBe('SAME_APPROVER');
    expect(errors).toEqual([]);
    await context.close();

    const admin = await stack.login('admin', '/rules');
    const ap = admin.page;
    await ap.locator(`[data-version="${version}"]`).click();
    await expect.poll(() => ap.locator('[data-testid="ruleset-detail"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('draft');
    await confirmed(ap, '[data-testid="approve-ruleset"]');
    // Either within the thresholds (approved) or over them (override with a reason).
    await expect
      .poll(async () => (await ap.locator('[data-testid="ruleset-detail"]').getAttribute('data-status')) === 'approved' || (await ap.locator('[data-testid="rules-error"]').count()) > 0, { timeout: 15_000 })
      .toBe(true);
    if ((await ap.locator('[data-testid="ruleset-detail"]').getAttribute('data-status')) !== 'approved') {
      expect(await ap.locator('[data-testid="rules-error"]').textContent()).toContain('超过发布阈值');
      await ap.check('[data-testid="override"]');
      await ap.fill('[data-testid="override-reason"]', '测试环境样本少，差异可接受');
      await confirmed(ap, '[data-testid="approve-ruleset"]');
    }
    await expect.poll(() => ap.locator('[data-testid="ruleset-detail"]').getAttribute('data-status'), { timeout: 15_000 }).toMatch(/^(approved|active)$/);
    await shot(ap, 'office-rules-approved.png');
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  });

  it('offers the rule definitions a software upgrade brings as a draft that keeps the tuning in force', async () => {
    const rules = await stack.as('rules');
    const admin = await stack.as('admin');
    const inForceNow = async () => ((await rules('/api/v1/rulesets')).body as { inForce: string }).inForce;
    // The set an older release left in force: one rule worded differently.
    const older = DEFAULT_PACK.map((d) => (d.id === 'check.short_duration' ? { ...d, explain: { too_short: '查验仅{seconds}秒（阈值{minSeconds}秒）' } } : d));
    const drafted = await rules('/api/v1/rulesets', { json: { definitions: older, note: '上一版软件的规则' } });
    expect(drafted.status, JSON.stringify(drafted.body)).toBe(201);
    const old = drafted.body.version as string;
    expect((await admin(`/api/v1/rulesets/${old}/approve`, { json: { override: true, reason: '模拟升级前的规则集' } })).status).toBe(200);
    await expect.poll(inForceNow, { timeout: 15_000 }).toBe(old);

    const { page, context, errors } = await stack.login('rules', '/rules');
    const banner = page.locator('[data-testid="builtin-pack"]');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.textContent()).toContain('与生效中的规则定义不同');
    await page.click('[data-testid="draft-builtin"]');
    const detail = page.locator('[data-testid="ruleset-detail"][data-status="draft"]');
    await detail.waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="rules-notice"]').textContent()).toContain('保留现行参数调整');
    const upgrade = await banner.getAttribute('data-pending');
    expect(upgrade).toMatch(/^rs\d+-[0-9a-f]{8}$/);
    expect(await page.locator('[data-testid="builtin-pending"]').textContent()).toContain(upgrade!);
    await shot(page, 'office-rules-upgrade.png');
    expect(errors).toEqual([]);
    await context.close();

    // Released, the banner goes: the definitions in force are this software's again.
    expect((await admin(`/api/v1/rulesets/${upgrade}/approve`, { json: { override: true, reason: '采用本版内置规则' } })).status).toBe(200);
    await expect.poll(inForceNow, { timeout: 15_000 }).toBe(upgrade);
    expect(((await rules('/api/v1/rulesets')).body as { builtin: { current: boolean } }).builtin.current).toBe(true);
  });

  it('opens a dead letter and reads its reason, and approves a collector enrolment', async () => {
    // A record the hub refused, stored as ingest stores it.
    const recordKey = `dl-e2e-${Date.now()}`;
    await stack.hub.store.insert('dead_letters', [
      {
        record_key: recordKey, batch_id: 'b-e2e', collector_id: 'c-office-e2e-01', record_index: 3, record_id: 'T-DL-1', code: 'RECORD_INVALID',
        // As the hub words it for collectors and logs (the schema's messages).
        reason: 'occurredAt: Invalid input: expected number, received undefined; vehicle.vin: Too small: expected string to have exactly 17 characters', payload: JSON.stringify({ id: 'T-DL-1', institutionId: INSTITUTION, kind: 'check', channel: 'institution', source: 'simulator', lsh: 'L-DL-1' }), received_at: Date.now(),
      },
    ]);
    // A new collector asks to be filed (the enrolment a counter PC makes).
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const pub = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const ts = Date.now();
    const collectorId = 'c-e2e-enrol-01';
    const proof = crypto.sign(null, Buffer.from(canonicalAuthProof(collectorId, pub, ts), 'utf8'), privateKey).toString('base64');
    const enrol = await fetch(`${stack.hub.url}/api/v1/collectors/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ collectorId, institutionId: INSTITUTION, counter: '查验线9', publicKey: pub, ts, proof }) });
    expect(enrol.status).toBe(202);

    const { page, context, errors } = await stack.login('admin', '/dead-letters');
    const listed = page.locator('tr', { has: page.locator(`[data-dead="${recordKey}"]`) });
    await listed.waitFor({ timeout: 15_000 });
    // In the list: the reason worded by field, the sender by its institution's name.
    expect(await listed.locator('[data-testid="dead-why"]').textContent()).toBe('业务发生时间：缺少此项；车辆识别代号：应为 17 个字符');
    expect(await listed.textContent()).toContain('河池市车辆管理所 · c-office-e2e-01');
    await page.locator(`[data-dead="${recordKey}"]`).click();
    expect((await page.locator('[data-testid="dead-reason"] > div').allTextContents()).map((t) => t.trim())).toEqual(['业务发生时间：缺少此项', '车辆识别代号：应为 17 个字符']);
    // The hub's own words stay beside them, for whoever fixes the sending system.
    expect(await page.locator('[data-testid="dead-reason-raw"]').textContent()).toContain('vehicle.vin: Too small');
    const payload = await page.locator('[data-testid="dead-payload"]').textContent();
    expect(payload).toContain('社会化机构');
    expect(payload).toContain('模拟数据');
    expect(payload).not.toContain('{"');
    expect(payload).toContain('河池市车辆管理所（JCJ-CGS）');
    await shot(page, 'office-dead-letter.png');

    await page.goto(`${stack.hub.url}/collectors`);
    const row = page.locator(`[data-testid="collectors"] tr[data-collector="${collectorId}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-status')).toBe('pending');
    await confirmed(page, `[data-approve="${collectorId}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).not.toBe('pending');
    await shot(page, 'office-collectors.png');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets a system administrator create a user, change role and area, disable, enable and reset a password through forms', async () => {
    const username = `e2e-clerk-${Date.now() % 100_000}`;
    const initial = 'Hechi-initial-2026!';
    const { page, context, errors } = await stack.login('admin', '/users');
    await page.locator('[data-testid="users"] tr[data-user="admin"]').waitFor({ timeout: 15_000 });
    await page.click('[data-testid="user-new"]');
    const form = page.locator('[data-testid="user-form"]');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="displayName"]').fill('宜州区测试核查员');
    await form.locator('[data-testid="user-roles"] input[value="auditor"]').check();
    await form.locator('select[name="scope"]').selectOption('451203');
    await form.locator('input[name="password"]').fill(initial);
    await shot(page, 'office-user-new.png');
    await form.locator('button[type="submit"]').click();
    const row = page.locator(`[data-testid="users"] tr[data-user="${username}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('[data-field="roles"]').textContent()).toBe('核查人员');
    expect(await row.locator('[data-field="scope"]').textContent()).toBe('宜州区');
    expect(await page.locator('[data-testid="users-notice"]').textContent()).toContain('首次登录须修改');

    // The new user logs in with the initial password and is told to change it.
    const login = async (password: string) => {
      const res = await fetch(`${stack.hub.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      return { status: res.status, body: (await res.json()) as { mustChangePassword?: boolean; user?: { roles: string[]; scope: string | null }; error?: { code: string } } };
    };
    const first = await login(initial);
    expect(first.status).toBe(200);
    expect(first.body.mustChangePassword).toBe(true);
    expect(first.body.user).toMatchObject({ roles: ['auditor'], scope: '451203' });

    // Role and area through the editor.
    await row.locator('[data-edit-user]').click();
    const editor = page.locator('[data-testid="user-editor"]');
    await editor.locator('[data-testid="edit-roles"] input[value="auditor"]').uncheck();
    await editor.locator('[data-testid="edit-roles"] input[value="leader"]').check();
    await editor.locator('[data-testid="edit-scope"]').selectOption('');
    await confirmed(page, '[data-testid="save-roles"]');
    await expect.poll(() => row.locator('[data-field="roles"]').textContent(), { timeout: 10_000 }).toBe('领导');
    expect(await row.locator('[data-field="scope"]').textContent()).toBe('全市');
    expect((await login(initial)).body.user).toMatchObject({ roles: ['leader'], scope: null });

    // Disable: the login is refused; enable again.
    await confirmed(page, '[data-testid="toggle-active"]');
    await expect.poll(() => row.getAttribute('data-active'), { timeout: 10_000 }).toBe('no');
    expect(await row.locator('[data-field="status"]').textContent()).toBe('停用');
    expect((await login(initial)).body.error?.code).toBe('LOGIN_FAILED');
    await confirmed(page, '[data-testid="toggle-active"]');
    await expect.poll(() => row.getAttribute('data-active'), { timeout: 10_000 }).toBe('yes');

    // Reset the password: the old one stops working, the new one must be changed at login.
    const reset = 'Hechi-reset-2026-pw!';
    await page.fill('[data-testid="reset-password"]', reset);
    await confirmed(page, '[data-testid="reset"]');
    await expect.poll(() => page.locator('[data-testid="users-notice"]').textContent(), { timeout: 10_000 }).toContain('已重置密码');
    expect((await login(initial)).status).toBe(401);
    const again = await login(reset);
    expect(again.status).toBe(200);
    expect(again.body.mustChangePassword).toBe(true);
    await shot(page, 'office-user-managed.png');

    // Every change is in the audit log, without the password.
    const adminApi = await stack.as('admin');
    const audit = (await adminApi(`/api/v1/audit?action=user.&targetId=${username}&limit=50`)).body as { items: { action: string; detail: string }[] };
    const actions = audit.items.map((i) => i.action);
    expect(actions.filter((a) => a === 'user.create')).toHaveLength(1);
    expect(actions.filter((a) => a === 'user.update').length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(audit.items)).not.toContain(reset);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets a system administrator back up now: the copy verified, its tables named in Chinese', async () => {
    const { page, context, errors } = await stack.login('admin', '/backups');
    const now = page.locator('[data-testid="backup-now"]');
    await now.waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="nav"] a[data-nav="backups"]').textContent()).toBe('数据备份');
    expect(await page.locator('[data-testid="backup-schedule"]').textContent()).toContain('未设置每日自动备份');
    const before = new Set(await page.locator('[data-testid="backups"] tr[data-backup]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-backup'))));
    await now.click();
    // The one running, with its phase and progress, when the page catches it (a small store is
    // copied in a second or two).
    await page
      .locator('[data-testid="backup-progress"]')
      .waitFor({ timeout: 2_000 })
      .then(() => shot(page, 'office-backups-running.png'))
      .catch(() => undefined);
    const newest = page.locator('[data-testid="backups"] tr[data-backup]').first();
    await expect.poll(async () => !before.has(await newest.getAttribute('data-backup')), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => newest.getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    // The poll has stopped with the backup: the button is offered again.
    await expect.poll(() => now.isEnabled(), { timeout: 5_000 }).toBe(true);
    expect(await newest.locator('[data-field="verified"]').textContent()).toContain('已校验');
    // What the stateful rules have counted in the earlier tests went with it.
    expect(await newest.locator('[data-field="rule-state"]').textContent()).toMatch(/已包含\s*日志 [\d,]+ 条/);
    expect(await newest.locator('[data-field="trigger"]').textContent()).toMatch(/^手动：\S/);
    expect(Number((await newest.locator('[data-field="business"]').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    const name = (await newest.getAttribute('data-backup'))!;
    await page.click(`[data-expand="${name}"]`);
    const tables = page.locator(`[data-tables="${name}"]`);
    await tables.waitFor({ timeout: 5_000 });
    const text = await tables.innerText();
    expect(text).toContain('业务记录');
    expect(text).toContain('审计日志');
    expect(text).not.toMatch(/\b[a-z]+_[a-z_]+\b/);
    await shot(page, 'office-backups.png');
    // In English too: the tables by their English names.
    await page.goto(`${stack.hub.url}/backups?lang=en`);
    await page.click(`[data-expand="${name}"]`, { timeout: 15_000 });
    expect(await page.locator(`[data-tables="${name}"]`).innerText()).toContain('Business records');
    await shot(page, 'office-backups-en.png');
    // The hub has the same backup, verified.
    const adminApi = await stack.as('admin');
    const list = (await adminApi('/api/v1/backups')).body as { items: { name: string; state: string; verified: boolean }[] };
    expect(list.items.find((b) => b.name === name)).toMatchObject({ state: 'done', verified: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a system administrator what is left before going live, item by item as the hub checks it, in Chinese and English', async () => {
    const adminApi = await stack.as('admin');
    const fromHub = async () => {
      const res = await adminApi('/api/v1/readiness');
      expect(res.status).toBe(200);
      return res.body as Readiness;
    };
    const { page, context, errors } = await stack.login('admin', '/readiness');
    const list = page.locator('[data-testid="readiness"]');
    await list.waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="nav"] a[data-nav="readiness"]').textContent()).toBe('上线检查');
    expect(await page.locator('main.content h1').innerText()).toBe('上线检查');
    const cards = list.locator('[data-testid="readiness-item"]');
    expect(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))).toEqual([...READINESS_KEYS]);

    // 重新检查 asks the hub again (the time checked moves on); the statuses are the hub's own.
    const checked = page.locator('[data-testid="readiness-checked"]');
    const before = await checked.innerText();
    await page.waitForTimeout(1100);
    await page.click('[data-testid="readiness-refresh"]');
    await expect.poll(() => checked.innerText(), { timeout: 10_000 }).not.toBe(before);
    const onPage = () => cards.evaluateAll((els) => els.map((e) => [e.getAttribute('data-key'), e.getAttribute('data-status')]));
    let hub = await fromHub();
    if (JSON.stringify(await onPage()) !== JSON.stringify(hub.items.map((i) => [i.key, i.status]))) {
      // A collector's contact or an enrolment changed between the two reads: read both again.
      await page.click('[data-testid="readiness-refresh"]');
      await page.locator('[data-testid="readiness-refresh"]:not([disabled])').waitFor({ timeout: 10_000 });
      hub = await fromHub();
    }
    expect(await onPage()).toEqual(hub.items.map((i) => [i.key, i.status]));
    const todo = hub.items.filter((i) => i.status === 'todo').length;
    const warn = hub.items.filter((i) => i.status === 'warn').length;
    const summary = [todo ? `待办 ${todo} 项` : '', warn ? `请留意 ${warn} 项` : ''].filter(Boolean).join('，') || '没有待办事项，可以上线';
    expect(await page.locator('[data-testid="readiness-summary"]').innerText()).toBe(summary);
    expect(await cards.locator('[data-field="status"]').allInnerTexts()).toEqual(hub.items.map((i) => ({ ok: '已完成', todo: '待办', warn: '请留意', info: '提示' })[i.status]));

    // What an item is about reads by name, its county by name: never an institution id or an adcode.
    const about = hub.items.find((i) => ['collectors', 'places', 'staff', 'lines', 'collectors_silent'].includes(i.key) && i.subjects.some((s) => s.county));
    expect(about, 'an item about institutions').toBeDefined();
    const subject = about!.subjects.find((s) => s.county)!;
    const card = list.locator(`[data-testid="readiness-item"][data-key="${about!.key}"]`);
    const shown = await card.locator(`[data-subject="${subject.id}"]`).innerText();
    expect(shown).toContain(subject.name);
    expect(shown).toContain(COUNTIES.find((c) => c.adcode === subject.county)!.name);
    expect(shown).not.toContain(subject.county);
    if (!subject.name.includes(subject.id)) expect(shown).not.toContain(subject.id);
    if (about!.total > about!.subjects.length) expect(await card.locator('[data-field="more"]').innerText()).toBe(`… 共 ${about!.total.toLocaleString('zh-CN')} 个`);
    await shot(page, 'office-readiness.png');
    // The whole check as a sheet Excel opens: every item, and every subject of each (not 100).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="readiness-export"]')]);
    expect(download.suggestedFilename()).toMatch(/^上线检查-\d{4}-\d{2}-\d{2}\.csv$/);
    const sheet = fs.readFileSync((await download.path())!, 'utf8');
    expect(sheet.startsWith('\uFEFF检查项') || sheet.startsWith('\uFEFF上线检查')).toBe(true);
    const rows = sheet.slice(1).trimEnd().split('\r\n');
    const itemRows = rows.slice(2).filter((r) => !r.startsWith(','));
    // The items in the screen's order, each with its title and a status in words (the export asks
    // the hub again, so a collector's contact in between may move one).
    expect(itemRows.map((r) => r.split(',')[0])).toEqual(await cards.locator('h2').allInnerTexts());
    for (const r of itemRows) expect(['已完成', '待办', '请留意', '提示'], r).toContain(r.split(',')[1]);
    // Every subject of the institutions' items, past the screen's hundred: as many rows as the hub counts.
    const all = (await adminApi('/api/v1/readiness?subjects=10000')).body as Readiness;
    const placesTotal = all.items.find((i) => i.key === 'places')!.total;
    const placesAt = rows.findIndex((r) => r.startsWith('机构位置,'));
    expect(rows.slice(placesAt + 1).findIndex((r) => !r.startsWith(','))).toBe(placesTotal);
    await list.locator('[data-key="wall"]').scrollIntoViewIfNeeded();
    await shot(page, 'office-readiness-end.png');

    // Each item links to the screen that fixes it.
    await page.locator('[data-testid="readiness-item"][data-key="collectors"] a[data-fix="/collectors"]').click();
    await page.waitForURL(/\/collectors$/, { timeout: 10_000 });
    await page.locator('[data-testid="collectors"]').waitFor({ timeout: 15_000 });

    // In English: every word of the screen, data (names) marked as data.
    await page.goBack();
    await list.waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'EN', exact: true }).click();
    await expect.poll(() => page.locator('main.content h1').innerText(), { timeout: 5_000 }).toBe('Go-live check');
    expect(await page.locator('[data-testid="readiness-summary"]').innerText()).toMatch(/^(\d+ to do(, \d+ to check)?|\d+ to check|Nothing left to do: ready to go live)$/);
    expect(await cards.locator('[data-field="status"]').allInnerTexts()).toEqual(hub.items.map((i) => ({ ok: 'Done', todo: 'To do', warn: 'Check', info: 'Note' })[i.status]));
    expect(await chineseIn(page, 'header.top, main.content')).toEqual([]);
    await shot(page, 'office-readiness-en.png');
    // A registry request waiting for its second administrator is named, and opens on the registry
    // screen from the check.
    const registryApi = await stack.as('registry');
    const person = ((await registryApi('/api/v1/registry/staff')).body.items as Record<string, unknown>[]).find((s) => s.filed === true)!;
    const waiting = await registryApi('/api/v1/registry/requests', { json: { summary: '上线前补录待审批', items: [{ entity: 'staff', data: { ...person, name: '上线检查' } }] } });
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(201);
    const requestId = waiting.body.id as string;
    await page.click('[data-testid="readiness-refresh"]');
    const opener = list.locator(`[data-key="requests"] a[data-open="${requestId}"]`);
    await opener.waitFor({ timeout: 10_000 });
    expect(await opener.innerText()).toBe('上线前补录待审批');
    await opener.click();
    await page.waitForURL(/\/registry\?request=/, { timeout: 10_000 });
    await expect.poll(() => page.locator('[data-testid="request-detail"] h2').textContent(), { timeout: 10_000 }).toContain(requestId);
    expect((await (await stack.as('registry2'))(`/api/v1/registry/requests/${requestId}/reject`, { json: { comment: '测试' } })).status).toBe(200);
    await page.evaluate(() => localStorage.setItem('jg.lang', 'zh'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it("lets a rule administrator keep the work calendar: the missing year flagged, a notice read and saved, a day changed, a lunch break in the working hours", async () => {
    const rulesApi = await stack.as('rules');
    const calendar = async () => (await rulesApi('/api/v1/calendar')).body as WorkCalendarView;
    const before = await calendar();
    const { page, context, errors } = await stack.login('rules', '/calendar');
    try {
      const card = page.locator('[data-testid="year-card"]');
      await card.waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-testid="nav"] a').allTextContents()).toEqual(['指挥大屏', '规则发布', '规则质量', '工作日历', '死信记录']);
      expect(await page.locator('[data-testid="nav"] a[data-nav="calendar"]').getAttribute('class')).toContain('active');

      // The years the hub says are missing (this one; from 1 November the next): a notice here,
      // the first of them shown, and a banner on the other office pages leading here.
      const missing = page.locator('[data-testid="calendar-missing"]');
      if (before.missing.length) {
        const years = before.missing.join('、');
        expect(await missing.getAttribute('data-years')).toBe(before.missing.join(','));
        expect(await missing.innerText()).toContain(`${years} 年节假日安排尚未录入：录入前，该年的法定节假日按工作日计算`);
        expect(await card.getAttribute('data-year')).toBe(String(before.missing[0]));
        expect(await page.locator('[data-testid="year-history"]').innerText()).toContain('尚未录入');
        expect(await page.locator('[data-testid="calendar-banner"]').count()).toBe(0);
        await page.click('[data-nav="rules"]');
        const banner = page.locator('[data-testid="calendar-banner"]');
        await banner.waitFor({ timeout: 10_000 });
        expect(await banner.innerText()).toContain(`${years} 年节假日安排尚未录入工作日历`);
        await shot(page, 'office-calendar-banner.png');
        await page.click('[data-testid="calendar-banner-link"]');
        await page.waitForURL(/\/calendar$/);
        await card.waitFor({ timeout: 15_000 });
      } else {
        expect(await missing.count()).toBe(0);
      }
      // Today is outlined, whatever year it is.
      await page.selectOption('[data-testid="year-select"]', before.today.slice(0, 4));
      await expect.poll(() => page.locator(`[data-date="${before.today}"]`).getAttribute('class')).toContain('today');
      // The built-in year says where it came from.
      const builtin = before.years.find((y) => y.updatedBy === 'system');
      if (builtin) {
        await page.selectOption('[data-testid="year-select"]', String(builtin.year));
        await expect.poll(() => page.locator('[data-testid="year-history"]').innerText()).toBe(`系统内置（${builtin.year} 年国务院安排）`);
        expect(Number(await page.locator('[data-testid="year-counts"]').getAttribute('data-holidays'))).toBe(builtin.holidays.length);
      }
      expect(before.years.some((y) => y.year === 2031)).toBe(false);

      // The 2031 notice, read while another year is shown: the hub's reading per festival, in
      // dates as people write them, and the year it is for.
      const shownYear = await card.getAttribute('data-year');
      await page.fill('[data-testid="notice-text"]', NOTICE_2031);
      await page.click('[data-testid="notice-read"]');
      const result = page.locator('[data-testid="notice-result"]');
      await result.waitFor({ timeout: 10_000 });
      expect(await result.getAttribute('data-year')).toBe('2031');
      expect(await page.locator('[data-testid="notice-mismatch"]').innerText()).toContain(`这是 2031 年的通知，当前显示的是 ${shownYear} 年`);
      const rows = await result.locator('tr[data-festival]').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())));
      expect(rows).toEqual([
        ['元旦', '1月1日（周三）', '—'],
        ['春节', '1月22日（周三）至1月28日（周二）', '1月19日（周日）、2月8日（周六）'],
      ]);
      expect(await page.locator('[data-testid="notice-unread"]').count()).toBe(0);
      await result.scrollIntoViewIfNeeded();
      await shot(page, 'office-calendar-notice.png');

      // 应用到日历: the year switches to 2031 with the dates as unsaved edits; 保存.
      await page.click('[data-testid="notice-apply"]');
      await expect.poll(() => card.getAttribute('data-year')).toBe('2031');
      await page.locator('[data-testid="year-unsaved"]').waitFor({ timeout: 5_000 });
      expect(await page.locator('[data-date="2031-01-23"]').getAttribute('data-kind')).toBe('holiday');
      expect(await page.locator('[data-date="2031-01-19"]').getAttribute('data-kind')).toBe('extra');
      expect(await page.locator('[data-date="2031-01-23"]').getAttribute('class')).toContain('changed');
      expect(await page.locator('[data-testid="year-counts"]').innerText()).toBe('放假 8 天，调休上班 2 天');
      expect(await page.inputValue('[data-testid="year-note"]')).toBe('按国务院办公厅通知录入');
      await page.click('[data-testid="year-save"]');
      await expect.poll(() => page.locator('[data-testid="year-ok"]').textContent(), { timeout: 10_000 }).toContain('已保存 2031 年节假日安排（第 1 次修改）');
      // The notice pasted holds New Year and Spring Festival only: the other festivals are said.
      const gaps = page.locator('[data-testid="festivals-missing"]');
      expect(await gaps.getAttribute('data-festivals')).toBe('清明节,劳动节,端午节,中秋节,国庆节');
      expect(await gaps.innerText()).toContain('以下节日未设为假日，按工作日计：清明节（4月5日');
      expect((await calendar()).years.find((y) => y.year === 2031)!.festivalsMissing.map((f) => f.name)).toEqual(['清明节', '劳动节', '端午节', '中秋节', '国庆节']);
      expect(await page.locator('[data-testid="year-unsaved"]').count()).toBe(0);
      let y2031 = (await calendar()).years.find((y) => y.year === 2031)!;
      expect(y2031).toMatchObject({
        holidays: ['2031-01-01', '2031-01-22', '2031-01-23', '2031-01-24', '2031-01-25', '2031-01-26', '2031-01-27', '2031-01-28'],
        extraWorkdays: ['2031-01-19', '2031-02-08'],
        revisions: 1,
        note: '按国务院办公厅通知录入',
        updatedBy: 'rules',
      });
      expect(await page.locator('[data-testid="year-history"]').innerText()).toMatch(/^第 1 次修改 · \S+ · 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d · 按国务院办公厅通知录入$/);

      // One day clicked: 10月8日 (a Wednesday) becomes a holiday; saved again → revision 2.
      const oct8 = page.locator('[data-date="2031-10-08"]');
      expect(await oct8.getAttribute('data-kind')).toBe('workday');
      await oct8.click();
      expect(await oct8.getAttribute('data-kind')).toBe('holiday');
      await page.fill('[data-testid="year-note"]', '10月8日补休');
      await page.click('[data-testid="year-save"]');
      await expect.poll(() => page.locator('[data-testid="year-ok"]').textContent(), { timeout: 10_000 }).toContain('第 2 次修改');
      y2031 = (await calendar()).years.find((y) => y.year === 2031)!;
      expect(y2031.revisions).toBe(2);
      expect(y2031.holidays).toContain('2031-10-08');
      expect(y2031.holidays).toHaveLength(9);
      expect(y2031.extraWorkdays).toEqual(['2031-01-19', '2031-02-08']);
      // 导出 CSV: the year for Excel (a byte-order mark, one row a day, the festival named).
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-csv"]')]);
      expect(download.suggestedFilename()).toBe('工作日历-2031.csv');
      const csv = fs.readFileSync((await download.path())!, 'utf8');
      expect(csv.startsWith('\uFEFF日期,星期,类别,节日\r\n2031-01-01,周三,法定节假日,元旦\r\n')).toBe(true);
      expect(csv).toContain('\r\n2031-01-19,周日,调休上班,春节\r\n');
      expect(csv).toContain('\r\n2031-10-08,周三,法定节假日,\r\n');
      expect(csv.trimEnd().split('\r\n')).toHaveLength(1 + 365);

      // A day of 2031 the 2032 entry holds (its New Year from 31 December): shown in 2031 as the
      // rules count it, changed in 2032, where it is listed apart.
      expect((await rulesApi('/api/v1/calendar/years/2032', { method: 'PUT', json: { holidays: ['2031-12-31', '2032-01-01'], extraWorkdays: [], note: '跨年元旦' } })).status).toBe(200);
      await page.reload();
      await card.waitFor({ timeout: 15_000 });
      await page.selectOption('[data-testid="year-select"]', '2032');
      await expect.poll(() => page.locator('[data-testid="cross-year"]').textContent()).toContain('2031年12月31日（周三） 法定节假日');
      await page.selectOption('[data-testid="year-select"]', '2031');
      const dec31 = page.locator('[data-date="2031-12-31"]');
      await expect.poll(() => dec31.getAttribute('data-kind')).toBe('holiday');
      expect(await dec31.getAttribute('data-of-year')).toBe('2032');
      expect(await dec31.evaluate((el) => el.tagName)).toBe('SPAN');
      expect(await dec31.getAttribute('title')).toBe('12月31日（周三） 法定节假日 · 元旦（属于 2032 年的安排，请在该年修改）');

      // A click cycles holiday → adjusted workday → default; leaving with it unsaved asks first; 放弃 drops it.
      const mar3 = page.locator('[data-date="2031-03-03"]');
      await mar3.click();
      await mar3.click();
      expect(await mar3.getAttribute('data-kind')).toBe('extra');
      await page.click('[data-nav="rules"]');
      const confirm = page.locator('[data-testid="confirm"]');
      await confirm.waitFor({ state: 'visible', timeout: 5_000 });
      expect(await confirm.innerText()).toContain('未保存的修改');
      await page.click('[data-testid="confirm-cancel"]');
      expect(new URL(page.url()).pathname).toBe('/calendar');
      await page.click('[data-testid="year-discard"]');
      expect(await mar3.getAttribute('data-kind')).toBe('workday');
      expect(await page.locator('[data-testid="year-unsaved"]').count()).toBe(0);

      // An institution type with business hours of its own, set on the screen: inspection stations
      // open every day 08:00–17:00, public holidays included.
      const station = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false };
      await page.selectOption('[data-testid="type-add-choice"]', 'inspection_station');
      await page.click('[data-testid="type-add"]');
      const own = page.locator('[data-testid="hours-by-type"] .type-hours[data-type="inspection_station"]');
      await own.waitFor({ timeout: 5_000 });
      expect(await own.locator('strong').innerText()).toBe('机动车检验机构');
      await own.locator('input[data-weekday="6"]').check();
      await own.locator('input[data-weekday="7"]').check();
      await own.locator('[data-period="0"] [data-field="end"]').fill('17:00');
      await own.locator('[data-testid="type-open-holidays"]').check();
      expect(await page.locator('[data-testid="hours-unsaved"]').count()).toBe(1);
      await page.fill('[data-testid="hours-note"]', '检验机构周末营业');
      await page.click('[data-testid="hours-save"]');
      await expect.poll(() => page.locator('[data-testid="hours-ok"]').count(), { timeout: 10_000 }).toBe(1);
      expect((await calendar()).hours).toMatchObject({ workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }], byType: { inspection_station: station }, note: '检验机构周末营业' });
      expect(await page.locator('[data-testid="hours-current"] [data-type="inspection_station"]').innerText()).toBe('机动车检验机构：周一至周日 08:00–17:00，节假日照常营业');
      // The type is no longer offered; a bad period of its own is refused naming the type.
      expect(await page.locator('[data-testid="type-add-choice"] option[value="inspection_station"]').count()).toBe(0);
      await own.locator('[data-period="0"] [data-field="end"]').fill('07:00');
      await page.click('[data-testid="hours-save"]');
      await page.locator('[data-testid="hours-error"]').waitFor({ timeout: 10_000 });
      expect(await page.locator('[data-testid="hours-error"]').innerText()).toBe('未保存：机动车检验机构第 1 个时段（08:00–07:00）：时段的结束时间应晚于开始时间');
      await page.click('[data-testid="hours-discard"]');
      expect(await own.locator('[data-period="0"] [data-field="end"]').inputValue()).toBe('17:00');

      // Weekends with periods of their own (mornings): offered Saturday first, Sunday added to it.
      await own.locator('[data-testid="own-days-add"]').click();
      const weekend = own.locator('[data-testid="own-days"][data-group="0"]');
      expect(await weekend.locator('input[data-own-weekday="6"]').isChecked()).toBe(true);
      await weekend.locator('input[data-own-weekday="7"]').check();
      expect(await weekend.locator('[data-period="0"] [data-field="end"]').inputValue()).toBe('12:00');
      await page.fill('[data-testid="hours-note"]', '检验机构周末只上午营业');
      await page.click('[data-testid="hours-save"]');
      await expect.poll(() => page.locator('[data-testid="hours-ok"]').count(), { timeout: 10_000 }).toBe(1);
      expect((await calendar()).hours.byType?.inspection_station).toEqual({ ...station, byWeekday: [{ days: [6, 7], periods: [{ start: '08:00', end: '12:00' }] }] });
      expect(await page.locator('[data-testid="hours-current"] [data-type="inspection_station"]').innerText()).toBe('机动车检验机构：周一至周五 08:00–17:00；周六、周日 08:00–12:00，节假日照常营业');
      await own.scrollIntoViewIfNeeded();
      await shot(page, 'office-calendar-own-days.png');
      // Taken away again: every day 08:00–17:00.
      await weekend.locator('[data-testid="own-days-remove"]').click();
      await page.click('[data-testid="hours-save"]');
      // The screen takes the hub's answer into the form: edits typed before it would be overwritten.
      await expect.poll(() => page.locator('[data-testid="hours-ok"]').count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(async () => (await calendar()).hours.byType?.inspection_station, { timeout: 10_000 }).toEqual(station);

      // Working hours with a lunch break: 08:00–12:00 and 14:30–18:00.
      const hours = page.locator('[data-testid="hours"]');
      await hours.locator('[data-testid="city-periods"] [data-period="0"] [data-field="end"]').fill('12:00');
      await page.click('[data-testid="period-add"]');
      await hours.locator('[data-testid="city-periods"] [data-period="1"] [data-field="start"]').fill('14:30');
      await hours.locator('[data-testid="city-periods"] [data-period="1"] [data-field="end"]').fill('18:00');
      await page.fill('[data-testid="hours-note"]', '增加午休');
      await page.click('[data-testid="hours-save"]');
      await expect.poll(() => page.locator('[data-testid="hours-ok"]').count(), { timeout: 10_000 }).toBe(1);
      const after = await calendar();
      expect(after.hours).toMatchObject({ workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '12:00' }, { start: '14:30', end: '18:00' }], note: '增加午休', updatedBy: 'rules' });
      expect(after.hours.byType).toEqual({ inspection_station: station });
      expect(await page.locator('[data-testid="hours-current"]').innerText()).toBe('现行：周一至周五 08:00–12:00、14:30–18:00\n机动车检验机构：周一至周日 08:00–17:00，节假日照常营业');
      // A period ending before it starts: the hub's own words, naming the period; nothing saved.
      await hours.locator('[data-testid="city-periods"] [data-period="1"] [data-field="end"]').fill('13:00');
      await page.click('[data-testid="hours-save"]');
      const refused = page.locator('[data-testid="hours-error"]');
      await refused.waitFor({ timeout: 10_000 });
      expect(await refused.innerText()).toBe('未保存：第 2 个时段（14:30–13:00）：时段的结束时间应晚于开始时间');
      expect((await calendar()).hours.periods).toEqual([{ start: '08:00', end: '12:00' }, { start: '14:30', end: '18:00' }]);
      // The office pages scroll inside .app-shell: back to the top for the picture.
      await page.evaluate(() => document.querySelector('.app-shell')?.scrollTo(0, 0));
      await shot(page, 'office-calendar.png');
      await page.click('[data-testid="hours-discard"]');

      // English: no Chinese UI text; dates and festivals in English.
      await page.goto(`${stack.hub.url}/calendar?lang=en`);
      await card.waitFor({ timeout: 15_000 });
      await page.waitForLoadState('networkidle').catch(() => undefined);
      expect(await page.locator('main.content h1').innerText()).toBe('Work calendar');
      if (before.missing.length) expect(await missing.innerText()).toContain(`The ${before.missing.join(' and ')} holidays have not been entered`);
      await page.fill('[data-testid="other-year"]', '2031');
      await page.click('[data-testid="other-year-go"]');
      await expect.poll(() => card.getAttribute('data-year')).toBe('2031');
      expect(await page.locator('[data-testid="year-history"]').innerText()).toMatch(/^Revision 2 · /);
      expect(await page.locator('[data-date="2031-01-23"]').getAttribute('title')).toBe('Thu 23 Jan Public holiday · Spring Festival (click to change)');
      expect(await page.locator('[data-testid="hours-current"]').innerText()).toBe('In force: Mon–Fri 08:00–12:00, 14:30–18:00\nInspection station: Mon–Sun 08:00–17:00, open on public holidays');
      expect(await page.locator('[data-testid="hours-current"] [data-type="inspection_station"]').innerText()).toBe('Inspection station: Mon–Sun 08:00–17:00, open on public holidays');
      await page.fill('[data-testid="notice-text"]', NOTICE_2031);
      await page.click('[data-testid="notice-read"]');
      await result.waitFor({ timeout: 10_000 });
      expect(await result.locator('tr[data-festival="春节"]').innerText()).toBe('Spring Festival\tWed 22 Jan – Tue 28 Jan\tSun 19 Jan, Sat 8 Feb');
      expect(await chineseIn(page, 'header.top, main.content')).toEqual([]);
      await page.evaluate(() => document.querySelector('.app-shell')?.scrollTo(0, 0));
      await shot(page, 'office-calendar-en.png');
      await result.scrollIntoViewIfNeeded();
      await shot(page, 'office-calendar-notice-en.png');
      if (before.missing.length) {
        // The reminder on the other pages, in English too.
        await page.click('[data-nav="rules"]');
        const banner = page.locator('[data-testid="calendar-banner"]');
        await banner.waitFor({ timeout: 10_000 });
        expect(await banner.innerText()).toBe(`The ${before.missing.join(' and ')} holidays are not yet in the work calendar → Enter them`);
        expect(await chineseIn(page, '[data-testid="calendar-banner"]')).toEqual([]);
      }
      expect(errors).toEqual([]);

      // A leader may read the calendar (a link, not in the nav) but not change it.
      const leader = await stack.login('leader', '/calendar');
      try {
        await leader.page.locator('[data-testid="calendar-readonly"]').waitFor({ timeout: 15_000 });
        expect(await leader.page.locator('[data-testid="nav"] a[data-nav="calendar"]').count()).toBe(0);
        expect(await leader.page.locator('[data-testid="hours-save"], [data-testid="notice"], [data-testid="missing-paste"], button[data-date]').count()).toBe(0);
        expect(await leader.page.locator('[data-testid="city-days"] input[data-weekday="1"]').isDisabled()).toBe(true);
        expect(await leader.page.locator('[data-testid="calendar-banner"]').count()).toBe(0);
        expect(leader.errors).toEqual([]);
      } finally {
        await leader.context.close();
      }
    } finally {
      // The hours other tests expect (Monday–Friday 08:00–18:00), whatever happened above.
      const restored = await rulesApi('/api/v1/calendar/hours', { method: 'PUT', json: { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }], note: '测试结束，恢复' } });
      expect(restored.status).toBe(200);
      expect((restored.body as WorkCalendarView).hours).toMatchObject({ workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '18:00' }] });
      expect((restored.body as WorkCalendarView).hours.byType).toBeUndefined();
      await context.close();
    }
  });

  it('shows no raw JSON, snake_case code or rule id on any office page, in Chinese or English, and no Chinese UI text in English', async () => {
    const leaderApi = await stack.as('leader');
    const ruleIds: string[] = ((await leaderApi('/api/v1/rules')).body.items as { id: string }[]).map((r) => r.id);
    const [w] = (await leaderApi('/api/v1/warnings?limit=1')).body.items as { id: string }[];
    // user '' = a visitor who has not logged in.
    const pages: [user: string, path: string, name: string][] = [
      ['', '/login', 'login'],
      ['auditor', '/workbench', 'workbench'],
      ['leader', '/evaluation', 'evaluation'],
      ['leader', '/evaluation?period=quarter', 'evaluation-quarter'],
      ['leader', `/counties/${COUNTY}`, 'county'],
      ['leader', `/institutions/${INSTITUTION}`, 'institution'],
      ['leader', '/warnings', 'warnings'],
      ['leader', `/warnings/${encodeURIComponent(worked || w!.id)}`, 'warning'],
      ['leader', '/quality', 'quality'],
      ['registry', '/registry', 'registry'],
      ['registry', '/registry/import', 'registry-import'],
      ['rules', '/rules', 'rules'],
      ['rules', '/calendar', 'calendar'],
      ['admin', '/dead-letters', 'dead-letters'],
      ['admin', '/collectors', 'collectors'],
      ['admin', '/users', 'users'],
      ['admin', '/audit', 'audit'],
      ['admin', '/backups', 'backups'],
      ['admin', '/readiness', 'readiness'],
      ['admin', '/no-such-screen', 'not-found'],
    ];
    /** The screen's own parts: the office header and content, or the login form. */
    const ROOTS = 'header.top, main.content, [data-testid="login-form"]';
    /** Raw JSON in any of its shapes: an object, a list of objects, spaced keys, a "key": pair. */
    const RAW_JSON = /\{"|\[\{|\{ "|":/;
    const findings: string[] = [];
    const leaksIn = (where: string, all: string) => {
      const json = all.match(RAW_JSON);
      if (json) findings.push(`${where}: raw JSON ${JSON.stringify(all.slice(Math.max(0, json.index! - 20), json.index! + 20))}`);
      const snake = all.match(/\b[a-z]+_[a-z_]+\b/g);
      if (snake) findings.push(`${where}: snake_case ${[...new Set(snake)].slice(0, 5).join(', ')}`);
      const ids = ruleIds.filter((id) => all.includes(id));
      if (ids.length) findings.push(`${where}: rule ids ${ids.slice(0, 3).join(', ')}`);
    };
    const byUser = new Map<string, Awaited<ReturnType<Stack['login']>>>();
    // Each user's screens in their own browser context, the users at the same time: a screen's
    // visit is mostly waiting for it to settle, and one after another the 42 visits took two
    // minutes. Within a user, screens stay in order (the language is switched back between them).
    const visitAll = async (user: string, mine: typeof pages) => {
      for (const [, path, name] of mine) {
        let s = byUser.get(user);
        if (!s) {
          if (user) s = await stack.login(user, path);
          else {
            const context = await stack.browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
            const page = await context.newPage();
            const errors: string[] = [];
            page.on('pageerror', (e) => errors.push(e.message));
            s = { context, page, errors };
          }
          byUser.set(user, s);
        }
        for (const lang of ['zh', 'en'] as const) {
          await s.page.goto(`${stack.hub.url}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
          await s.page.waitForSelector('main.content h1, main.content h2, main.content [data-testid="institution-title"], [data-testid="login-form"] h1', { timeout: 15_000 });
          await s.page.waitForLoadState('networkidle').catch(() => undefined);
          await s.page.waitForTimeout(600);
          const all = (await s.page.locator(ROOTS).allInnerTexts()).join('\n');
          expect(all.length, `${name}/${lang}: text on screen`).toBeGreaterThan(20);
          leaksIn(`${name}/${lang}`, all);
          if (lang === 'en') {
            // Complete English: no Chinese in the UI chrome. Data (people's, institutions' and places'
            // names, rule names, record values) is marked data-datum and stays as recorded.
            const cjk = await chineseIn(s.page, ROOTS);
            if (cjk.length) findings.push(`${name}/en: Chinese in the UI ${JSON.stringify(cjk.slice(0, 40))}`);
          }
          await shot(s.page, `office-screen-${name}-${lang}.png`);
          if (name === 'rules' && lang === 'en') {
            // The parameter form of a chosen rule, in English: rules chosen so that every parameter
            // of the set in force is shown once; labels, units, choices and help are all English.
            const rulesApi = await stack.as('rules');
            const inForce = ((await rulesApi('/api/v1/rulesets')).body as { inForce: string }).inForce;
            const content = ((await rulesApi(`/api/v1/rulesets/${encodeURIComponent(inForce)}`)).body as {
              content: { definitions: { id: string; params?: Record<string, unknown> }[]; params: Record<string, Record<string, unknown>> };
            }).content;
            const paramsOf = (id: string) => Object.keys({ ...(content.definitions.find((d) => d.id === id)?.params ?? {}), ...(content.params[id] ?? {}) });
            const uncovered = new Set(content.definitions.flatMap((d) => paramsOf(d.id)));
            expect(uncovered.size).toBeGreaterThan(10);
            const chosen: string[] = [];
            while (uncovered.size) {
              const best = content.definitions.map((d) => d.id).reduce((a, b) => (paramsOf(b).filter((p) => uncovered.has(p)).length > paramsOf(a).filter((p) => uncovered.has(p)).length ? b : a));
              chosen.push(best);
              for (const p of paramsOf(best)) uncovered.delete(p);
            }
            const form = s.page.locator('[data-testid="draft-params"]');
            for (const id of chosen) {
              await s.page.selectOption('[data-testid="draft-rule"]', id);
              const want = paramsOf(id);
              await expect.poll(() => form.locator('[data-param]').evaluateAll((els) => els.map((e) => e.getAttribute('data-param'))), { timeout: 10_000 }).toEqual(want);
              const text = await form.innerText();
              leaksIn(`rules/en parameters of ${id}`, text);
              const cjk = await chineseIn(s.page, '[data-testid="draft-params"]');
              if (cjk.length) findings.push(`rules/en parameters of ${id}: Chinese ${JSON.stringify(cjk)}`);
              // Every field has an English label and a sentence of help.
              for (const p of want) {
                const caption = await form.locator(`[data-param="${p}"] > span`).innerText();
                const help = await form.locator(`[data-param="${p}"] > small`).innerText();
                if (!/^[A-Z][A-Za-z ]+( \([^)]+\))?$/.test(caption) || help.length < 10) findings.push(`rules/en parameter ${p}: "${caption}" / "${help}"`);
              }
              if (want.includes('minSeconds')) expect(await form.locator('[data-param="minSeconds"] > span').innerText()).toBe('Minimum time (s)');
            }
            await shot(s.page, 'office-screen-rules-parameters-en.png');
          }
        }
        // Back to Chinese for the next screen of the same user.
        await s.page.evaluate(() => localStorage.setItem('jg.lang', 'zh'));
      }
    };
    const users = [...new Set(pages.map(([user]) => user))];
    await Promise.all(users.map((user) => visitAll(user, pages.filter(([u]) => u === user))));
    for (const s of byUser.values()) {
      expect(s.errors).toEqual([]);
      await s.context.close();
    }
    expect(findings).toEqual([]);
  });
});
