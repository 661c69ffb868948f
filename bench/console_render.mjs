// console_render.mjs — bench/console.sh's browser part: loads the console's
// queue and one batch RUNS times each in one headless Chromium, and the
// same views' finished DOM as static pages (no script) at the same origin;
// prints the medians and their ratio, two ways:
// - painted: from the start of navigation to the first paint of the view's
//   heading (its <h1>, timed by the Element Timing API: a script the bench
//   adds to every page marks the first <h1> of <main> as it is inserted,
//   in the console, main's older console and the static copy alike): what
//   a person sees first. The console builds all of a batch's rows with the
//   page (round 5's console drew the first screenful first and the rest
//   after that paint); the static page holds all of them from the start.
//   Both link the same stylesheet, so both skip laying out the item text
//   off screen (content-visibility) alike.
// - all rows: to the moment the page marks the whole view in the DOM
//   (html[data-rendered]: the data fetched or read from the page, every
//   row built); for a static page, to the end of parsing
//   (domContentLoadedEventEnd). Neither includes layout or paint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { chromium } = await import(pathToFileURL(process.env.PW_CORE).href);
const BASE = process.env.BASE, RUNS = Number(process.env.RUNS || 9), B = process.env.B;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

// Added to every page before its own scripts: the first <h1> inside
// <main> gets elementtiming="view" the moment it is inserted (a mutation
// observer runs before the next paint), so its first paint is reported.
const markHeading = () => {
  const mark = () => {
    const h = document.querySelector('main h1');
    if (h && !h.hasAttribute('elementtiming')) h.setAttribute('elementtiming', 'view');
  };
  new MutationObserver(mark).observe(document, { childList: true, subtree: true });
};

// In the page: when the view's heading was first painted, waited for up
// to 5 s; and the moment the console had the view's first screen in the
// page (round 5's console marked it; now all rows at once; null for the
// static page).
const viewPaint = async () => {
  for (let t = 0; t < 500; t++) {
    const e = await new Promise((res) => {
      const o = new PerformanceObserver((l) => { o.disconnect(); res(l.getEntries().find((x) => x.identifier === 'view')); });
      o.observe({ type: 'element', buffered: true });
      setTimeout(() => { o.disconnect(); res(undefined); }, 10);
    });
    if (e) {
      const f = window.__airlockFirstScreen || window.__airlockRendered;
      return [e.renderTime || e.loadTime, f ? f.ms : null];
    }
  }
  throw new Error('the view\'s heading was not painted in 5 s');
};

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await ctx.addInitScript(markHeading);
try {
  const login = await ctx.request.post(BASE + '/login', { data: { name: 'alice', password: 'alice-password' } });
  if (!login.ok()) throw new Error('sign-in failed: ' + login.status());
  const statics = {};
  await ctx.route(BASE + '/static/*', (route) => {
    const name = route.request().url().split('/static/')[1];
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: statics[name] });
  });
  // the batch twice: by its own address /b/ID (what notifications link
  // to: the server writes the batch's answer into the page) and by the
  // in-page route /#/batch/ID (the server cannot see it: the page asks).
  // A binary without /b/ (before round 5) skips that row.
  const views = [['queue', '/#/queue', 'queue'], [`batch ${B} at /b/${B}`, `/b/${B}`, 'batch'],
    [`batch ${B} at /#/batch/${B}`, `/#/batch/${B}`, 'batch']];
  for (const [name, addr, view] of views) {
    if (addr.startsWith('/b/') && (await ctx.request.get(BASE + addr)).status() !== 200) {
      console.log(`console ${name}: not served by this binary`);
      continue;
    }
    const times = [], base = [], paint = [], basePaint = [], early = [];
    let html = '', rows = 0;
    for (let i = 0; i < RUNS; i++) {
      const page = await ctx.newPage();
      await page.goto(BASE + addr);
      await page.waitForSelector(`html[data-rendered="${view}"]`, { timeout: 30000 });
      times.push(await page.evaluate(() => window.__airlockRendered.ms));
      const [fcp, first] = await page.evaluate(viewPaint);
      paint.push(fcp);
      if (first != null && fcp < first) early.push(fcp); // cannot be: said if it is
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
      basePaint.push((await page.evaluate(viewPaint))[0]);
      await page.close();
    }
    const m = median(times), s = median(base);
    console.log(`console ${name}: ${rows} table rows, ${(html.length / 1024).toFixed(0)} KB of DOM`);
    console.log(`  all rows in the page ${m.toFixed(1)} ms (median of ${RUNS}; min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}); static page parsed ${s.toFixed(1)} ms; ratio ${(m / s).toFixed(2)}`);
    const mp = median(paint), sp = median(basePaint);
    console.log(`  view painted ${mp.toFixed(1)} ms (median; min ${Math.min(...paint).toFixed(1)}, max ${Math.max(...paint).toFixed(1)}); static page ${sp.toFixed(1)} ms; ratio ${(mp / sp).toFixed(2)}` +
      (early.length ? ` (${early.length} painted before drawn?)` : ''));
  }
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
