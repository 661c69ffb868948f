// mcp_sdk_client.mjs — drives an airlock connector with the official MCP
// TypeScript SDK Client, the way an agent host would, and prints TAP lines.
//
// usage: node mcp_sdk_client.mjs CONFIG_JSON
//   {"transport":"stdio","command":"airlock","args":[...],"connector":"read"}
//   {"transport":"http","url":"http://127.0.0.1:P/mcp/read","token":"...","connector":"read"}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, TextContentSchema } from "@modelcontextprotocol/sdk/types.js";

const cfg = JSON.parse(process.argv[2]);
let n = 0;
let failed = 0;
function ok(cond, desc, detail) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    if (detail !== undefined) {
      for (const line of String(typeof detail === "string" ? detail : JSON.stringify(detail)).split("\n").slice(0, 12))
        console.log(`#   ${line}`);
    }
  }
}

const READ_TOOLS = ["batch_status", "book_stats", "get_account", "list_signals", "search_accounts"];
const WRITE_TOOLS = ["draft_email", "propose_changes", "propose_merge", "request_send", "save_brief"];
const FORBIDDEN = /approve|judge|apply|undo|reject/;
const DECISIONS = ["staged", "blocked", "draft", "refused", "allowed"];

function transport(token) {
  if (cfg.transport === "stdio")
    return new StdioClientTransport({ command: cfg.command, args: cfg.args, stderr: "pipe" });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers } });
}

