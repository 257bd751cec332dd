/**
 * The real stack for the office end-to-end tests: Redis (JG_TEST_REDIS_URL or a private
 * redis-server), a hub serving dashboard/build with the demo registry and users, one collector
 * streaming simulated business with anomalies, and Debian's Chromium. The hub can be stopped and
 * started again on the same port and data (`stopHub`, `startHubAgain`) to test reconnection.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startHub, type Hub } from '@jianguan/hub/app';
import { startCollector } from '@jianguan/collector';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
export const DASHBOARD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD = path.join(DASHBOARD, 'build');
export const ARTIFACTS = path.join(DASHBOARD, 'artifacts');
export const DEMO_PASSWORD = 'jianguan-demo';

type CollectorHandle = Awaited<ReturnType<typeof startCollector>>;

/** Pages opened by `login` (for screenshots when a test fails). */
export const opened: Page[] = [];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, bin)));
}

export async function privateRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return { url: `redis://127.0.0.1:${port}`, child };
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Stack {
  /** The running hub (after `startHubAgain`, the new one: same port, data directory, Redis and queues). */
  readonly hub: Hub;
  collector: CollectorHandle;
  browser: Browser;
  /** A JSON API call as a demo user (bearer token). */
  as(user: string): Promise<(path: string, init?: { method?: string; json?: unknown }) => Promise<{ status: number; body: any }>>;
  /** A browser context logged in through the /login page. */
  login(user: string, next?: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
  /** Stops the hub as an operator would (connections dropped); the collector and browser keep running. */
  stopHub(): Promise<void>;
  /** Starts a hub again on the same port with the same data directory, Redis and queue prefix. */
  startHubAgain(): Promise<Hub>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** The collector's simulator. @defaultValue 40 records/s, 30 % anomalies, 160 records, seed 7 */
  simulator?: { ratePerSec?: number; anomalyRate?: number; maxRecords?: number; seed?: number };
}

export async function startStack(institutionId = 'JCJ-CGS', options: StackOptions = {}): Promise<Stack> {
  if (!fs.existsSync(path.join(BUILD, 'index.html'))) execFileSync('npm', ['run', 'build'], { cwd: DASHBOARD, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jg-office-e2e-'));
  let redis: { url: string; child: ChildProcess | null };
  const envRedis = process.env.JG_TEST_REDIS_URL;
  if (envRedis) redis = { url: envRedis, child: null };
  else if (onPath('redis-server')) redis = await privateRedis();
  else throw new Error('no Redis: set JG_TEST_REDIS_URL or install redis-server');

  const collectorId = 'c-office-e2e-01';
  const token = randomBytes(24).toString('hex');
  const hubConfig = {
    port: 0,
    host: '127.0.0.1',
    redisUrl: redis.url,
    queuePrefix: `jg-test-${randomBytes(6).toString('hex')}`,
    dataDir: path.join(tmp, 'hub'),
    dashboardDir: BUILD,
    collectors: [{ collectorId, institutionId, token }],
    seedDemo: true,
    logLevel: 'warn' as const,
    // No daily backup firing in the middle of a run that happens to span its hour.
    backupHour: -1,
  };
  let hub: Hub = await startHub(hubConfig);
  let hubRunning = true;
  const port = hub.port;
  const collector = await startCollector({
    collectorId,
    token,
    hubUrl: hub.url,
    institutionId,
    outboxDir: path.join(tmp, 'outbox'),
    pseudonymKey: randomBytes(24).toString('hex'),
    simulator: { enabled: true, ratePerSec: 40, anomalyRate: 0.3, maxRecords: 160, seed: 7, ...options.simulator },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const tokens = new Map<string, string>();

  const stack: Stack = {
    get hub() {
      return hub;
    },
    collector,
    browser,
    async as(user) {
      let t = tokens.get(user);
      if (!t) {
        const res = await fetch(`${hub.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: DEMO_PASSWORD }) });
        if (res.status !== 200) throw new Error(`login ${user}: ${res.status} ${await res.text()}`);
        t = ((await res.json()) as { token: string }).token;
        tokens.set(user, t);
      }
      const bearer = t;
      return async (p, init = {}) => {
        const res = await fetch(`${hub.url}${p}`, {
          method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
          headers: { authorization: `Bearer ${bearer}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
          body: init.json === undefined ? undefined : JSON.stringify(init.json),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        return { status: res.status, body };
      };
    },
    async login(user, next) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
      const page = await context.newPage();
      opened.push(page);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${hub.url}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
      await page.fill('input[name="username"]', user);
      await page.fill('input[name="password"]', DEMO_PASSWORD);
      await page.click('button[type="submit"]');
      await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 });
      return { context, page, errors };
    },
    async stopHub() {
      if (!hubRunning) return;
      hubRunning = false;
      await hub.close();
    },
    async startHubAgain() {
      if (hubRunning) throw new Error('the hub is still running');
      hub = await startHub({ ...hubConfig, port });
      hubRunning = true;
      // Logins were sessions in Redis, which survives; keep the tokens.
      return hub;
    },
    async close() {
      await collector.stop().catch(() => undefined);
      await browser.close().catch(() => undefined);
      if (hubRunning) await hub.close().catch(() => undefined);
      if (redis.child) redis.child.kill('SIGTERM');
      removeDir(tmp);
    },
  };
  return stack;
}

export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Removes a test directory. Retried: the engine (or an outbox) may still be closing files in it
 * when a test ends, and a single attempt then fails with ENOTEMPTY.
 */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
