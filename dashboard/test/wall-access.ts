/**
 * What a wall test needs since the hub's doors are closed by default: the collector's key
 * approved by an administrator (as in production), and the wall screen logged in with the wall
 * account (role 大屏查看) before it opens /wall.
 */
import type { Page } from 'playwright-core';
import { DEMO_PASSWORD } from './stack';

async function token(hubUrl: string, user: string): Promise<string> {
  const res = await fetch(`${hubUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: DEMO_PASSWORD }) });
  if (res.status !== 200) throw new Error(`login ${user}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Approves the collector's presented key as the demo administrator, waiting until it has presented one. */
export async function approveCollector(hubUrl: string, collectorId: string, timeoutMs = 30_000): Promise<void> {
  const bearer = await token(hubUrl, 'admin');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${hubUrl}/api/v1/collectors/${encodeURIComponent(collectorId)}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`approve ${collectorId}: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Logs the page in as the wall account through /login (the session cookie then opens /wall). */
export async function loginWall(page: Page, hubUrl: string): Promise<void> {
  await page.goto(`${hubUrl}/login?next=${encodeURIComponent('/wall')}`);
  await page.fill('input[name="username"]', 'wall');
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 });
}
