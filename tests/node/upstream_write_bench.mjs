// upstream_write_bench.mjs — for bench/upstream_write.sh: the time airlock takes
// to stage one upstream write of N records (one call of
// hubspot__hubspot-batch-update-objects through `airlock mcp`, which reads
// every record's current values from the upstream, then gates and stages)
// against the N before-value reads alone, made straight to the same
// upstream by the same SDK client. Prints one JSON line.
//
// usage: node upstream_write_bench.mjs AIRLOCK DB POLICY CRM_SERVER STORE N
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";

const [airlock, db, policy, server, store, n] = process.argv.slice(2);
const N = Number(n);
const env = { ...getDefaultEnvironment(), BENCH_CRM_MAX: String(N) };
const ids = Array.from({ length: N }, (_, i) => "c" + i);

async function direct() {
  const c = new Client({ name: "bench-direct", version: "1" });
  await c.connect(new StdioClientTransport({ command: process.execPath, args: [server, store, "/dev/null"], env: { ...env, CRM_MAX_ITEMS: String(N) }, stderr: "ignore" }));
  await c.listTools();
  const t0 = process.hrtime.bigint();
  for (const id of ids)
    await c.callTool({ name: "hubspot-batch-read-objects", arguments: { objectType: "companies", inputs: [{ id }], properties: ["tier", "region"] } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await c.close();
  return ms;
}

async function staged() {
  const c = new Client({ name: "bench-airlock", version: "1" });
  await c.connect(new StdioClientTransport({ command: airlock, args: ["mcp", "--connector", "write", "--agent", "bench", "--db", db, "--policy", policy], env, stderr: "ignore" }));
  await c.listTools(); // starts the upstream: not part of the write
  const t0 = process.hrtime.bigint();
  const r = await c.callTool({
    name: "hubspot__hubspot-batch-update-objects",
    arguments: { objectType: "companies", inputs: ids.map((id) => ({ id, properties: { tier: "1" } })), airlock_scope: "region = emea", airlock_rationale: "bench" },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await c.close();
  const s = r.structuredContent || {};
  if (r.isError || s.radius !== N) throw new Error("not staged: " + JSON.stringify(r).slice(0, 400));
  return { ms, decision: s.decision };
}

const d = await direct();
const a = await staged();
console.log(JSON.stringify({ records: N, direct_reads_ms: d, airlock_stage_ms: a.ms, ratio: a.ms / d, decision: a.decision }));
