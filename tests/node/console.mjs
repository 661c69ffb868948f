// console.mjs — browser tests of the airlock console in headless Chromium
// (Debian's chromium, driven by playwright-core). Prints TAP lines ("ok N -",
// "not ok N -"); a test that cannot run yet prints "# SKIP ..." and counts
// neither way. Each test asserts on what the page shows and on the store
// afterwards, and saves a screenshot under $OUT.
//
// Environment: BASE (http://127.0.0.1:PORT), DB (the sqlite file), OUT (the
// screenshot folder), B1 (a staged batch citing a signal with HTML in it),
// B2 (a blocked batch whose rationale and first reason carry HTML, terminal
// escapes and bidi controls), B3 (a batch proposed by human:alice), B4 (a
// staged batch to approve as an override), S1 (a blocked
// send), D1 (its draft), LINK (a login link's secret for dan), CHROMIUM
// (default /usr/bin/chromium).
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

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, name + '.png'), fullPage: true });
}
// Navigates (or acts) and waits until the page marks `view` as drawn.
async function drawn(page, view, act) {
  await page.evaluate(() => document.documentElement.removeAttribute('data-rendered'));
  await act();
  await page.waitForSelector(`html[data-rendered="${view}"]`, { timeout: 15000 });
}
async function signIn(page, name) {
  if (!(await page.isVisible('#login-name'))) await drawn(page, 'login', () => page.goto(BASE + '/#/login'));
  await page.fill('#login-name', name);
  await page.fill('#login-password', name + '-password');
  await drawn(page, 'queue', () => page.click('form.login button[type=submit]'));
}
async function signOut(page) {
  await drawn(page, 'login', () => page.click('#logout'));
}
async function flashText(page) {
  await page.waitForSelector('#flash:not([hidden])');
  return page.textContent('#flash');
}

