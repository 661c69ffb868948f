// server.mjs — the baseline of bench/mcp.sh: the same search_accounts read
// tool as airlock's read connector, built the idiomatic way on the official
// MCP TypeScript SDK (McpServer + StreamableHTTPServerTransport, stateful
// sessions, JSON responses) over the same SQLite book (better-sqlite3).
//
// usage: node server.mjs DB_PATH PORT
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const [dbPath, portArg] = process.argv.slice(2);
const db = new Database(dbPath, { readonly: true });
const COLS = "id,name,domain,segment,region,industry,owner,tier,lifecycle,do_not_contact,arr,employees,custom,merged_into,version,updated_at";
const stmts = new Map();

function search(args) {
  const where = [];
  const params = {};
  for (const k of ["segment", "region", "lifecycle", "owner", "industry"]) {
    if (args[k] !== undefined) { where.push(`${k}=@${k}`); params[k] = args[k]; }
  }
  if (args.tier !== undefined) { where.push("tier=@tier"); params.tier = args.tier; }
  if (args.text !== undefined) {
    where.push("(lower(name) LIKE @text ESCAPE '\\' OR lower(coalesce(domain,'')) LIKE @text ESCAPE '\\')");
    params.text = `%${args.text.toLowerCase().replace(/[%_\\]/g, (c) => "\\" + c)}%`;
  }
  if (args.cursor !== undefined) {
    const raw = Buffer.from(args.cursor, "base64url").toString();
    if (!raw.startsWith("a1:")) throw new Error("argument 'cursor' is not a cursor this server gave out");
    where.push("id>@after"); params.after = raw.slice(3);
  }
  where.push("merged_into IS NULL");
  const limit = args.limit ?? 50;
  const sql = `SELECT ${COLS} FROM account WHERE ${where.join(" AND ")} ORDER BY id LIMIT @limit`;
  let st = stmts.get(sql);
  if (!st) { st = db.prepare(sql); stmts.set(sql, st); }
  const rows = st.all({ ...params, limit: limit + 1 }).map((r) => ({
    ...r, do_not_contact: !!r.do_not_contact, custom: JSON.parse(r.custom || "{}"),
  }));
  let next = null;
  if (rows.length > limit) {
    rows.pop();
    next = Buffer.from("a1:" + rows[rows.length - 1].id).toString("base64url");
  }
  return { accounts: rows, count: rows.length, next_cursor: next };
}

function makeServer() {
  const server = new McpServer({ name: "node-baseline", version: "1.0.0" });
  server.registerTool("search_accounts", {
    title: "Search accounts",
    description: "Find accounts in the sales book; paginated by cursor.",
    inputSchema: {
      segment: z.enum(["smb", "mid-market", "enterprise"]).optional(),
      region: z.string().max(100).optional(),
      tier: z.number().int().min(1).max(4).optional(),
      lifecycle: z.enum(["prospect", "customer", "former_customer", "competitor", "partner"]).optional(),
      owner: z.string().max(200).optional(),
      industry: z.string().max(100).optional(),
      text: z.string().min(1).max(200).optional(),
      cursor: z.string().min(1).max(400).optional(),
      limit: z.number().int().min(1).max(200).optional(),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => {
    const result = search(args);
    return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
  });
  return server;
}

const sessions = new Map();
const port = Number(portArg);

const http = createServer(async (req, res) => {
  if (req.url !== "/mcp/read") { res.writeHead(404).end(); return; }
  let body = "";
  for await (const chunk of req) body += chunk;
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? sessions.get(sid) : undefined;
  let parsed;
  try { parsed = body ? JSON.parse(body) : undefined; } catch { res.writeHead(400).end(); return; }
  if (!transport) {
    if (sid || parsed?.method !== "initialize") { res.writeHead(sid ? 404 : 400).end(); return; }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
    await makeServer().connect(transport);
  }
  await transport.handleRequest(req, res, parsed);
});
http.listen(port, "127.0.0.1", () => console.error(`node baseline listening on 127.0.0.1:${port}`));
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => { http.close(); db.close(); process.exit(0); });
