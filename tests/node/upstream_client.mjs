// upstream_client.mjs — drives an airlock connector with the official MCP
// SDK Client and prints one JSON line per step, for tests/e2e/upstream.sh.
//
// usage: node upstream_client.mjs CONFIG_JSON
//   {"command":"airlock","args":[...],"env":{...},"steps":[{"list":true},{"call":"NAME","args":{...}}]}
//   {"url":"http://127.0.0.1:P/mcp/read","token":"...","steps":[...]}
// A list step prints {"tools":[{name,description}]}; a call step prints
// {"isError":..., "text": first text block, "structured": ...} or
// {"error": message} when the call is refused as a protocol error. A step
// {"wait_file": PATH} waits (at most 60 s) until PATH exists, so the shell
// can change things between the steps of one session; the session prints
// {"list_changed": N} at the end, N the notifications/tools/list_changed it got.
import { existsSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const cfg = JSON.parse(process.argv[2]);
const client = new Client({ name: "airlock-upstream-e2e", version: "1.0.0" });
let listChanged = 0;
client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });
await client.connect(cfg.url
  ? new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers: { Authorization: `Bearer ${cfg.token}` } } })
  : new StdioClientTransport({ command: cfg.command, args: cfg.args, env: { ...getDefaultEnvironment(), ...(cfg.env || {}) }, stderr: "ignore" }));
for (const s of cfg.steps) {
  if (s.wait_file) {
    for (let i = 0; i < 600 && !existsSync(s.wait_file); i++) await new Promise((r) => setTimeout(r, 100));
    continue;
  }
  if (s.list) {
    const r = await client.listTools();
    console.log(JSON.stringify({ tools: r.tools.map((t) => ({ name: t.name, description: t.description })) }));
    continue;
  }
  try {
    const r = await client.callTool({ name: s.call, arguments: s.args || {} });
    console.log(JSON.stringify({ isError: !!r.isError, text: r.content?.[0]?.text ?? null, structured: r.structuredContent ?? null }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e.message || e) }));
  }
}
if (cfg.steps.some((s) => s.wait_file)) console.log(JSON.stringify({ list_changed: listChanged }));
await client.close();
