/**
 * The wall must never mislead a room reading it from across the floor. Against the real stack
 * (stack.ts: Redis, a hub with embedded ClickHouse serving the build, a collector streaming
 * simulated business with anomalies, Debian's Chromium):
 *
 * - before the first snapshot it says what it waits for, with no zeros and no "all well";
 * - the colour legend and the county fills do not move across ten statistics pushes of
 *   unchanged data;
 * - the evaluation ranking is worst first and shows a D-grade (vetoed) institution, made so by
 *   the real workflow (an auditor confirms a warning of a veto rule) and the real evaluation;
 * - every visible text is at least 20 px at 1920×1080 and 40 px at 3840×2160, in every view, in
 *   the waiting state and under the alert banner;
 * - a click on a county highlights it in place and never navigates;
 * - a reload keeps the live list's length;
 * - a county screen names its county and centres its map on it;
 * - no raw JSON, identifiers or rule ids reach the screen, in Chinese or in English, and the
 *   overdue list names workflow states in the screen's language.
 *
 * Screenshots (git-ignored): dashboard/artifacts/wall-readable-*-1920.png and -3840.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { AGENT_RULES, CHECK_RULES, COUNTER_RULES, EXAM_RULES, INSPECTION_RULES, MEDICAL_RULES, ONLINE_RULES, POINTS_RULES, VEHICLE_RULES } from '@jianguan/rules';
import { ARTIFACTS, CHROMIUM, HAVE_CHROMIUM, removeDir, type Stack, startStack } from './stack';

if (!HAVE_CHROMIUM) console.warn(`[wall-readable.e2e] SKIPPED: ${CHROMIUM} is missing`);

/** The smallest text allowed on the wall at 1080p (px); twice that at 2160p. */
const MIN_PX_1080 = 20;

/** Every visible element that has its own text: tag, text, computed font size (px). */
async function visibleTexts(page: Page): Promise<{ tag: string; text: string; px: number }[]> {
  return page.evaluate(() => {
    const out: { tag: string; text: string; px: number }[] = [];
    for (const el of document.querySelectorAll('main.wall *')) {
      if (el.closest('title') || el.tagName.toLowerCase() === 'title') continue;
      const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent ?? '').join('').trim();
      if (!own) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || cs.display === 'none' || Number(cs.opacity) === 0) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0 || r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) continue;
      out.push({ tag: el.tagName.toLowerCase(), text: own.slice(0, 40), px: parseFloat(cs.fontSize) });
    }
    return out;
  });
}

/** Texts smaller than `min` px on screen now, as "<tag> px "text"" lines prefixed with `where`. */
async function smallerThan(page: Page, min: number, where: string): Promise<string[]> {
  return (await visibleTexts(page)).filter((x) => x.px < min - 0.01).map((x) => `${where} <${x.tag}> ${x.px}px "${x.text}"`);
}

/** Switches the screen to 3840×2160 (the command centre's 4K wall), waiting for the layout to settle. */
async function at4k(page: Page): Promise<void> {
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.waitForTimeout(500);
}

async function at1080(page: Page): Promise<void> {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.waitForTimeout(300);
}

/** Things that must never be on the wall: raw JSON, code identifiers, rule ids, missing values. */
const LEAKS: [string, RegExp][] = [
  ['brace', /[{}]/],
  ['snake_case identifier', /\b[a-z][a-z0-9]*_[a-z0-9_]+\b/],
  ['rule id', /\b(?:counter|agent|vehicle|check|inspection|exam|points|medical|online|collector)\.[a-z_]+\b/],
  ['missing value', /\b(?:undefined|null|NaN|\[object Object\])\b/],
  ['untranslated key', /\b(?:kpi|map|rank|ticker|health|view|trend|overdue|alert|loading|grade|business|state|scope)\.[a-zA-Z]+\b/],
];

function leaks(text: string): string[] {
  const found: string[] = [];
  for (const [what, re] of LEAKS) {
    const m = text.match(re);
    if (m) found.push(`${what}: ${m[0]}`);
  }
  return found;
}

