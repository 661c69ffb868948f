// replay_console.mjs — the policy replay view (#/replay) in headless
// Chromium: the last run's charts with titles, axes, dates and values and
// no raw keys; 1366 and 375 px with nothing cut off and no sideways
// scroll; axe-core with no serious or critical finding; a reviewer sees no
// form; an admin replays a candidate from the page and exactly one log
// entry is written. Prints TAP lines (renumbered by replay_console.sh).
//
// Environment: BASE, DB, OUT (screenshots), CHROMIUM, AXE (axe.min.js),
// CAND_FILE (a candidate policy to paste).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const BASE = env.BASE, DB = env.DB, OUT = env.OUT;
let n = 0, failures = 0;

function sql(q) {
  return execFileSync('sqlite3', ['-batch', '-noheader', DB, q], { encoding: 'utf8' }).trim();
}
function ok(cond, desc, detail) {
  n++;
  if (cond) console.log(`ok ${n} - ${desc}`);
  else {
    failures++;
    console.log(`not ok ${n} - ${desc}`);
    if (detail !== undefined) console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
}
function same(got, want, desc) { ok(got === want, desc, `got ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`); }
async function drawn(page, view, act) {
  await page.evaluate(() => document.documentElement.removeAttribute('data-rendered'));
  await act();
  await page.waitForSelector(`html[data-rendered="${view}"]`, { timeout: 15000 });
}
// Signs in on the page shown (the sign-in form) and lands on `view`.
async function signIn(page, name, view) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', name + '-password');
  await drawn(page, view, () => page.click('form.login button[type=submit]'));
}

