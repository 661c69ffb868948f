// oauth_browser.mjs — the OAuth consent page in headless Chromium (Debian's
// chromium, driven by playwright-core), the way an admin meets it: a
// registered client sends the browser to /oauth/authorize; the admin signs
// in on the page, names the agent, allows; the browser lands on the
// client's loopback redirect URI with the code and the state. The client's
// name (HTML in it) is shown as text. /oauth/grants lists the grant and
// revokes it. Prints TAP lines; screenshots go to $OUT.
//
// Environment: BASE (http://127.0.0.1:PORT), DB (the sqlite file), OUT,
// CHROMIUM (default /usr/bin/chromium). Signs in as carol/carol-password.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const BASE = env.BASE, DB = env.DB, OUT = env.OUT;
let n = 0, failures = 0;
function ok(cond, desc, detail) {
  n++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
  if (!cond) {
    failures++;
    if (detail !== undefined) console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
}
function sql(q) {
  return execFileSync('sqlite3', ['-batch', '-noheader', DB, q], { encoding: 'utf8' }).trim();
}

// the client's redirect URI: a loopback listener that records what arrives
const arrived = [];
const cb = createServer((req, res) => { arrived.push(new URL(req.url, 'http://x')); res.end('back at the client'); });
await new Promise((r) => cb.listen(0, '127.0.0.1', r));
const redirect = `http://127.0.0.1:${cb.address().port}/cb`;

const reg = await (await fetch(`${BASE}/oauth/register`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ redirect_uris: [redirect], client_name: '<img src=x onerror="window.__xss=1">Claude' }),
})).json();
const verifier = randomBytes(48).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const state = 'st-' + randomBytes(6).toString('hex');
const q = new URLSearchParams({
  response_type: 'code', client_id: reg.client_id, redirect_uri: redirect, state,
  code_challenge: challenge, code_challenge_method: 'S256', resource: `${BASE}/mcp/write`,
});

const dir = mkdtempSync(join(tmpdir(), 'airlock-chromium-'));
mkdirSync(OUT, { recursive: true });
let ctx;
try {
  ctx = await chromium.launchPersistentContext(dir, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1100, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(`${BASE}/oauth/authorize?${q}`);
  await page.waitForSelector('#signin:not([hidden])', { timeout: 15000 });
  ok(true, 'not signed in: the page asks for a sign-in');
  await page.screenshot({ path: join(OUT, 'oauth-1-signin.png') });
  await page.fill('#signin-name', 'carol');
  await page.fill('#signin-password', 'carol-password');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#consent:not([hidden])', { timeout: 15000 });
  ok((await page.textContent('#client-name')).includes('<img'), "the client's name is shown as text, HTML and all");
  ok(await page.evaluate(() => window.__xss === undefined), '... and not run');
  ok(await page.isChecked('input[name=connector][value=write]'), 'the connector the client asked for is picked');
  ok(await page.isDisabled('input[name=connector][value=read]'), '... and the other cannot be');
  await page.fill('#agent', 'desktop-claude');
  await page.screenshot({ path: join(OUT, 'oauth-2-consent.png') });
  await Promise.all([page.waitForURL(/\/cb\?/, { timeout: 15000 }), page.click('#allow')]);
  const back = arrived.find((u) => u.pathname === '/cb'); // (not the favicon)
  ok(back && back.searchParams.get('code'), 'Allow: the browser lands on the redirect URI with a code');
  ok(back && back.searchParams.get('state') === state, '... and the state');
  const tok = await (await fetch(`${BASE}/oauth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'),
      client_id: reg.client_id, redirect_uri: redirect, code_verifier: verifier }),
  })).json();
  ok(tok.access_token && tok.access_token.startsWith('alo_'), 'the client exchanges the code for tokens', JSON.stringify(tok));
  const gid = sql("SELECT id FROM oauth_grant WHERE agent='desktop-claude' AND connector='write'");
  ok(gid.startsWith('oauth-'), 'the grant: agent desktop-claude on the write connector', gid);

  await page.goto(`${BASE}/oauth/grants`);
  await page.waitForSelector('#grants:not([hidden])', { timeout: 15000 });
  ok((await page.textContent('#grant-rows')).includes('desktop-claude'), '/oauth/grants lists it');
  await page.screenshot({ path: join(OUT, 'oauth-3-grants.png') });
  await page.click(`#grant-rows tr:has-text("${gid}") button`);
  await page.waitForFunction(() => document.querySelector('#grant-rows').textContent.includes('revoked in the console'), null, { timeout: 15000 });
  ok(sql(`SELECT revoked_at IS NOT NULL FROM oauth_grant WHERE id='${gid}'`) === '1', 'Revoke: the grant is revoked');
  ok(errors.length === 0, 'no script error on the pages', errors.join('\n'));
} catch (e) {
  ok(false, 'the browser tests ran to the end', e && e.stack ? e.stack : e);
} finally {
  if (ctx) await ctx.close();
  rmSync(dir, { recursive: true, force: true });
  cb.close();
}
console.log(`1..${n}`);
process.exit(failures ? 1 : 0);
