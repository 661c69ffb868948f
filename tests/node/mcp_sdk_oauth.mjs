// mcp_sdk_oauth.mjs — the official MCP TypeScript SDK client's OAuth
// provider through airlock's whole authorization flow, the way a remote
// connector host does it: 401 → protected-resource metadata → authorization
// server metadata → dynamic registration → authorization (PKCE S256) →
// consent by an admin (here browser-less, through the console API, as the
// consent page would) → code exchange → tools. Prints TAP lines.
//
// usage: node mcp_sdk_oauth.mjs BASE CONNECTOR AGENT ADMIN PASSWORD
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [base, connector, agent, admin, password] = process.argv.slice(2);
const other = connector === "read" ? "write" : "read";
let n = 0;
let failed = 0;
function ok(cond, desc, detail) {
  n++;
  console.log(`${cond ? "ok" : "not ok"} ${n} - ${desc}`);
  if (!cond) {
    failed++;
    if (detail !== undefined) for (const l of String(detail).split("\n").slice(0, 10)) console.log(`#   ${l}`);
  }
}

// The admin's browser-less consent: sign in, read the request the page
// would show, consent, and follow the answer to the redirect URI.
async function consent(authUrl) {
  const page = await fetch(authUrl);
  ok(page.status === 200, "the authorization URL shows the consent page", page.status);
  const login = await fetch(`${base}/login`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: admin, password }),
  });
  const cookie = (login.headers.get("set-cookie") || "").split(";")[0];
  ok(login.ok && cookie, "the admin signs in", login.status);
  const me = await (await fetch(`${base}/api/me`, { headers: { Cookie: cookie } })).json();
  const q = Object.fromEntries(authUrl.searchParams);
  const info = await (await fetch(`${base}/api/oauth/request?${authUrl.searchParams}`, { headers: { Cookie: cookie } })).json();
  ok(info.client_name === "airlock-sdk-e2e", "the consent names the client", JSON.stringify(info));
  ok(info.connector === connector, `the client asked for the ${connector} connector`, JSON.stringify(info));
  const r = await fetch(`${base}/api/oauth/consent`, {
    method: "POST",
    headers: { Cookie: cookie, "X-CSRF-Token": me.csrf, "Content-Type": "application/json" },
    body: JSON.stringify({ ...q, connector, agent }),
  });
  const j = await r.json();
  ok(r.status === 200 && j.redirect, "the admin consents", JSON.stringify(j));
  const back = new URL(j.redirect);
  ok(back.searchParams.get("state") === q.state, "the state comes back unchanged");
  return back.searchParams.get("code");
}

class Provider {
  constructor() { this.store = {}; this.authUrl = null; }
  get redirectUrl() { return "http://127.0.0.1:9/callback"; }
  get clientMetadata() {
    return {
      client_name: "airlock-sdk-e2e", redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() { return "sdk-state-" + Math.random().toString(36).slice(2); }
  clientInformation() { return this.store.client; }
  saveClientInformation(c) { this.store.client = c; }
  tokens() { return this.store.tokens; }
  saveTokens(t) { this.store.tokens = t; }
  redirectToAuthorization(url) { this.authUrl = url; }
  saveCodeVerifier(v) { this.store.verifier = v; }
  codeVerifier() { return this.store.verifier; }
}

const url = new URL(`${base}/mcp/${connector}`);
const provider = new Provider();
let client = new Client({ name: "airlock-sdk-e2e", version: "1.0.0" }, { capabilities: {} });
let transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
let unauthorized = false;
try {
  await client.connect(transport);
} catch (e) {
  unauthorized = e instanceof UnauthorizedError;
  if (!unauthorized) ok(false, "first connect fails with UnauthorizedError", e.stack);
}
ok(unauthorized, "without a token the SDK client is sent to authorize");
ok(provider.store.client && provider.store.client.client_id, "the SDK registered itself (RFC 7591)");
ok(provider.authUrl && provider.authUrl.searchParams.get("code_challenge_method") === "S256", "the SDK uses PKCE S256");
ok(provider.authUrl && provider.authUrl.searchParams.get("resource") === url.href, "the SDK names the connector as the resource (RFC 8707)",
  provider.authUrl && provider.authUrl.href);
if (provider.authUrl) {
  const code = await consent(provider.authUrl);
  await transport.finishAuth(code);
  ok(provider.store.tokens && provider.store.tokens.access_token.startsWith("alo_"), "finishAuth: an access token");
  ok(provider.store.tokens && provider.store.tokens.refresh_token, "... and a refresh token");
  client = new Client({ name: "airlock-sdk-e2e", version: "1.0.0" }, { capabilities: {} });
  transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  try {
    await client.connect(transport);
    const tools = await client.listTools();
    ok(tools.tools.length > 0, `the SDK client lists the ${connector} connector's tools with its token`);
    const name = connector === "read" ? "book_stats" : "save_brief";
    const args = connector === "read" ? {} : { account_id: "A1", text: "brief from the SDK e2e" };
    const r = await client.callTool({ name, arguments: args });
    ok(!r.isError || connector === "write", `${name} answers`, JSON.stringify(r).slice(0, 400));
    await client.close();
  } catch (e) {
    ok(false, "connect with the token", e.stack);
  }
  // the same token on the other connector: refused
  const r = await fetch(`${base}/mcp/${other}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${provider.store.tokens.access_token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  ok(r.status === 401, `the ${connector} token is refused on /mcp/${other}`, r.status);
  // an expired access token: the SDK refreshes on the 401 by itself
  provider.store.tokens = { ...provider.store.tokens, access_token: "alo_expired-or-unknown" };
  client = new Client({ name: "airlock-sdk-e2e", version: "1.0.0" }, { capabilities: {} });
  transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  try {
    await client.connect(transport);
    await client.listTools();
    ok(provider.store.tokens.access_token !== "alo_expired-or-unknown", "a refused access token: the SDK refreshed and went on");
    await client.close();
  } catch (e) {
    ok(false, "a refused access token: the SDK refreshed and went on", e.stack);
  }
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