// Every view at a desk (1366×768) and a phone (375×812): a screenshot of
// each (kept under $OUT/views), no sideways scroll of the page at 375, no
// element cut off at the right edge outside a region that scrolls itself,
// and axe-core's check with no serious or critical violation.
const AXE_SRC = env.AXE ? readFileSync(env.AXE, 'utf8') : null;
async function checkView(page, name, width, height) {
  await page.setViewportSize({ width, height });
  await page.waitForTimeout(50);
  await page.screenshot({ path: join(OUT, 'views', `${name}-${width}.png`), fullPage: true });
  const lay = await page.evaluate(() => {
    const W = document.documentElement.clientWidth, cut = [];
    const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if ((o === 'auto' || o === 'scroll') && p !== document.documentElement && p !== document.body) return true; } return false; };
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width || getComputedStyle(el).visibility === 'hidden') continue;
      const ox = getComputedStyle(el).overflowX;
      const spill = ox === 'visible' && el.children.length === 0 && !(el instanceof SVGElement) && r.left + el.scrollWidth > W + 1;
      if ((r.right > W + 1 || spill) && !scrolls(el)) cut.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') + ' right=' + Math.round(r.right));
    }
    return { sw: document.documentElement.scrollWidth, W, cut: cut.slice(0, 5) };
  });
  if (width <= 400) {
    ok(lay.sw <= lay.W, `${name} at ${width} px: no sideways scroll of the page`, `scrollWidth ${lay.sw} > ${lay.W}`);
  }
  same(lay.cut.join('; '), '', `${name} at ${width} px: nothing cut off at the right edge`);
  if (!AXE_SRC) { console.log('# SKIP axe-core: AXE not set'); return; }
  // evaluated through the DevTools protocol: the page's CSP (script-src
  // 'self') stays on for the page's own scripts
  await page.evaluate(AXE_SRC);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')})`);
  });
  same(res.join('\n'), '', `${name} at ${width} px: axe-core finds no serious or critical violation`);
}
async function sweep(page) {
  mkdirSync(join(OUT, 'views'), { recursive: true });
  const views = [
    ['queue', '#/queue', 'queue'], ['batch-staged', `#/batch/${env.B3}`, 'batch'],
    ['batch-500', `#/batch/${env.B5}`, 'batch'], ['batch-send', `#/batch/${env.S1}`, 'batch'],
    ['why', `#/why/${env.B1}/1`, 'why'], ['drafts', '#/drafts', 'drafts'], ['draft', `#/draft/${env.D1}`, 'draft'],
    ['drift', '#/drift', 'drift'], ['log', '#/log', 'log'], ['autonomy', '#/autonomy', 'autonomy'],
    ['error', '#/nowhere', 'error'],
  ];
  for (const [name, hash, view] of views) {
    await page.setViewportSize({ width: 1366, height: 768 });
    await drawn(page, view, () => page.goto(BASE + '/' + hash));
    if (view === 'log') await page.waitForFunction(() => !/checking/.test(document.getElementById('verify').textContent));
    await checkView(page, name, 1366, 768);
    await checkView(page, name, 375, 812);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function run(page) {
  // a notification's link, /b/ID, followed without a session: the sign-in
  // form and nothing of the batch; signed in, that batch
  await drawn(page, 'login', () => page.goto(BASE + '/b/' + env.B1));
  ok(!(await page.isVisible('table.items')), `/b/${env.B1} without a session asks to sign in and shows no batch`);
  await page.fill('#login-name', 'alice');
  await page.fill('#login-password', 'alice-password');
  await drawn(page, 'batch', () => page.click('form.login button[type=submit]'));
  same(await page.$$eval('table.items tbody tr', (r) => r.length), 40, '... signed in, that batch with all its items');
  await page.context().clearCookies();

  // no access without sign-in
  await drawn(page, 'login', () => page.goto(BASE + '/#/batch/' + env.B1));
  ok(await page.isVisible('#login-name'), 'without a session the page asks to sign in');
  ok(!(await page.isVisible('table.items')), '... and shows no batch');
  ok(!(await page.isVisible('#nav')), '... nor the navigation (hidden wins over nav{display:flex})');
  await page.fill('#login-name', 'alice');
  await page.fill('#login-password', 'wrong-password');
  await page.click('form.login button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
  same(await page.textContent('#login-error'), 'wrong name or password', 'a wrong password is refused on the page');
  await shot(page, '01-login');

  // sign in, the queue
  await page.fill('#login-password', 'alice-password');
  await drawn(page, 'batch', () => page.click('form.login button[type=submit]'));
  same(await page.textContent('#who'), 'alice (reviewer)', 'alice is signed in');
  ok((await page.textContent('h1')).includes('Batch ' + env.B1), '... and lands on the page she asked for');
  await drawn(page, 'queue', () => page.click('a[data-nav="queue"]'));
  const rows = await page.$$eval('table.queue tbody tr', (trs) => trs.map((t) => t.getAttribute('data-batch')));
  // the drift scenario's batches are days older, so they come first
  const ours = [env.B1, env.B2, env.B3, env.S1, env.B4].map(String);
  same(rows.filter((r) => ours.includes(r)).join(','), ours.join(','), 'the queue lists what waits, oldest first');
  same(rows.slice(-5).join(','), ours.join(','), '... the newest last');
  same((await page.textContent(`tr[data-batch="${env.B2}"] td:nth-child(9)`)).trim(), 'approve or reject', '... with what each waits for');
  await shot(page, '02-queue');
  ok((await page.textContent('section.groups')).includes('similar batches from agent:tierbot (retier, instructions v1)'), 'similar batches (agent, workflow, instructions) are grouped, with a group reject');
  await drawn(page, 'queue', () => page.selectOption('#qf-agent', 'agent:tierbot'));
  const agents = await page.$$eval('table.queue tbody tr td:nth-child(4)', (t) => [...new Set(t.map((x) => x.textContent))]);
  same(agents.join(','), 'agent:tierbot', 'the queue filters by agent');
  ok((await page.textContent('table.queue thead')).includes('Rationale'), '... and shows rationale and expiry columns');
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, '02b-queue-375');
  ok(await page.evaluate(() => document.documentElement.scrollWidth <= 380), 'at 375 px the queue page does not scroll sideways', await page.evaluate(() => document.documentElement.scrollWidth));
  await page.setViewportSize({ width: 1280, height: 900 });
  await drawn(page, 'queue', () => page.selectOption('#qf-agent', ''));

  // a staged batch from the demo book
  await drawn(page, 'batch', () => page.click(`tr[data-batch="${env.B1}"] a`));
  same(await page.$$eval('table.items tbody tr', (r) => r.length), 40, `batch ${env.B1}: every item is shown`);
  const ev = await page.textContent('tr[data-item="1"] ul.evidence');
  ok(ev.includes('<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> & more'), 'HTML in a signal is shown as text', ev);
  same(await page.evaluate(() => window.__xss), undefined, '... and never run');
  same(await page.$$eval('table.items img, table.items script', (e) => e.length), 0, '... no element was made from it');
  ok((await page.textContent('dl.facts')).includes('retier-v3'), 'the instruction version is shown');
  ok((await page.textContent('tr[data-item="1"] .diff')).includes('tier:'), 'the diff shows field old → new');
  await shot(page, '03-batch-staged');

  // draw the sample, mark the items
  await drawn(page, 'batch', () => page.click('button[data-verb="sample"]'));
  same(sql(`SELECT state FROM batch WHERE id=${env.B1}`), 'sampled', 'drawing the sample: the store says sampled');
  const statement = await page.textContent('p.statement');
  ok(/zero bad items|confidence/.test(statement), 'the confidence statement is shown', statement);
  const drawnItems = await page.$$eval('button[data-judge][data-verdict="pass"]', (b) => b.map((x) => x.getAttribute('data-judge')));
  ok(drawnItems.length >= 1, `${drawnItems.length} items drawn, each with pass and fail`);
  await shot(page, '04-sample');
  for (const item of drawnItems) {
    await drawn(page, 'batch', () => page.click(`button[data-judge="${item}"][data-verdict="pass"]`));
  }
  same(await page.$$eval('table.sample-items .verdict.v-pass', (v) => v.length), drawnItems.length, 'each drawn item shows its pass');
  same(sql(`SELECT count(*) FROM batch_item WHERE batch_id=${env.B1} AND verdict='pass' AND verdict_by='human:alice'`), String(drawnItems.length), '... and the store has each verdict by human:alice');
  same(sql(`SELECT state FROM batch WHERE id=${env.B1}`), 'approved', 'a clean sample approves the batch');
  ok((await page.textContent('h1')).includes('approved'), '... and the page says so');
  await shot(page, '05-judged');

  // a 56-item sample judged by keyboard alone: p passes the item shown and
  // the next one comes up; j/k move without judging. Keystrokes are counted.
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B5));
  // opened afresh (a reload): app.js asks for the batch before anything
  // is drawn and the view takes that answer, so it is asked for once
  const asked = [];
  const onReq = (r) => { if (r.url().endsWith('/api/batches/' + env.B5)) asked.push(r.url()); };
  page.on('request', onReq);
  await drawn(page, 'batch', () => page.reload());
  page.off('request', onReq);
  same(asked.length, 1, `reloading batch ${env.B5} asks for it once`);
  const sum = await page.textContent('section.summary');
  ok(sum.includes('500 record(s): tier'), `batch ${env.B5} opens with its summary (moves grouped)`, sum);
  ok(sum.includes('evidence: '), '... and its evidence coverage', sum);
  await drawn(page, 'batch', () => page.click('button[data-verb="sample"]'));
  const total = Number(sql(`SELECT count(*) FROM batch_item WHERE batch_id=${env.B5} AND sampled=1`));
  same(total, 56, 'the sample of 500 is 56 items');
  ok((await page.textContent('#judge-card .progress')).startsWith('0 of 56 judged'), 'the judge card shows the progress', await page.textContent('#judge-card .progress'));
  const card = await page.textContent('#judge-card');
  ok(card.includes('account ') && card.includes('→') && card.includes('reason: '), '... and the item whole: record, old → new, reason', card);
  let keys = 0;
  const first = await page.getAttribute('#judge-card', 'data-judge-item');
  await page.keyboard.press('j'); keys++;
  ok((await page.getAttribute('#judge-card', 'data-judge-item')) !== first, 'j shows the next drawn item');
  await page.keyboard.press('k'); keys++;
  same(await page.getAttribute('#judge-card', 'data-judge-item'), first, 'k goes back');
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, '05b-judge-card-375');
  await page.setViewportSize({ width: 1280, height: 900 });
  for (let i = 0; i < total; i++) {
    if (i === 12) ok((await page.textContent('#judge-card .progress')).startsWith('12 of 56 judged'), 'progress counts the verdicts (12 of 56)');
    await drawn(page, 'batch', () => page.keyboard.press('p'));
    keys++;
  }
  same(sql(`SELECT state FROM batch WHERE id=${env.B5}`), 'approved', 'every drawn item passed by keyboard: the batch is approved');
  same(sql(`SELECT count(*) FROM action_log WHERE batch_id='${env.B5}' AND tool='judge'`), '56', '... each verdict its own log entry');
  ok(keys <= 2 * total, `... in ${keys} keystrokes for ${total} items (at most 2 per item)`);
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B1));

  // apply, undo
  const acct = sql(`SELECT record_id FROM batch_item WHERE batch_id=${env.B1} AND idx=1`);
  const tier0 = sql(`SELECT tier FROM account WHERE id='${acct}'`);
  await drawn(page, 'batch', () => page.click('button[data-verb="apply"]'));
  same(sql(`SELECT state FROM batch WHERE id=${env.B1}`), 'applied', 'apply: the store says applied');
  ok(sql(`SELECT tier FROM account WHERE id='${acct}'`) !== tier0, '... and the book changed');
  ok((await flashText(page)).includes('applied'), '... and the page says applied');
  await shot(page, '06-applied');
  await drawn(page, 'batch', () => page.click('button[data-verb="undo"]'));
  same(sql(`SELECT state FROM batch WHERE id=${env.B1}`), 'undone', 'undo: the store says undone');
  same(sql(`SELECT tier FROM account WHERE id='${acct}'`), tier0, '... and the tier is back');
  ok((await page.textContent('h1')).includes('undone'), '... and the page shows undone');
  await shot(page, '07-undone');

  // approve a blocked batch
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B2));
  same(await page.$$eval('table.items tbody tr', (r) => r.length), 300, `the blocked batch ${env.B2} shows its 300 items`);
  // its rationale and first reason were written (as by a bypass of the
  // gate) with HTML, terminal escapes and bidi overrides: shown, visibly
  // escaped, never run, never reordering the page
  {
    const main = await page.textContent('main');
    ok(main.includes('<img src=x onerror="window.__xss=3"> tier: 4 \\e[1A\\e[2K\\r faked \\e]8;;http://evil/\\x07link'),
      'a rationale with HTML and ESC sequences is shown as escaped text', main.slice(0, 600));
    ok(main.includes('reason \\u202egpj.exe \\u2066iso\\u2069 \\u009b2J'), '... bidi overrides, isolates and C1 controls too', main.slice(0, 600));
    ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(main), '... and no raw control or bidi character reaches the page');
    same(await page.$$eval('main img', (imgs) => imgs.length), 0, '... no element is made from it');
    same(await page.evaluate(() => window.__xss), undefined, '... and nothing runs');
    await shot(page, '07b-hostile-text');
  }
  // the same batch by its own address (a notification's link): its answer
  // is in the page, JSON in a data block, drawn without asking the API;
  // the reason written to end that block ends nothing
  {
    const asked = [];
    const onReq = (r) => { if (r.url().includes('/api/batches/')) asked.push(r.url()); };
    page.on('request', onReq);
    await drawn(page, 'batch', () => page.goto(BASE + '/b/' + env.B2));
    page.off('request', onReq);
    same(asked.length, 0, `batch ${env.B2} by its own address /b/${env.B2}: drawn from the answer in the page, no API request`, asked.join(' '));
    same(await page.$$eval('table.items tbody tr', (r) => r.length), 300, '... all 300 items');
    // rows off the first screen are laid out only once near the view
    // (content-visibility): scrolled to, the last one is drawn whole
    const last = await page.evaluate(() => new Promise((res) => {
      const r = document.getElementById('item-300');
      r.scrollIntoView();
      requestAnimationFrame(() => requestAnimationFrame(() => res({ h: r.getBoundingClientRect().height, top: r.getBoundingClientRect().top, text: r.innerText })));
    }));
    ok(last.h > 30 && last.top >= 0 && last.top < 900 && /tier: \d → \d/.test(last.text) && last.text.includes('why'),
      '... the last of them, scrolled to, is on screen and drawn whole (change, reason, link)', JSON.stringify(last));
    await shot(page, '07c-last-row');
    same((await page.textContent('tr[data-item="2"] .reason')), '</script><script>window.__xss=4</script><!-- <script>',
      '... a reason holding "</script>" and "<!--" is shown whole, as text');
    const main = await page.textContent('main');
    ok(main.includes('reason \\u202egpj.exe \\u2066iso\\u2069 \\u009b2J') && main.includes('faked \\e]8;;http://evil/\\x07link'),
      '... escape codes and bidi overrides still shown escaped', main.slice(0, 600));
    ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(main), '... no raw control or bidi character');
    same(await page.evaluate(() => window.__xss), undefined, '... and nothing runs');
    same(await page.$$eval('main img, main script', (e) => e.length), 0, '... no element is made from it');
    same(await page.$$eval('script:not([src])', (e) => e.length), 0, '... and the data block is gone from the page once read');
    await drawn(page, 'queue', () => page.click('a[data-nav="queue"]'));
    ok(page.url().endsWith('/b/' + env.B2 + '#/queue'), '... the console\'s own links go on from there', page.url());
    await drawn(page, 'batch', () => page.goBack());
    same(await page.$$eval('table.items tbody tr', (r) => r.length), 300, '... and back to the batch');
  }
  await drawn(page, 'batch', () => page.click('button[data-verb="approve"]'));
  same(sql(`SELECT state||' '||decided_by FROM batch WHERE id=${env.B2}`), 'approved human:alice', 'approve: the store says approved by alice');

  // approving a staged batch past its sample is an override, with a reason
  const B4 = env.B4;
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + B4));
  ok((await page.textContent('section.verbs')).includes('never sampled'), `staged batch ${B4}: approve is offered as an override, saying what it skips`);
  same(await page.$$eval('button[data-verb="approve"]:not([data-override])', (b) => b.length), 0, '... and no plain approve');
  await page.click('button[data-override]');
  same(sql(`SELECT state FROM batch WHERE id=${B4}`), 'staged', '... an override without a reason is not sent');
  await page.fill('#override-reason', 'checked by hand');
  await drawn(page, 'batch', () => page.click('button[data-override]'));
  same(sql(`SELECT state||' '||json_extract(override,'$.reason') FROM batch WHERE id=${B4}`), 'approved checked by hand', 'the override approves, recorded with its reason');
  ok((await page.textContent('dl.facts')).includes('OVERRIDE'), '... and the page shows it as an override');
  await shot(page, '08-override');

  // separation of duties: alice proposed B3
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B3));
  same(await page.$$eval('button[data-verb="approve"], button[data-verb="sample"]', (b) => b.length), 0, 'alice is offered no approve or sample on her own proposal');
  ok((await page.textContent('section.verbs')).includes('you proposed this batch'), '... and is told why');
  const sod = await page.evaluate(async ([id]) => {
    const me = await (await fetch('/api/me')).json();
    const r = await fetch(`/api/batches/${id}/approve`, { method: 'POST', headers: { 'X-CSRF-Token': me.csrf, 'Content-Type': 'application/json' }, body: '{}' });
    return r.status;
  }, [env.B3]);
  same(sod, 403, '... and the API refuses her approve (403)');
  same(sql(`SELECT state FROM batch WHERE id=${env.B3}`), 'staged', '... the batch is still staged');
  await shot(page, '08-own-proposal');

  // CSRF: a request without the token is refused even with the cookie
  const nocsrf = await page.evaluate(async ([id]) => (await fetch(`/api/batches/${id}/reject`, { method: 'POST', body: '{"reason":"x"}' })).status, [env.B3]);
  same(nocsrf, 403, 'a state change without the CSRF token: 403');

  // drafts and a blocked send, rejected
  await drawn(page, 'drafts', () => page.click('a[data-nav="drafts"]'));
  same(await page.$$eval('table.sends tbody tr', (r) => r.length), 1, 'the drafts page lists the send awaiting approval');
  ok((await page.textContent('table.sends')).includes('Hello <b>there</b>'), '... its subject as text');
  await shot(page, '09-drafts');
  await drawn(page, 'batch', () => page.click(`table.sends a[href="#/batch/${env.S1}"]`));
  const body = await page.textContent('pre.body');
  ok(body.includes('<script>window.__xss=2</script>'), 'the draft body with HTML is shown as text', body);
  same(await page.evaluate(() => window.__xss), undefined, '... and never run');
  ok((await page.textContent('table.items')).includes('audience guard: no findings'), 'the audience guard findings are shown');
  await page.click('button[data-verb="reject"]');
  ok((await flashText(page)).includes('needs a reason'), 'reject without a reason is stopped on the page');
  same(sql(`SELECT state FROM batch WHERE id=${env.S1}`), 'blocked', '... and nothing changed');
  await page.fill('#reject-reason', 'not this contact');
  await drawn(page, 'batch', () => page.click('button[data-verb="reject"]'));
  same(sql(`SELECT state||': '||reject_reason FROM batch WHERE id=${env.S1}`), 'rejected: not this contact', 'reject the blocked send: the store says rejected, with the reason');
  same(sql(`SELECT status FROM draft WHERE id='${env.D1}'`), 'draft', '... and the draft went back to the rep');
  ok((await page.textContent('h1')).includes('rejected'), '... and the page shows rejected');
  await shot(page, '10-send-rejected');

  // the rep edits the draft
  await drawn(page, 'draft', () => page.goto(BASE + '/#/draft/' + env.D1));
  await page.fill('#draft-subject', 'A plainer subject');
  await drawn(page, 'draft', () => page.click('#draft-save'));
  same(sql(`SELECT subject FROM draft WHERE id='${env.D1}'`), 'A plainer subject', 'editing a draft: the store has the new subject');
  await shot(page, '11-draft');

  // log, why, verify, autonomy
  await drawn(page, 'log', () => page.goto(BASE + `/#/log?batch=${env.B1}`));
  await page.waitForFunction(() => /chain intact|BROKEN/.test(document.getElementById('verify').textContent));
  ok((await page.textContent('#verify')).startsWith('chain intact'), 'the log page shows the chain verified');
  const tools = await page.$$eval('table.log tbody tr td:nth-child(5)', (t) => t.map((x) => x.textContent));
  ok(['propose_changes', 'sample', 'judge', 'apply', 'undo'].every((t) => tools.includes(t)), 'the log search by batch shows its story', tools.join(','));
  await shot(page, '12-log');
  await drawn(page, 'why', () => page.goto(BASE + `/#/why/${env.B1}/1`));
  ok((await page.textContent('main')).includes('window.__xss=1'), 'the why view shows the item with its evidence, as text');
  same(await page.evaluate(() => window.__xss), undefined, '... never run');
  await drawn(page, 'autonomy', () => page.click('a[data-nav="autonomy"]'));
  ok((await page.textContent('tr[data-workflow="retier"]')).includes('normal'), 'the autonomy page shows retier\'s level');
  await shot(page, '13-autonomy');
  // reliability: the reviewer's own seeded-check record, with its bounds
  sql(`INSERT OR REPLACE INTO reviewer_check(reviewer,workflow,seen,caught,missed,updated_at) VALUES
    ('human:alice','retier',20,19,1,'2026-11-01T00:00:00Z'),('human:bob','retier',5,1,4,'2026-11-01T00:00:00Z')`);
  await drawn(page, 'reliability', () => page.click('a[data-nav="reliability"]'));
  const rel = await page.$$eval('table.reliability tbody tr', (t) => t.map((x) => x.getAttribute('data-reviewer')));
  ok(rel.length >= 1 && rel.every((r) => r === 'human:alice'), 'the reliability page shows the reviewer her own record only', rel.join(','));
  ok((await page.textContent('tr[data-reviewer="human:alice"]')).includes('78.4%'), 'her catch rate comes with its exact lower bound (19 of 20: 78.4% at 95%)');
  await shot(page, '13b-reliability');

  // drift: wired by the integrator; until then the page says so
  await drawn(page, 'drift', () => page.click('a[data-nav="drift"]'));
  const driftStatus = await page.evaluate(async () => (await fetch('/api/drift')).status);
  await shot(page, '14-drift');
  if (driftStatus === 501) {
    ok((await page.textContent('#drift-not-built')).includes('not built'), 'the drift page says plainly that the drift monitor is not built');
    console.log('# SKIP acknowledge a drift alert: /api/drift answered 501 (drift monitor not built)');
  } else {
    const alert = await page.$('[data-ack]');
    if (!alert) console.log('# SKIP acknowledge a drift alert: the drift monitor raised no alert on this book');
    else {
      const id = await alert.getAttribute('data-ack');
      await page.fill(`[data-ack-cause="${id}"]`, 'instruction version changed on purpose');
      await drawn(page, 'drift', () => alert.click());
      ok((await page.textContent(`[data-alert="${id}"]`)).includes('acknowledged'), 'acknowledge a drift alert with a cause');
      await shot(page, '15-drift-acked');
    }
  }

  // a refresh from the CRM: the CRM's value beside old → new, hostile text
  // from the CRM shown as text
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B3));
  const crm2 = await page.textContent(`tr[data-item="2"] [data-crm-field="tier"]`);
  ok(crm2.includes('CRM now: ' + env.CRM32), `batch ${env.B3} item 2: the CRM's tier beside old → new`, crm2);
  const crm1 = await page.textContent('tr[data-item="1"] .crm-refresh');
  ok(crm1.includes('changed in the CRM') && crm1.includes('name = <img src=x onerror="window.__xss=5"> Evil \\u202egpj.exe Corp'),
    '... item 1: what the CRM changed, hostile text shown as escaped text', crm1);
  same(await page.$$eval('main img', (i) => i.length), 0, '... no element made from it');
  ok((await page.textContent('section.conflicts')).includes('CRM now ' + env.CRM32), '... and the conflicts list says it too');
  await shot(page, '14b-crm-conflict');

  // queue sorted by state and by workflow (on the server)
  await drawn(page, 'queue', () => page.click('a[data-nav="queue"]'));
  await drawn(page, 'queue', () => page.selectOption('#qf-sort', 'state'));
  const states = await page.$$eval('table.queue tbody tr td:nth-child(2)', (t) => t.map((x) => x.textContent.trim()));
  const rank = ['staged', 'sampled', 'blocked', 'approved'];
  same(states.join(','), [...states].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)).join(','), 'the queue sorts by state', states.join(','));
  await drawn(page, 'queue', () => page.selectOption('#qf-sort', 'workflow'));
  const wfs = await page.$$eval('table.queue tbody tr td:nth-child(3)', (t) => t.map((x) => x.textContent.trim()));
  same(wfs.join(','), [...wfs].sort().join(','), '... and by workflow');
  await drawn(page, 'error', () => page.goto(BASE + '/#/queue?sort=%3Cimg%20src%3Dx%3E'));
  ok((await page.textContent('main')).includes('sort: \'<img src=x>\' is not an order'), 'a made-up sort in the address: the server\'s 400 shown as text');
  same(await page.$$eval('main img', (i) => i.length), 0, '... no element made from it');
  await drawn(page, 'queue', () => page.goto(BASE + '/#/queue?sort=age'));

  // log: pages and export of what is shown
  await drawn(page, 'log', () => page.goto(BASE + '/#/log?tool=judge&limit=10'));
  const p1 = await page.$$eval('table.log tbody tr td:nth-child(1)', (t) => t.map((x) => Number(x.textContent)));
  same(p1.length, 10, 'the log shows a page of 10 judge entries');
  const csvHref = await page.getAttribute('#log-csv', 'href');
  ok(csvHref.includes('tool=judge') && csvHref.includes('limit=10') && csvHref.includes('format=csv'), '... the export link keeps the filters and the page', csvHref);
  const csv = await page.evaluate(async (h) => { const r = await fetch(h); return [r.headers.get('content-type'), await r.text()]; }, csvHref);
  ok(csv[0].startsWith('text/csv') && csv[1].trim().split('\n').length === 11, '... and downloads those 10 as CSV (and a header)', csv[1].slice(0, 300));
  await drawn(page, 'log', () => page.click('#log-older'));
  const p2 = await page.$$eval('table.log tbody tr td:nth-child(1)', (t) => t.map((x) => Number(x.textContent)));
  ok(p2.length > 0 && Math.max(...p2) < Math.min(...p1), '"Older entries" shows the next page, older than the first', `${p1} / ${p2}`);
  const tools2 = await page.$$eval('table.log tbody tr td:nth-child(5)', (t) => [...new Set(t.map((x) => x.textContent))]);
  same(tools2.join(','), 'judge', '... with the filter kept');

  // drafts: names and filters
  await drawn(page, 'drafts', () => page.goto(BASE + '/#/drafts'));
  const acctName = sql(`SELECT a.name FROM draft d JOIN account a ON a.id=d.account_id WHERE d.id='${env.D1}'`);
  ok((await page.textContent(`table.drafts tr[data-draft="${env.D1}"]`)).includes(acctName), 'the drafts list names the account', acctName);
  await page.fill('#df-q', 'no draft is about this');
  await drawn(page, 'drafts', () => page.click('form.search button[type=submit]'));
  same(await page.$$eval('table.drafts tbody tr', (r) => r.length), 0, '... a text filter that matches nothing shows none');
  await page.fill('#df-q', acctName.slice(0, 6));
  await drawn(page, 'drafts', () => page.click('form.search button[type=submit]'));
  ok((await page.$$eval('table.drafts tbody tr', (r) => r.map((x) => x.getAttribute('data-draft')))).includes(env.D1), '... and by the account\'s name finds it');
  await drawn(page, 'error', () => page.goto(BASE + '/#/drafts?status=nonsense'));
  ok((await page.textContent('main')).includes('status: unknown status'), '... a bad status filter: the 400 names it');

  // drift in words
  await drawn(page, 'drift', () => page.goto(BASE + '/#/drift'));
  const heads = await page.$$eval('figure.metric h3', (h) => h.map((x) => x.textContent));
  ok(heads.length > 0 && heads.every((t) => !/[_{}]/.test(t)), 'drift charts are titled in words (no raw metric keys)', heads.join(' | '));
  ok(heads.includes('share of re-tiers to tier 1, workflow retier'), '... "share of re-tiers to tier 1, workflow retier"', heads.join(' | '));
  const ticks = await page.$$eval('figure.metric svg.chart', (svgs) => svgs.map((s) => [...s.querySelectorAll('text.tick')].map((t) => t.textContent)));
  ok(ticks.length > 0 && ticks.every((t) => t.some((x) => /^\d{1,2} [A-Z][a-z]{2}$/.test(x)) && t.some((x) => /\d/.test(x))), 'every chart has dates on its x axis and values on its y axis', JSON.stringify(ticks[0]));
  const lone = await page.$$eval('figure.metric', (f) => f.filter((x) => x.querySelectorAll('circle').length === 1).length);
  same(lone, 0, '... no chart of one lone dot (too little data is said in words)');
  const alertText = await page.textContent('ul.alerts');
  ok(/× the usual share of re-tiers to tier 1, workflow retier, since \d+ [A-Z][a-z]{2} \d{4}/.test(alertText) && alertText.includes('after agent:tierbot began using instruction version v2'),
    'the alert says how far, since when and after what, in words', alertText.slice(0, 400));
  await shot(page, '14c-drift-words');

  await sweep(page);

  // a viewer reads but cannot act
  await signOut(page);
  same(sql("SELECT count(*) FROM action_log WHERE tool='console logout' AND principal='human:alice'"), '1', 'signing out is logged');
  await signIn(page, 'bob');
  await drawn(page, 'batch', () => page.goto(BASE + '/#/batch/' + env.B3));
  same(await page.$$eval('section.verbs button', (b) => b.length), 0, 'a viewer is offered no verb');
  ok((await page.textContent('section.verbs')).includes('viewer'), '... and is told why');
  const viewerApprove = await page.evaluate(async ([id]) => {
    const me = await (await fetch('/api/me')).json();
    return (await fetch(`/api/batches/${id}/approve`, { method: 'POST', headers: { 'X-CSRF-Token': me.csrf }, body: '{}' })).status;
  }, [env.B3]);
  same(viewerApprove, 403, '... and the API refuses a viewer\'s approve (403)');
  same(sql(`SELECT state FROM batch WHERE id=${env.B3}`), 'staged', '... the batch is unchanged');
  await shot(page, '16-viewer');

  // a one-time login link printed by the CLI
  await drawn(page, 'queue', () => page.goto(BASE + '/login?link=' + env.LINK));
  same(await page.textContent('#who'), 'dan (reviewer)', 'a login link signs dan in');
  ok(!page.url().includes(env.LINK), '... and the secret leaves the address bar', page.url());
  await drawn(page, 'login', () => page.click('#logout'));
  await drawn(page, 'login', () => page.goto(BASE + '/login?link=' + env.LINK));
  ok((await page.textContent('#login-error')).includes('not valid'), '... once only');
  await checkView(page, 'login', 1366, 768);
  await checkView(page, 'login', 375, 812);
  await shot(page, '17-link-used');
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-chromium-'));
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
  page.on('dialog', (d) => d.accept());
  await run(page);
  same(errors.join('\n'), '', 'no script error on any page');
} catch (e) {
  ok(false, 'the browser tests ran to the end', e && e.stack ? e.stack : e);
} finally {
  if (ctx) await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`1..${n}`);
process.exit(failures ? 1 : 0);
