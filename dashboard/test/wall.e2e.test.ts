/**
 * The wall against the real stack: a real hub (Redis, embedded ClickHouse, BullMQ worker, socket.io)
 * serving the built dashboard, a real collector streaming simulated counter business with
 * anomalies, and Debian's Chromium driven by playwright-core. No fake servers.
 *
 * Needs: dashboard/build (built here if missing), Redis (JG_TEST_REDIS_URL, or a private
 * redis-server started here when it is on PATH), /usr/bin/chromium with fonts-noto-cjk.
 * Skipped, with a message, only when /usr/bin/chromium is missing.
 * Screenshots: dashboard/artifacts/wall-1920.png and wall-3840.png (git-ignored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHub, type Hub } from '@jianguan/hub/app';
import { startCollector } from '@jianguan/collector';
import { ARTIFACTS, BUILD, CHROMIUM, DASHBOARD, HAVE_CHROMIUM, onPath, privateRedis, removeDir } from './stack';
import { approveCollector, loginWall } from './wall-access';


const CJK = /[\u4e00-\u9fff]/;
/** A masked identity as the hub shows it: a few clear characters around a run of asterisks. */
const MASKED = /^[0-9A-Za-z\u4e00-\u9fff·]{0,8}\*{2,}[0-9A-Za-z]{0,6}$/;
/** A full, unmasked identity number must never reach the screen. */
const UNMASKED_ID = /(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])/;

if (!HAVE_CHROMIUM) {
  console.warn(`[wall.e2e] SKIPPED: ${CHROMIUM} is missing (install with: apt-get install -y chromium fonts-noto-cjk)`);
}

type CollectorHandle = Awaited<ReturnType<typeof startCollector>>;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