/** Waits for the first snapshot; on failure, says what the screen showed instead. */
async function ready(page: Page): Promise<void> {
  try {
    await page.waitForSelector('main.wall[data-ready="yes"]', { timeout: 30_000 });
  } catch (e) {
    const shown = await page.locator('body').innerText().catch(() => '');
    throw new Error(`the wall did not get its snapshot; it showed: ${shown.slice(0, 300)}`, { cause: e });
  }
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
}

describe.skipIf(!HAVE_CHROMIUM)('the wall reads true from across the room (real stack, Chromium)', () => {
  let stack: Stack;
  let page: Page;
  const pageErrors: string[] = [];
  let evalFile = '';

  beforeAll(async () => {
    // A deployment's evaluation file: every built-in rule is a veto rule, so one confirmed
    // warning makes its institution grade D (domain §8) — the real evaluation, not a seeded score.
    const all = [COUNTER_RULES, AGENT_RULES, VEHICLE_RULES, CHECK_RULES, INSPECTION_RULES, EXAM_RULES, POINTS_RULES, MEDICAL_RULES, ONLINE_RULES].flat();
    evalFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jg-wall-eval-')), 'evaluation.json');
    fs.writeFileSync(evalFile, JSON.stringify({ vetoRules: all.map((r) => r.id) }));
    process.env.JG_EVALUATION_FILE = evalFile;
    stack = await startStack('JCJ-CGS', { simulator: { ratePerSec: 40, anomalyRate: 0.3, maxRecords: 160, seed: 11 } });
    // The collector's key waits for an administrator, as in production; approve it.
    const admin = await stack.as('admin');
    for (let i = 0; ; i++) {
      const res = await admin('/api/v1/collectors/c-office-e2e-01/approve', { json: {} });
      if (res.status === 200) break;
      if (i > 60) throw new Error(`collector approval: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // The wall screen is logged in with the wall account (role 大屏查看), as a command centre runs it.
    ({ page } = await stack.login('wall', '/wall'));
    await page.setViewportSize({ width: 1920, height: 1080 });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    delete process.env.JG_EVALUATION_FILE;
    await stack?.close();
    if (evalFile) removeDir(path.dirname(evalFile));
  });

  it('before the first snapshot says what it waits for — no zeros, no "all well" — then shows the figures', async () => {
    // Hold the socket's first requests for a few seconds (real traffic, only delayed) so the
    // state before any data can be seen.
    let held = true;
    await page.route('**/socket.io/**', async (route) => {
      while (held) await new Promise((r) => setTimeout(r, 100));
      await route.continue();
    });
    await page.goto(`${stack.hub.url}/wall`);
    await page.getByTestId('wall-loading').waitFor({ timeout: 15_000 });
    expect(await page.locator('main.wall').getAttribute('data-ready')).toBe('no');
    const before = await page.locator('main.wall').innerText();
    expect(before).toContain('正在接收今日数据');
    expect(before).not.toContain('运行正常');
    expect(before).not.toContain('暂无');
    expect(await page.locator('[data-kpi]').count()).toBe(0);
    // No figure at all: the only digits are the clock and date in the header.
    const body = await page.getByTestId('wall-loading').innerText();
    expect(body).not.toMatch(/[0-9]/);
    await shot(page, 'wall-readable-loading-1920.png');
    expect(await smallerThan(page, MIN_PX_1080, 'loading/1920')).toEqual([]);
    // The same waiting state on the 4K wall: twice the size, nothing smaller.
    await at4k(page);
    expect(await page.getByTestId('wall-loading').isVisible()).toBe(true);
    expect(await smallerThan(page, 2 * MIN_PX_1080, 'loading/3840')).toEqual([]);
    await shot(page, 'wall-readable-loading-3840.png');
    await at1080(page);

    held = false;
    await ready(page);
    await page.unroute('**/socket.io/**');
    expect(await page.getByTestId('wall-loading').count()).toBe(0);
    await expect.poll(() => page.locator('[data-kpi="transactions"]').getAttribute('data-value'), { timeout: 60_000 }).not.toBe('0');
  });

  it('ranks institutions by evaluation score worst first, a vetoed D-grade institution on top', async () => {
    const leader = await stack.as('leader');
    // A warning of the collector's institution, auto-assigned to an auditor.
    let target: { id: string; assignee: string } | null = null;
    await expect
      .poll(
        async () => {
          const list = await leader('/api/v1/warnings?institution=JCJ-CGS&limit=50');
          const w = ((list.body.items ?? []) as { id: string; family: string; assignee: string }[]).find((x) => x.family !== 'collector' && x.assignee);
          if (w) target = { id: w.id, assignee: w.assignee };
          return w !== undefined;
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(true);
    const { id, assignee } = target!;
    const auditor = await stack.as(assignee);
    for (const action of [{ type: 'acknowledge' }, { type: 'start_verification' }, { type: 'conclude', conclusion: 'confirmed' }]) {
      const seq = (await leader(`/api/v1/warnings/${id}`)).body.state.seq as number;
      const res = await auditor(`/api/v1/warnings/${id}/actions`, { json: { ...action, expectedSeq: seq } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }

    // The rankings view is a full-screen rotation view (→ from the overview's neighbours).
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('view-ranking').waitFor({ timeout: 10_000 });
    const rows = page.locator('[data-rank="scores"] li.row');
    // The collector's institution had business, so it is ranked at once; the veto lands on the
    // next evaluation refresh after the conclusion.
    await expect.poll(async () => (await rows.first().innerText()).includes('一票否决'), { timeout: 90_000, interval: 1000 }).toBe(true);
    expect(await rows.first().getAttribute('data-key')).toBe('JCJ-CGS');
    const first = await rows.first().innerText();
    expect(first).toContain('一票否决');
    expect(first).toContain('D 不合格');
    // Worst first: scores never decrease down the list, except that vetoed rows come first.
    const values = await rows.evaluateAll((els) => els.map((e) => ({ v: Number(e.getAttribute('data-value')), veto: (e.textContent ?? '').includes('一票否决') })));
    const rest = values.filter((v) => !v.veto).map((v) => v.v);
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
    // Institutions without business are not ranked as a perfect 100: they are counted apart.
    const panel = await page.getByTestId('ranking-scores').innerText();
    expect(panel).toMatch(/\d+ 家机构本月无业务，不参与排名/);
    expect(panel).not.toContain('A 优秀\n100.0');
    await shot(page, 'wall-readable-ranking-1920.png');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.locator('main.wall[data-view="overview"]').waitFor({ timeout: 10_000 });
  });

  it('keeps the legend and county colours across ten statistics pushes of unchanged data', async () => {
    // Wait until the collector's run is over and the figures have settled.
    let last = '';
    await expect
      .poll(
        async () => {
          const now = (await page.locator('[data-kpi="transactions"]').getAttribute('data-value')) ?? '';
          const same = now === last && now !== '0';
          last = now;
          return same;
        },
        { timeout: 90_000, interval: 3000 },
      )
      .toBe(true);
    const picture = () =>
      page.evaluate(() => ({
        legend: document.querySelector('[data-testid="map-legend"]')?.outerHTML ?? '',
        fills: [...document.querySelectorAll('path.county')].map((p) => `${p.getAttribute('data-county')}=${p.getAttribute('fill')}`).join('|'),
      }));
    const start = await picture();
    expect(start.legend).toContain('data-breaks="0.01,0.02,0.05,0.1,0.2,0.4"');
    expect(start.fills.split('|')).toHaveLength(11);
    const seq = async () => Number(await page.locator('main.wall').getAttribute('data-stats-seq'));
    for (let i = 0; i < 10; i++) {
      const before = await seq();
      stack.hub.wall.touch();
      await expect.poll(seq, { timeout: 15_000, interval: 100 }).toBeGreaterThan(before);
      expect(await picture()).toEqual(start);
    }
  });

  it('keeps every visible text at least 20 px at 1920×1080 and 40 px at 3840×2160, in every view', async () => {
    const small: string[] = [];
    let count = 0;
    for (const view of ['overview', 'trend', 'ranking', 'health']) {
      await page.locator(`main.wall[data-view="${view}"]`).waitFor({ timeout: 10_000 });
      const texts = await visibleTexts(page);
      count += texts.length;
      for (const x of texts) if (x.px < MIN_PX_1080 - 0.01) small.push(`${view} <${x.tag}> ${x.px}px "${x.text}"`);
      await shot(page, `wall-readable-${view}-1920.png`);
      await page.keyboard.press('ArrowRight');
    }
    await page.locator('main.wall[data-view="overview"]').waitFor({ timeout: 10_000 });
    expect(count).toBeGreaterThan(100);
    expect(small).toEqual([]);

    // The 4K wall: every view again, each text at least twice the 1080p minimum, no scrolling.
    await at4k(page);
    const big: string[] = [];
    let bigCount = 0;
    for (const view of ['overview', 'trend', 'ranking', 'health']) {
      await page.locator(`main.wall[data-view="${view}"]`).waitFor({ timeout: 10_000 });
      await page.waitForTimeout(300);
      const texts = await visibleTexts(page);
      bigCount += texts.length;
      for (const x of texts) if (x.px < 2 * MIN_PX_1080 - 0.01) big.push(`${view} <${x.tag}> ${x.px}px "${x.text}"`);
      const scroll = await page.evaluate(() => ({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight }));
      expect({ view, ...scroll }).toEqual({ view, w: 3840, h: 2160 });
      await shot(page, `wall-readable-${view}-3840.png`);
      await page.keyboard.press('ArrowRight');
    }
    await page.locator('main.wall[data-view="overview"]').waitFor({ timeout: 10_000 });
    expect(bigCount).toBeGreaterThan(100);
    expect(big).toEqual([]);
    await at1080(page);
  });

  it('highlights a clicked county in place and never navigates', async () => {
    const url = page.url();
    const county = page.locator('path.county[data-county="451203"]');
    await county.click({ force: true });
    await page.waitForTimeout(1500);
    expect(page.url()).toBe(url);
    expect(new URL(page.url()).pathname).toBe('/wall');
    expect(await county.getAttribute('data-selected')).toBe('yes');
    expect(await page.locator('main.wall[data-ready="yes"]').count()).toBe(1);
    // A second click on the same county clears the highlight.
    await county.click({ force: true });
    await expect.poll(() => county.getAttribute('data-selected'), { timeout: 5000 }).toBeNull();
    expect(page.url()).toBe(url);
  });

  it('keeps the live list length across a reload', async () => {
    const ticker = page.locator('ol.ticker');
    const before = Number(await ticker.getAttribute('data-count'));
    expect(before).toBeGreaterThan(10);
    await page.reload();
    await ready(page);
    const after = Number(await page.locator('ol.ticker').getAttribute('data-count'));
    expect(after).toBeGreaterThanOrEqual(before);
  });

  it('raises a full-width flashing banner for a collector tamper, then leaves it to the list', async () => {
    // A tamper warning handed to the broadcaster exactly as the collector service publishes one.
    const now = Date.now();
    const id = `tamper-e2e-${now}`;
    stack.hub.wall.published([
      {
        id,
        ruleId: 'collector.tamper',
        ruleName: '采集终端数据链被篡改',
        ruleVersion: '1',
        family: 'collector',
        severity: 'high',
        action: 'warn',
        transactionId: '',
        batchId: '',
        collectorId: 'c-office-e2e-01',
        institutionId: 'JCJ-CGS',
        county: '451202',
        occurredAt: now,
        capturedAt: now,
        raisedAt: now,
        explanation: '批次签名链断裂：上一批次摘要与记录不符',
        values: {},
        subjectMasked: '',
      },
    ]);
    const banner = page.getByTestId('alert-banner');
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.getAttribute('data-kind')).toBe('tamper');
    expect(await banner.getAttribute('data-warning-id')).toBe(id);
    const text = await banner.innerText();
    expect(text).toContain('终端篡改');
    expect(text).toContain('河池市车辆管理所');
    const box = await banner.boundingBox();
    expect(box!.width).toBeGreaterThan(1920 * 0.9);
    expect(await banner.evaluate((el) => getComputedStyle(el).animationName)).toContain('flash');
    await shot(page, 'wall-readable-alert-1920.png');
    // The banner on the 4K wall (it stays 12 s): full width, its text twice the 1080p minimum.
    await at4k(page);
    expect(await banner.isVisible()).toBe(true);
    expect((await banner.boundingBox())!.width).toBeGreaterThan(3840 * 0.9);
    expect(await smallerThan(page, 2 * MIN_PX_1080, 'alert/3840')).toEqual([]);
    await shot(page, 'wall-readable-alert-3840.png');
    await at1080(page);
    // In the list at once; the banner goes after its time.
    expect(await page.locator(`.ticker [data-warning-id="${id}"]`).count()).toBe(1);
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    expect(await page.locator(`.ticker [data-warning-id="${id}"]`).count()).toBe(1);
  });

  it('on a county screen names the county in the header and centres the map on it', async () => {
    // auditor-yz is scoped to 宜州区 (451203): the hub sends that county only, and says so.
    const county = await stack.login('auditor-yz', '/wall');
    try {
      await county.page.setViewportSize({ width: 1920, height: 1080 });
      await ready(county.page);
      expect(await county.page.getByTestId('wall-scope').innerText()).toContain('宜州区');
      const own = county.page.locator('path.county[data-county="451203"]');
      expect(await own.getAttribute('class')).not.toContain('outside');
      expect(await county.page.locator('path.county.outside').count()).toBe(10);
      // Zoomed on it: the county fills most of the map panel's smaller side.
      const [box, panel] = [await own.boundingBox(), await county.page.locator('.map').boundingBox()];
      expect(Math.max(box!.width / panel!.width, box!.height / panel!.height)).toBeGreaterThan(0.6);
      await shot(county.page, 'wall-readable-county-1920.png');
    } finally {
      await county.context.close();
    }
  });

  it('shows no raw JSON, identifiers or rule ids, in Chinese or in English', async () => {
    // A warning raised ten days ago and never acknowledged: the real sweep escalates it (超期督办),
    // so the overdue list has a state to label.
    const tenDaysAgo = Date.now() - 10 * 86_400_000;
    await stack.hub.store.insert('warnings', [
      {
        id: 'w-e2e-overdue', rule_id: 'check.short_duration', rule_name: '查验用时过短', rule_version: '1', family: 'check', severity: 'high', action: 'warn',
        transaction_id: 't-e2e-overdue', batch_id: 'b-e2e', collector_id: 'c-office-e2e-01', institution_id: 'JCJ-CGS', county: '451202',
        occurred_at: tenDaysAgo, captured_at: tenDaysAgo, raised_at: tenDaysAgo, explanation: '查验用时60秒，少于阈值180秒', values_json: '{}', subject_masked: '',
      },
    ]);
    const admin = await stack.as('admin');
    const sweep = await admin('/api/v1/workflow/sweep', { json: {} });
    expect(sweep.status, JSON.stringify(sweep.body)).toBe(200);
    // Escalated by this pass, or by the hub's own periodic one if it came first.
    const detail = await admin('/api/v1/warnings/w-e2e-overdue');
    expect(detail.status, JSON.stringify(detail.body)).toBe(200);
    expect(detail.body.state.escalated).toBe(true);
    for (const lang of ['zh', 'en']) {
      await page.goto(`${stack.hub.url}/wall?lang=${lang}`);
      await ready(page);
      await page.waitForTimeout(1500);
      for (const view of ['overview', 'trend', 'ranking', 'health']) {
        await page.locator(`main.wall[data-view="${view}"]`).waitFor({ timeout: 10_000 });
        const text = await page.locator('main.wall').innerText();
        expect(leaks(text), `${lang}/${view}`).toEqual([]);
        if (lang === 'en') expect(text, `${lang}/${view}`).not.toMatch(/正在接收|暂无数据|今日业务量|机构考核/);
        if (view === 'trend') {
          const states = await page.locator('[data-testid="overdue-list"] .state').allInnerTexts();
          expect(states.length, `${lang}: overdue states`).toBeGreaterThan(0);
          for (const s of states) expect(s, `${lang}: overdue state`).toMatch(lang === 'en' ? /^[A-Za-z ]+$/ : /^[\u4e00-\u9fff]+$/);
        }
        await page.keyboard.press('ArrowRight');
      }
      if (lang === 'en') await shot(page, 'wall-readable-overview-en-1920.png');
    }
    await page.goto(`${stack.hub.url}/wall?lang=zh`);
    await ready(page);
    expect(pageErrors).toEqual([]);
  });
});
