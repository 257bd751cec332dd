/**
 * The wall survives a hub restart (real hub + Redis + embedded ClickHouse + collector + Chromium):
 * it shows 重连中 while the hub is down and keeps its last numbers on screen, reconnects on its
 * own when a hub comes back on the same port with the same data, takes the snapshot the hub sends
 * on connect, and counts on. Also the view rotation (`?rotate=`) and its ←/→ keys.
 * Screenshots (1920×1080, and 3840×2160 while reconnecting): JG_SHOTS_DIR, else dashboard/artifacts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, HAVE_CHROMIUM, startStack, type Stack } from './stack';
import { approveCollector, loginWall } from './wall-access';

if (!HAVE_CHROMIUM) console.warn('[wall-restart.e2e] SKIPPED: /usr/bin/chromium is missing (apt-get install -y chromium fonts-noto-cjk)');

const SHOTS = process.env.JG_SHOTS_DIR ?? ARTIFACTS;

async function wallPage(stack: Stack, query = ''): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await stack.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await loginWall(page, stack.hub.url);
  await page.goto(`${stack.hub.url}/wall${query}`);
  await page.waitForSelector('main.wall[data-ready="yes"]', { timeout: 30_000 });
  return { context, page, errors };
}

const kpi = (page: Page, k: string) => page.locator(`[data-kpi="${k}"]`).getAttribute('data-value').then(Number);
const connection = (page: Page) => page.locator('[data-connection]').getAttribute('data-connection');
const connectionText = (page: Page) => page.locator('[data-connection] .conn').textContent();

describe.skipIf(!HAVE_CHROMIUM)('wall across a hub restart (real stack + Chromium)', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A slow, steady stream that outlasts the restart (300 records at 6/s ≈ 50 s).
    stack = await startStack('JCJ-CGS', { simulator: { ratePerSec: 6, maxRecords: 300, anomalyRate: 0.3, seed: 11 } });
    await approveCollector(stack.hub.url, 'c-office-e2e-01');
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('shows 重连中 while the hub is down, then reconnects and resyncs from the new hub', async () => {
    const { context, page, errors } = await wallPage(stack);
    await expect.poll(() => connection(page), { timeout: 15_000 }).toBe('connected');
    expect(await connectionText(page)).toBe('已连接');
    await expect.poll(() => kpi(page, 'transactions'), { timeout: 60_000 }).toBeGreaterThan(0);

    await stack.stopHub();
    await expect.poll(() => connection(page), { timeout: 15_000 }).toBe('reconnecting');
    expect(await connectionText(page)).toBe('重连中');
    // … says its figures are paused …
    expect(await page.locator('[data-testid="stale-banner"]').textContent()).toContain('数据暂停更新');
    expect(await page.locator('main.wall').getAttribute('class')).toContain('stale');
    // The wall keeps its last numbers while the hub is away: a blank wall alarms the room.
    const before = await kpi(page, 'transactions');
    expect(before).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'wall-reconnecting-1920.png') });
    // The same on the 4K wall (the collector keeps capturing into its outbox meanwhile): the
    // banner up, the last figures kept.
    await page.setViewportSize({ width: 3840, height: 2160 });
    await page.waitForTimeout(1_500);
    expect(await page.locator('[data-testid="stale-banner"]').isVisible()).toBe(true);
    expect(await kpi(page, 'transactions')).toBe(before);
    await page.screenshot({ path: path.join(SHOTS, 'wall-reconnecting-3840.png') });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.waitForTimeout(1_500);
    expect(await connection(page)).not.toBe('connected');

    await stack.startHubAgain();
    await expect.poll(() => connection(page), { timeout: 30_000 }).toBe('connected');
    expect(await connectionText(page)).toBe('已连接');
    expect(await page.locator('[data-testid="stale-banner"]').count()).toBe(0);
    // The snapshot after reconnecting carries at least what was shown before (the store kept it) …
    await expect.poll(() => kpi(page, 'transactions'), { timeout: 15_000 }).toBeGreaterThanOrEqual(before);
    const atReconnect = await kpi(page, 'transactions');
    // … and live counting goes on: the collector re-sends its outbox and keeps streaming.
    await expect.poll(() => kpi(page, 'transactions'), { timeout: 60_000 }).toBeGreaterThan(atReconnect);

    // Once the collector has delivered everything, the wall shows exactly the new hub's count.
    await stack.collector.drained(120_000);
    const hubCount = async () => (await stack.hub.wall.snapshot()).kpis.transactions;
    await expect.poll(async () => (await kpi(page, 'transactions')) === (await hubCount()) && (await hubCount()) > before, { timeout: 30_000 }).toBe(true);
    // Nothing was lost or doubled across the restart: every record the collector generated is
    // in the store exactly once, as a transaction or (malformed on purpose) a dead letter.
    const distinct = async (sql: string) => Number((await stack.hub.store.query<{ n: string }>({ sql, params: {} }))[0]?.n);
    const stored = await distinct('SELECT uniqExact(id) AS n FROM transactions');
    const dead = await distinct('SELECT uniqExact(record_key) AS n FROM dead_letters');
    expect(stored + dead).toBe(stack.collector.status().generated);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('rotates between the overview, trend, rankings and collector-health views with ?rotate=, and ←/→ switch by hand', async () => {
    // 5 s a view: the checks made while a view is up (texts, the hourly bars against the hub's
    // snapshot, a screenshot) must fit inside it even with another stack on the same two cores.
    const { context, page, errors } = await wallPage(stack, '?rotate=5');
    const current = () => page.locator('main.wall').getAttribute('data-view');
    const indicator = page.locator('[data-testid="view-indicator"]');
    expect(await current()).toBe('overview');
    expect(await indicator.locator('.v.on').textContent()).toBe('总览');
    expect(await indicator.locator('.next').textContent()).toMatch(/^\d 秒后切换$/);
    await page.screenshot({ path: path.join(SHOTS, 'wall-view-overview-1920.png') });

    // Each view is waited for up to a cycle and a half (a view missed is met on the next cycle).
    await expect.poll(current, { timeout: 30_000 }).toBe('trend');
    expect(await indicator.locator('.v.on').textContent()).toBe('趋势');
    await page.locator('[data-testid="view-trend"]').waitFor();
    expect(await page.locator('[data-testid="trend-transactions"] h2').textContent()).toBe('今日业务量逐时对比');
    expect(await page.locator('[data-testid="business-types"] h2').textContent()).toBe('今日业务类型构成');
    expect(await page.locator('[data-testid="trend-overdue"] h2').textContent()).toBe('超期督办');
    // The hourly bars add up to today's business so far.
    const hourly = page.getByTestId('hourly-transactions');
    await hourly.waitFor();
    expect(Number(await hourly.getAttribute('data-today'))).toBe((await stack.hub.wall.snapshot()).kpis.transactions);
    expect(await page.locator('[data-rank="business"] li.row').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'wall-view-trend-1920.png') });

    await expect.poll(current, { timeout: 30_000 }).toBe('ranking');
    expect(await indicator.locator('.v.on').textContent()).toBe('排名');
    await page.locator('[data-testid="view-ranking"]').waitFor();
    expect(await page.locator('[data-testid="ranking-warnings"] h2').textContent()).toBe('机构预警排行');
    expect(await page.locator('[data-testid="ranking-scores"] h2').textContent()).toBe('机构考核得分（由低到高）');
    expect(await page.locator('[data-testid="ranking-rules"] h2').textContent()).toBe('今日规则命中排行');
    // Only one view is on screen: the overview's map and ticker are gone.
    expect(await page.locator('[data-testid="map"]').count()).toBe(0);
    expect(await page.locator('[data-testid="ranking-warnings"] [data-rank="institutions"] li.row').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'wall-view-ranking-1920.png') });

    await expect.poll(current, { timeout: 30_000 }).toBe('health');
    expect(await indicator.locator('.v.on').textContent()).toBe('采集健康');
    expect(await page.locator('[data-testid="health-view-collectors"] h2').textContent()).toBe('采集终端状态');
    const transactionsTile = Number(await page.locator('[data-health-view="transactions"]').getAttribute('data-value'));
    expect(transactionsTile).toBe((await stack.hub.wall.snapshot()).kpis.transactions);
    expect(Number(await page.locator('[data-health-view="collectors"]').getAttribute('data-value'))).toBeGreaterThanOrEqual(0);
    await page.screenshot({ path: path.join(SHOTS, 'wall-view-health-1920.png') });

    await expect.poll(current, { timeout: 30_000 }).toBe('overview');

    // By hand: → goes forward, ← back, each restarting the countdown.
    await page.keyboard.press('ArrowRight');
    expect(await current()).toBe('trend');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await current()).toBe('health');

    // Every view fits the screen without scrolling, at 1920×1080 and 3840×2160. Each measure
    // names the view it measured: the timer may move on between a key press and the measure (on
    // a busy machine), and then the view is driven to again and measured again.
    const fits = () =>
      page.evaluate(() => {
        const inside = [...document.querySelectorAll('[data-testid], [data-kpi]')].every((e) => {
          const r = e.getBoundingClientRect();
          return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight + 0.5 && r.right <= window.innerWidth + 0.5 && r.height > 0;
        });
        const view = document.querySelector('main.wall')?.getAttribute('data-view') ?? null;
        return { view, w: document.documentElement.scrollWidth <= window.innerWidth, h: document.documentElement.scrollHeight <= window.innerHeight, inside };
      });
    for (const size of [{ width: 1920, height: 1080 }, { width: 3840, height: 2160 }]) {
      await page.setViewportSize(size);
      for (const view of ['overview', 'trend', 'ranking', 'health']) {
        let seen: Awaited<ReturnType<typeof fits>> | undefined;
        for (let attempt = 0; attempt < 8 && seen?.view !== view; attempt++) {
          for (let i = 0; i < 4 && (await current()) !== view; i++) await page.keyboard.press('ArrowRight');
          seen = await fits();
        }
        expect({ size: size.width, ...seen }).toEqual({ view, size: size.width, w: true, h: true, inside: true });
      }
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('clears its timers when the wall is left (no rotation keeps running in the background)', async () => {
    const context = await stack.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    // Track every interval the page starts and clears, from before the app loads.
    await context.addInitScript(() => {
      const live = new Map<number, number>();
      (window as unknown as { __intervals: Map<number, number> }).__intervals = live;
      const set = window.setInterval.bind(window);
      const clear = window.clearInterval.bind(window);
      window.setInterval = ((fn: TimerHandler, ms?: number, ...args: unknown[]) => {
        const id = set(fn, ms, ...args);
        live.set(id, ms ?? 0);
        return id;
      }) as typeof window.setInterval;
      window.clearInterval = ((id?: number) => {
        if (id !== undefined) live.delete(id);
        clear(id);
      }) as typeof window.clearInterval;
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await loginWall(page, stack.hub.url);
    await page.goto(`${stack.hub.url}/wall?rotate=2`);
    await page.waitForSelector('main.wall[data-ready="yes"]', { timeout: 30_000 });
    const liveIntervals = () => page.evaluate(() => [...(window as unknown as { __intervals: Map<number, number> }).__intervals.entries()]);
    const onWall = await liveIntervals();
    // The rotation's quarter-second tick is among them while the wall is up.
    expect(onWall.some(([, ms]) => ms === 250)).toBe(true);
    await expect.poll(() => page.locator('main.wall').getAttribute('data-view'), { timeout: 6_000 }).toBe('trend');

    // Leave the wall inside the SPA (client-side navigation: the page stays, the wall is destroyed).
    await page.evaluate(() => {
      const a = document.createElement('a');
      a.href = '/login';
      document.body.appendChild(a);
      a.click();
    });
    await page.waitForURL(/\/login/, { timeout: 10_000 });
    expect(await page.locator('main.wall').count()).toBe(0);
    const after = new Set((await liveIntervals()).map(([id]) => id));
    expect(onWall.filter(([id]) => after.has(id))).toEqual([]);
    // And the keys no longer drive anything.
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(2_500);
    expect(errors).toEqual([]);
    await context.close();
  });
});
