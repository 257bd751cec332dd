import { chromium } from 'playwright-core';
const [user, ...paths] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await b.newPage({ viewport: { width: 1600, height: 1000 } });
const errs = [];
p.on('pageerror', (e) => errs.push(String(e)));
p.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
await p.goto('http://localhost:8080/login');
await p.fill('input[name="username"]', user);
await p.fill('input[name="password"]', 'jianguan-demo');
await p.press('input[name="password"]', 'Enter');
await p.waitForTimeout(2000);
for (const path of paths) {
  await p.goto('http://localhost:8080' + path);
  await p.waitForTimeout(3500);
  const f = '/tmp/shots/' + user + path.replace(/[^a-z0-9]+/gi, '_') + '.png';
  await p.screenshot({ path: f, fullPage: true });
  console.log(f);
}
console.log('errors', errs);
await b.close();