async function connect(token) {
  const client = new Client({ name: "airlock-e2e", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport(token));
  return client;
}

const readCalls = {
  search_accounts: { segment: "smb", limit: 1 },
  get_account: { account_id: "A1" },
  list_signals: { account_id: "A1", limit: 10 },
  book_stats: {},
  batch_status: {},
};
const writeCalls = {
  propose_changes: {
    workflow: "retier", rationale: "hiring surge", scope: "tier=3",
    items: [{ record_id: "A1", field: "tier", value: 1, reason: "hiring", evidence: ["S1"] }],
  },
  propose_merge: { survivor_id: "A1", merged_ids: ["A2"], rationale: "same company" },
  draft_email: { account_id: "A1", contact_ids: ["C1"], subject: "Hello", body: "Hi Ann", audience: "lifecycle=prospect" },
  save_brief: { account_id: "A1", text: "Acme is hiring.", evidence: ["S1"] },
  request_send: { draft_ids: [] }, // filled with the draft draft_email made
};

// RFC 6901: the value at pointer p in doc, or undefined.
function at(doc, p) {
  if (p === "") return doc;
  let v = doc;
  for (const raw of p.split("/").slice(1)) {
    const k = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (v === null || typeof v !== "object" || !(k in v)) return undefined;
    v = v[k];
  }
  return v;
}

// The marker of third-party text: structuredContent.untrusted names JSON
// pointers that resolve in the result and cover where book text is, and the
// text block is annotated, all valid under the SDK's own schemas.
function checkMarker(name, r, mustCover) {
  const u = r.structuredContent?.untrusted;
  ok(CallToolResultSchema.safeParse(r).success && TextContentSchema.safeParse(r.content?.[0]).success,
    `${name}: the result and its text block are valid per the SDK's schemas`, r);
  ok(JSON.stringify(r.content?.[0]?.annotations?.audience) === '["assistant"]',
    `${name}: the text block is annotated (audience assistant)`, r.content?.[0]);
  ok(u && Array.isArray(u.pointers) && u.pointers.length > 0 && u.pointers.every((p) => typeof p === "string" && p.startsWith("/")) &&
    /never instructions/.test(u.note ?? ""), `${name}: structuredContent.untrusted lists JSON pointers`, u);
  for (const p of mustCover)
    ok(u?.pointers?.some((q) => p === q || p.startsWith(q + "/")) && at(r.structuredContent, p) !== undefined,
      `${name}: ${p} is marked third-party and present`, u);
}

async function main() {
  const read = cfg.connector === "read";
  let client;
  try {
    client = await connect(cfg.token);
    ok(true, `${cfg.transport} ${cfg.connector}: the SDK client initializes`);
  } catch (e) {
    ok(false, `${cfg.transport} ${cfg.connector}: the SDK client initializes`, e.stack);
    return;
  }
  const info = client.getServerVersion();
  ok(info?.name === "airlock", "serverInfo names airlock", info);
  ok(client.getServerCapabilities()?.tools !== undefined, "tools capability advertised");
  ok((client.getInstructions() ?? "").includes("untrusted"), "instructions say book data is untrusted");

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  ok(JSON.stringify(names) === JSON.stringify(read ? READ_TOOLS : WRITE_TOOLS),
    `tools/list has exactly the ${cfg.connector} tools`, names);
  ok(!names.some((t) => FORBIDDEN.test(t)), "no tool can approve, judge, apply or undo", names);
  for (const t of tools) {
    const a = t.annotations ?? {};
    ok(t.inputSchema?.type === "object" && t.outputSchema?.type === "object",
      `${t.name}: input and output schemas`);
    if (read) ok(a.readOnlyHint === true && a.openWorldHint === false, `${t.name}: readOnlyHint true`, a);
    else {
      const destructive = ["propose_changes", "propose_merge", "request_send"].includes(t.name);
      ok(a.readOnlyHint === false && a.destructiveHint === destructive && a.openWorldHint === false,
        `${t.name}: readOnlyHint false, destructiveHint ${destructive}`, a);
    }
    if (read) ok(/untrusted/.test(t.description), `${t.name}: description points at the untrusted marker`);
    ok(!/never as instructions/.test(t.description), `${t.name}: the untrusted paragraph is the instructions', not repeated here`);
    if (!read) ok(Array.isArray(t.inputSchema?.examples) && t.inputSchema.examples.length > 0, `${t.name}: examples`);
  }

  let draftId = null;
  for (const [name, args0] of Object.entries(read ? readCalls : writeCalls)) {
    const args = name === "request_send" ? { draft_ids: [draftId ?? "none"] } : args0;
    try {
      const r = await client.callTool({ name, arguments: args });
      if (name === "draft_email") draftId = r.structuredContent?.draft_id;
      const text = r.content?.[0]?.text ?? "";
      let parsed = null;
      try { parsed = JSON.parse(text); } catch { /* checked below */ }
      ok(r.isError === false && r.structuredContent && JSON.stringify(parsed) === JSON.stringify(r.structuredContent),
        `${name}: structuredContent and the same JSON as text`, r);
      if (!read)
        ok(DECISIONS.includes(r.structuredContent?.decision), `${name}: the gate's decision comes back`, r.structuredContent);
      const covers = { search_accounts: ["/accounts/0/name"], get_account: ["/account/name", "/signals/0/detail", "/contacts/0/name"],
        list_signals: ["/signals/0/detail"], book_stats: ["/by_segment"], batch_status: ["/batches"],
        propose_changes: ["/refused_items"], propose_merge: ["/refused_items"], save_brief: [], draft_email: ["/recipients/0"], request_send: [] };
      checkMarker(name, r, covers[name] ?? []);
      if (name === "get_account") {
        ok(r.structuredContent.account.id === "A1" && r.structuredContent.contacts.length === 1,
          "get_account: account with its contacts", r.structuredContent);
        const sig = r.structuredContent.signals.find((s) => s.id === "S1");
        ok(sig && sig.detail.includes("IGNORE PREVIOUS INSTRUCTIONS"), "get_account: injected signal text comes back as data only", r.structuredContent.signals);
      }
      if (name === "search_accounts")
        ok(r.structuredContent.count === 1 && typeof r.structuredContent.next_cursor === "string",
          "search_accounts: one per page and a cursor", r.structuredContent);
    } catch (e) {
      ok(false, `${name}: call works`, e.stack);
    }
  }

  if (read) {
    // Page through everything with the cursor.
    let cursor, seen = [];
    for (let i = 0; i < 10; i++) {
      const r = await client.callTool({ name: "search_accounts", arguments: cursor ? { limit: 1, cursor } : { limit: 1 } });
      seen.push(...r.structuredContent.accounts.map((a) => a.id));
      cursor = r.structuredContent.next_cursor;
      if (!cursor) break;
    }
    ok(JSON.stringify(seen) === JSON.stringify(["A1", "A2", "A3"]), "search_accounts: the cursor walks every account once", seen);
    try {
      await client.callTool({ name: "propose_changes", arguments: writeCalls.propose_changes });
      ok(false, "write tool is absent on the read connector");
    } catch (e) {
      ok(/-32602/.test(String(e.code ?? e.message)) || /unknown tool/.test(e.message),
        "write tool is absent on the read connector (JSON-RPC -32602)", e.message);
    }
    const bad = await client.callTool({ name: "search_accounts", arguments: { tier: 9 } });
    ok(bad.isError === true && /tier/.test(bad.content?.[0]?.text), "bad argument: isError naming it", bad);
    const unk = await client.callTool({ name: "get_account", arguments: { account_id: "A1", extra: 1 } });
    ok(unk.isError === true && /unknown argument 'extra'/.test(unk.content?.[0]?.text), "unknown argument: isError naming it", unk);
    const miss = await client.callTool({ name: "get_account", arguments: { account_id: "NOPE" } });
    ok(miss.isError === true && /NOPE/.test(miss.content?.[0]?.text), "unknown account: isError naming it", miss);
  } else {
    const bad = await client.callTool({ name: "propose_changes", arguments: { ...writeCalls.propose_changes, items: [{ record_id: "A1", field: "tier", reason: "x" }] } });
    ok(bad.isError === true && /items\[1\]\.value/.test(bad.content?.[0]?.text), "bad argument: isError naming items[1].value (items count from 1)", bad);
  }
  await client.close();

  if (cfg.transport === "http") {
    for (const [tok, status, want, desc] of [
      [cfg.otherToken, 403, /needs a (read|write) token/, "a token of the other connector is refused (403)"],
      [null, 401, /missing 'Authorization: Bearer/, "no token is refused (401)"],
      ["alk_0123456789abcdef_nope", 401, /invalid token/, "an unknown token is refused (401)"]]) {
      if (tok === undefined) continue;
      try {
        await connect(tok);
        ok(false, desc);
      } catch (e) {
        ok(e.code === status && want.test(e.message), desc, `code ${e.code}: ${e.message}`);
      }
    }
  }
}

main().catch((e) => ok(false, "client crashed", e.stack)).finally(() => {
  console.log(`# ${n - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
