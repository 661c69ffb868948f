// console_render.mjs — bench/console.sh's browser part: loads the console's
// queue and one batch RUNS times each in one headless Chromium, and the
// same views' finished DOM as static pages (no script) at the same origin;
// prints the medians and their ratio. Time to first render: from the start
// of navigation to the moment the page marks the view drawn (the data is
// fetched and in the DOM); for a static page, to the end of parsing
// (domContentLoadedEventEnd).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { chromium } = await import(pathToFileURL(process.env.PW_CORE).href);
const BASE = process.env.BASE, RUNS = Number(process.env.RUNS || 9), B = process.env.B;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const login = await ctx.request.post(BASE + '/login', { data: { name: 'alice', password: 'alice-password' } });
  if (!login.ok()) throw new Error('sign-in failed: ' + login.status());
  const statics = {};
  await ctx.route(BASE + '/static/*', (route) => {
    const name = route.request().url().split('/static/')[1];
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: statics[name] });
  });
  for (const [name, hash, view] of [['queue', '#/queue', 'queue'], [`batch ${B}`, `#/batch/${B}`, 'batch']]) {
    const times = [], base = [];
    let html = '', rows = 0;
    for (let i = 0; i < RUNS; i++) {
      const page = await ctx.newPage();
      await page.goto(BASE + '/' + hash);
      await page.waitForSelector(`html[data-rendered="${view}"]`, { timeout: 30000 });
      times.push(await page.evaluate(() => window.__airlockRendered.ms));
      if (i === 0) {
        rows = await page.$$eval('tbody tr', (r) => r.length);
        html = await page.evaluate(() => {
          const d = document.documentElement.cloneNode(true);
          d.querySelectorAll('script').forEach((s) => s.remove());
          return '<!doctype html>' + d.outerHTML;
        });
        statics[view] = html;
      }
      await page.close();
    }
    for (let i = 0; i < RUNS; i++) {
      const page = await ctx.newPage();
      await page.goto(BASE + '/static/' + view, { waitUntil: 'load' });
      base.push(await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0];
        return n.domContentLoadedEventEnd;
      }));
      await page.close();
    }
    const m = median(times), s = median(base);
    console.log(`console ${name}: ${rows} table rows, ${(html.length / 1024).toFixed(0)} KB of DOM`);
    console.log(`  first render ${m.toFixed(1)} ms (median of ${RUNS}; min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`);
    console.log(`  static page of the same DOM ${s.toFixed(1)} ms (median of ${RUNS})`);
    console.log(`  ratio ${(m / s).toFixed(2)}`);
  }
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
