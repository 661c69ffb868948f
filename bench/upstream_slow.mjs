// bench/upstream_slow.mjs — for bench/upstream.sh (UPSTREAM_BENCH_DELAY_MS): a
// stateless MCP server over Streamable HTTP (the official SDK, from
// tests/node) whose one tool, get_account, answers after DELAY ms, as a
// remote CRM does: an upstream that waits rather than computes.
// usage: node upstream_slow.mjs DELAY_MS  (prints "listening on 127.0.0.1:PORT")
import { createRequire } from "node:module";
const require = createRequire(new URL("../tests/node/package.json", import.meta.url));
const { McpServer } = await import(require.resolve("@modelcontextprotocol/sdk/server/mcp.js"));
const { StreamableHTTPServerTransport } = await import(require.resolve("@modelcontextprotocol/sdk/server/streamableHttp.js"));
const { z } = await import(require.resolve("zod"));
import http from "node:http";
const delay = Number(process.argv[2] || 20);
const srv = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  const server = new McpServer({ name: "slow", version: "1" });
  server.tool("get_account", "Get one account by id", { id: z.string() }, async ({ id }) => {
    await new Promise((r) => setTimeout(r, delay));
    return { content: [{ type: "text", text: `account ${id}` }] };
  });
  const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { t.close(); server.close(); });
  await server.connect(t);
  await t.handleRequest(req, res, JSON.parse(body || "null"));
});
srv.listen(0, "127.0.0.1", () => console.error(`listening on 127.0.0.1:${srv.address().port}`));