describe.skipIf(!HAVE_CHROMIUM)('command-centre wall (real hub + collector + Chromium)', () => {
  let tmp = '';
  let redis: { url: string; child: ChildProcess | null } | null = null;
  let hub: Hub | null = null;
  let collector: CollectorHandle | null = null;
  let browser: Browser | null = null;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(BUILD, 'index.html'))) {
      execFileSync('npm', ['run', 'build'], { cwd: DASHBOARD, stdio: 'inherit' });
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-wall-e2e-'));
    const envRedis = process.env.JG_TEST_REDIS_URL;
    if (envRedis) redis = { url: envRedis, child: null };
    else if (onPath('redis-server')) redis = await privateRedis();
    else throw new Error('no Redis: set JG_TEST_REDIS_URL or install redis-server');

    const collectorId = 'c-wall-e2e-01';
    const institutionId = 'JCJ-CGS';
    const token = randomBytes(24).toString('hex');
    hub = await startHub({
      port: 0,
      host: '127.0.0.1',
      redisUrl: redis.url,
      queuePrefix: `jg-test-${randomBytes(6).toString('hex')}`,
      dataDir: path.join(tmp, 'hub'),
      dashboardDir: BUILD,
      collectors: [{ collectorId, institutionId, token }],
      seedDemo: true,
      logLevel: 'warn',
    });
    // An institution filed without coordinates (its register had none): drawn by its county seat.
    await hub.store.insert('institutions', [{ id: 'YZ-NOPLACE', name: '宜州区某登记服务站', type: 'registration_station', county: '451203', status: 'active', version: Date.now() }]);
    await hub.registry.reload();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Open the wall first, so warnings reach it live (warning.raised), not only in the snapshot.
    await loginWall(page, hub.url);
    await page.goto(`${hub.url}/wall`);
    await page.waitForSelector('main.wall[data-ready="yes"]', { timeout: 30_000 });

    collector = await startCollector({
      collectorId,
      token,
      hubUrl: hub.url,
      institutionId,
      outboxDir: path.join(tmp, 'outbox'),
      pseudonymKey: randomBytes(24).toString('hex'),
      simulator: { enabled: true, ratePerSec: 20, anomalyRate: 0.3, maxRecords: 200, seed: 1 },
    });
    await approveCollector(hub.url, collectorId);
  });

  afterAll(async () => {
    await collector?.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await hub?.close().catch(() => undefined);
    if (redis?.child) redis.child.kill('SIGTERM');
    if (tmp) removeDir(tmp);
  });

  it('serves the wall as an SPA from the hub, with the root redirecting to /wall', async () => {
    const res = await fetch(`${hub!.url}/wall`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/_app/');
    const root = await page.context().newPage();
    await root.goto(hub!.url);
    await root.waitForURL(/\/wall$/, { timeout: 10_000 });
    await root.close();
  });

  it('draws the 11 counties with Chinese names, and the institutions as points', async () => {
    const counties = page.locator('svg path.county[data-county]');
    await expect.poll(() => counties.count(), { timeout: 10_000 }).toBe(11);
    const names = await counties.evaluateAll((els) => els.map((e) => e.getAttribute('data-name') ?? ''));
    expect(new Set(names).size).toBe(11);
    for (const n of names) expect(n).toMatch(CJK);
    const labels = await page.locator('svg .label .name').allTextContents();
    expect(labels).toHaveLength(11);
    expect(labels.sort()).toEqual([...names].sort());
    // The hub seeded the demonstration registry: every institution is a point on the map.
    await expect.poll(() => page.locator('svg [data-institution]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.getByText('示意图，非标准地图').count()).toBe(1);
    // The one without coordinates: dashed, beside 宜州区's label anchor, saying so in its title and the legend.
    const unplaced = page.locator('svg g.inst.unplaced[data-institution="YZ-NOPLACE"]');
    expect(await unplaced.count()).toBe(1);
    expect(await unplaced.locator('title').textContent()).toContain('位置未备案');
    expect(await page.locator('svg g.inst.unplaced').count()).toBe(1);
    expect(await page.locator('[data-testid="map-unplaced"]').textContent()).toBe('位置未备案（画在县城旁）');
    const box = await unplaced.boundingBox();
    const yz = await page.locator('svg path.county[data-county="451203"]').boundingBox();
    expect(box && yz && box.x >= yz.x - box.width && box.x <= yz.x + yz.width && box.y >= yz.y - box.height && box.y <= yz.y + yz.height).toBe(true);
  });

  it('shows live warnings in the ticker: Chinese rule names, masked identities only', async () => {
    const item = page.locator('.ticker li[data-warning-id]').first();
    await item.waitFor({ timeout: 90_000 });
    const rule = await item.locator('[data-field="rule"]').textContent();
    expect(rule ?? '').toMatch(CJK);
    expect(await item.locator('.badge').textContent()).toMatch(/^[高中低]$/);
    expect(await item.locator('[data-field="institution"]').textContent()).toMatch(CJK);

    // Every subject shown is masked; wait for one carrying an identity when the stream has one.
    const subjects = page.locator('.ticker [data-field="subject"]');
    await expect.poll(() => subjects.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    for (const s of await subjects.allTextContents()) expect(s.trim()).toMatch(MASKED);
    expect(await page.locator('body').innerText()).not.toMatch(UNMASKED_ID);

    // The warnings arrived live: the institution's point pulsed.
    await expect.poll(() => page.locator('svg [data-institution="JCJ-CGS"] circle.pulse').count(), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('updates the KPIs and county fills from county.stats', async () => {
    const kpi = (k: string) => page.locator(`[data-kpi="${k}"]`).getAttribute('data-value').then(Number);
    await expect.poll(() => kpi('transactions'), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => kpi('warnings'), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => kpi('collectors'), { timeout: 30_000 }).toBeGreaterThan(0);
    const jcj = page.locator('svg path.county[data-county="451202"]');
    await expect.poll(async () => Number((await jcj.getAttribute('data-rate')) || 0), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.locator('[data-connection]').getAttribute('data-connection')).toBe('connected');
    expect(await page.locator('[data-connection] .conn').textContent()).toBe('已连接');
  });

  it('shows the workflow KPIs, the pipeline lag and the collector health panel with Chinese labels', async () => {
    const label = (k: string) => page.locator(`[data-kpi="${k}"] .label`).textContent();
    expect(await label('onTime')).toBe('今日核查及时率');
    expect(await label('overdue')).toBe('超期未办');
    // Nothing concluded yet in this run: the rate is "—", the overdue count a number.
    expect(await page.locator('[data-kpi="onTime"] .value').textContent()).toMatch(/—|%/);
    expect(Number(await page.locator('[data-kpi="overdue"]').getAttribute('data-value'))).toBeGreaterThanOrEqual(0);

    const lag = page.locator('[data-testid="pipeline-lag"]');
    expect(await lag.textContent()).toContain('管道延迟');
    // The collector has been storing business for a while: the hub measured a p95.
    await expect.poll(async () => (await lag.getAttribute('data-value')) ?? '', { timeout: 30_000 }).toMatch(/^\d+$/);
    expect(await lag.locator('.num').textContent()).toMatch(/^\d+(\.\d)? s$/);

    const health = page.locator('[data-testid="collector-health"]');
    expect(await health.locator('h2').textContent()).toBe('采集终端状态');
    for (const [k, zh] of [['silent', '静默'], ['gap', '断档'], ['tamper', '篡改']] as const) {
      const cell = health.locator(`[data-health="${k}"]`);
      expect(await cell.locator('.l').textContent()).toBe(zh);
      expect(Number(await cell.getAttribute('data-value'))).toBeGreaterThanOrEqual(0);
    }
  });

  it('ranks the counties by today\'s warnings and lists overdue items on the overview', async () => {
    const counties = page.locator('[data-testid="county-ranking"]');
    expect(await counties.locator('h2').textContent()).toBe('区县预警排行');
    await expect.poll(() => counties.locator('[data-rank="counties"] li.row').first().getAttribute('data-key'), { timeout: 30_000 }).toBe('451202');
    expect(await counties.locator('li.row').first().innerText()).toContain('金城江区');
    const overdue = page.locator('[data-testid="overdue"]');
    expect(await overdue.locator('h2').textContent()).toBe('超期督办');
    // This run escalates nothing: the panel says so rather than staying blank.
    expect(await overdue.innerText()).toMatch(/暂无超期未办预警|超期/);
  });

  it('fits the screen at 1920×1080 and 3840×2160 without scrolling, and saves screenshots', async () => {
    // Let the collector finish, so the pictures show a full day's sample.
    await withTimeout(collector!.drained(), 120_000, 'collector drain');
    await page.waitForTimeout(2500);
    fs.mkdirSync(ARTIFACTS, { recursive: true });

    const fits = () =>
      page.evaluate(() => {
        // Every panel and KPI card lies inside the viewport (nothing pushed off or clipped away).
        const inside = [...document.querySelectorAll('[data-testid], [data-kpi]')].every((e) => {
          const r = e.getBoundingClientRect();
          return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight + 0.5 && r.right <= window.innerWidth + 0.5 && r.height > 0;
        });
        return {
          w: document.documentElement.scrollWidth <= window.innerWidth,
          h: document.documentElement.scrollHeight <= window.innerHeight,
          inside,
        };
      });
    expect(await fits()).toEqual({ w: true, h: true, inside: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'wall-1920.png') });

    await page.setViewportSize({ width: 3840, height: 2160 });
    await page.waitForTimeout(1500);
    expect(await fits()).toEqual({ w: true, h: true, inside: true });
    // Same layout, twice the size: the title scales with the screen.
    const titleHeight = await page.locator('h1.title').evaluate((e) => e.getBoundingClientRect().height);
    expect(titleHeight).toBeGreaterThan(60);
    await page.screenshot({ path: path.join(ARTIFACTS, 'wall-3840.png') });

    expect(fs.statSync(path.join(ARTIFACTS, 'wall-1920.png')).size).toBeGreaterThan(10_000);
    expect(fs.statSync(path.join(ARTIFACTS, 'wall-3840.png')).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });
});