// As console.mjs checks every view: a screenshot, no sideways scroll at a
// phone's width, nothing cut off at the right edge, axe-core.
const AXE_SRC = env.AXE ? readFileSync(env.AXE, 'utf8') : null;
async function checkView(page, name, width, height) {
  await page.setViewportSize({ width, height });
  await page.waitForTimeout(50);
  await page.screenshot({ path: join(OUT, `${name}-${width}.png`), fullPage: true });
  const lay = await page.evaluate(() => {
    const W = document.documentElement.clientWidth, cut = [];
    const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if ((o === 'auto' || o === 'scroll') && p !== document.documentElement && p !== document.body) return true; } return false; };
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width || getComputedStyle(el).visibility === 'hidden') continue;
      const ox = getComputedStyle(el).overflowX;
      const spill = ox === 'visible' && el.children.length === 0 && !(el instanceof SVGElement) && r.left + el.scrollWidth > W + 1;
      if ((r.right > W + 1 || spill) && !scrolls(el)) cut.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' right=' + Math.round(r.right));
    }
    // the widest boxes, to say what makes the page scroll
    const wide = Array.from(document.querySelectorAll('body *')).filter((el) => !scrolls(el)).map((el) => [el.getBoundingClientRect().right, el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className : '')])
      .sort((a, b) => b[0] - a[0]).slice(0, 4).map((x) => x[1] + ' right=' + Math.round(x[0])).join('; ') + ' | overflowing: ' +
      Array.from(document.querySelectorAll('body, body *')).filter((el) => !scrolls(el) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
        .slice(0, 6).map((el) => el.tagName.toLowerCase() + '.' + (typeof el.className === 'string' ? el.className : '') + ' ' + el.clientWidth + '<' + el.scrollWidth).join('; ');
    return { sw: document.documentElement.scrollWidth, W, cut: cut.slice(0, 5), wide };
  });
  if (width <= 400) ok(lay.sw <= lay.W, `${name} at ${width} px: no sideways scroll of the page`, `scrollWidth ${lay.sw} > ${lay.W}: ${lay.wide}`);
  same(lay.cut.join('; '), '', `${name} at ${width} px: nothing cut off at the right edge`);
  if (!AXE_SRC) { console.log('# SKIP axe-core: AXE not set'); return; }
  await page.evaluate(AXE_SRC);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.slice(0, 2).map((x) => x.target.join(' ')).join(', ')})`);
  });
  same(res.join('\n'), '', `${name} at ${width} px: axe-core finds no serious or critical violation`);
}

// What a reader of the charts gets: titles, axis words, dates, values.
async function charts(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('figure.replay')).map((f) => ({
    title: f.querySelector('h3').textContent,
    label: f.querySelector('svg').getAttribute('aria-label'),
    texts: Array.from(f.querySelectorAll('svg text')).map((t) => t.textContent),
    marks: f.querySelectorAll('svg rect, svg circle').length,
  })));
}

async function run(page) {
  await drawn(page, 'login', () => page.goto(BASE + '/#/replay'));
  await signIn(page, 'alice', 'replay');
  same(await page.textContent('h1'), 'Policy replay', 'a reviewer opens the replay view');
  ok((await page.textContent('#replay-run')).includes('tight.yaml'), '... which names the last run\'s candidate (the one run over the API above)');
  ok(!(await page.isVisible('#replay-policy')), '... and offers her no form (only an admin runs one)');
  const cs = await charts(page);
  same(cs.map((c) => c.title).join(' | '), 'Proposals by decision, policy in force and candidate | Running radius of the queued proposals | Items to judge per day | Batches to approve per day',
    'four charts, each titled in words');
  ok(cs.every((c) => c.marks > 0 && c.label && c.label.length > 20), '... each with marks and a label a screen reader reads');
  const units = cs.map((c) => c.texts.find((t) => /proposals|records|per day/.test(t)) || '');
  ok(units.every(Boolean), '... and its unit on an axis', units.join(' | '));
  const dated = cs.slice(2).map((c) => c.texts.filter((t) => /^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$/.test(t)).length);
  ok(dated.every((d) => d >= 2), 'the per-day charts have dates on the x axis', dated.join(','));
  const dec = cs[0].texts;
  ok(dec.includes('staged for a sample audit') && dec.includes('blocked for a person'), 'decisions are named in words');
  const body = await page.textContent('main');
  ok(!/->|items_to_judge|batches_to_approve|staged->|"p50"|per_day/.test(body), 'no raw key anywhere on the page', (body.match(/->|items_to_judge|batches_to_approve|per_day/) || [''])[0]);
  ok(/staged → blocked/.test(body), 'the decisions that change read "staged → blocked"');
  ok((await page.$$('table.replay-waiting tbody tr')).length === 2, 'the batches still waiting at the end: policy in force and candidate side by side');
  await checkView(page, 'replay-reviewer', 1366, 768);
  await checkView(page, 'replay-reviewer', 375, 812);
  await page.setViewportSize({ width: 1280, height: 900 });

  await drawn(page, 'login', () => page.click('#logout'));
  await signIn(page, 'carol', 'queue');
  await drawn(page, 'replay', () => page.click('a[data-nav="replay"]'));
  ok(await page.isVisible('#replay-policy'), 'the admin gets the form to replay a candidate');
  await checkView(page, 'replay-admin', 1366, 768);
  await checkView(page, 'replay-admin', 375, 812);
  await page.setViewportSize({ width: 1280, height: 900 });
  const before = Number(sql('SELECT count(*) FROM action_log'));
  await page.setInputFiles('#replay-file', env.CAND_FILE);
  await page.waitForFunction(() => document.getElementById('replay-policy').value.length > 0);
  same(await page.inputValue('#replay-policy'), readFileSync(env.CAND_FILE, 'utf8'), 'a policy file loaded from disk fills the candidate\'s text');
  await page.fill('#replay-name', 'pasted.yaml');
  await page.fill('#replay-since', '30d');
  await drawn(page, 'replay', () => page.click('#replay-submit'));
  ok((await page.textContent('#replay-run')).includes('pasted.yaml'), 'a replay run from the page shows its run');
  ok((await page.textContent('#flash')).startsWith('replayed: '), '... and says so');
  same(Number(sql('SELECT count(*) FROM action_log')), before + 1, '... one log entry written');
  same(sql("SELECT tool || ' ' || surface FROM action_log ORDER BY seq DESC LIMIT 1"), 'policy replay console', '... the replay\'s');
  await page.fill('#replay-policy', 'version: 1\nworkflows:\n  retier:\n    stage_max: -3\n');
  await page.click('#replay-submit');
  await page.waitForFunction(() => /replay refused/.test(document.getElementById('flash').textContent));
  ok(/pasted\.yaml:\d+:\d+|candidate\.yaml:\d+:\d+/.test(await page.textContent('#flash')), 'a candidate that does not load is refused with its line', await page.textContent('#flash'));
  same(Number(sql('SELECT count(*) FROM action_log')), before + 1, '... and logs nothing');
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-replay-browser-'));
mkdirSync(OUT, { recursive: true });
let ctx;
try {
  ctx = await chromium.launchPersistentContext(dir, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await run(page);
  same(errors.join('\n'), '', 'no script error on the page');
} catch (e) {
  ok(false, 'the browser tests ran to the end', e && e.stack ? e.stack : e);
} finally {
  if (ctx) await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`1..${n}`);
process.exit(failures ? 1 : 0);
