#!/usr/bin/env python3
"""demo_agent.py — a scripted agent session for `make demo`.

It speaks MCP (JSON-RPC 2.0 over stdio, newline-delimited) to airlock's two
real connectors, exactly as an MCP client such as Claude does: the read
connector for research, the write connector for proposals and drafts. It
prints what it asked and what the gate answered. Standard library only, so
`make demo` needs nothing from npm.

usage: demo_agent.py AIRLOCK DB PHASE   (PHASE: session | drift)
"""
import json
import os
import subprocess
import sys


class Connector:
    """One `airlock mcp` process and the JSON-RPC conversation with it."""

    def __init__(self, airlock, db, kind, agent, iv, env=None):
        self.proc = subprocess.Popen(
            [airlock, "mcp", "--connector", kind, "--agent", agent,
             "--instruction-version", iv, "--db", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr,
            text=True, env=env)
        self.next_id = 0
        self.kind = kind
        info = self.request("initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "airlock-demo-agent", "version": "1.0"}})
        self.notify("notifications/initialized")
        self.server = info["serverInfo"]
        self.tools = {t["name"]: t for t in self.request("tools/list")["tools"]}

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"demo_agent: the {self.kind} connector closed")
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                break  # anything else is a log notification
        if "error" in reply:
            raise SystemExit(f"demo_agent: {method}: {reply['error']}")
        return reply["result"]

    def call(self, tool, **args):
        result = self.request("tools/call", {"name": tool, "arguments": args})
        if result.get("isError"):
            return {"error": result["content"][0]["text"]}
        return result.get("structuredContent", {})

    def account(self, account_id):
        """get_account, flattened: the account's fields plus contacts and signals."""
        r = self.call("get_account", account_id=account_id)
        a = dict(r.get("account", {}))
        a["contacts"] = r.get("contacts", [])
        a["signals"] = r.get("signals", [])
        return a

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def say(text=""):
    print(text, flush=True)


def show_answer(label, answer):
    if "error" in answer:
        say(f"   {label}: tool error: {answer['error']}")
        return
    line = f"   {label}: {answer.get('decision', '?').upper()}"
    if "batch_id" in answer:
        line += f" (batch {answer['batch_id']})"
    if "radius" in answer:
        line += f", radius {answer['radius']}"
    say(line)
    if not answer.get("findings"):
        for r in answer.get("reasons", [])[:2]:
            say(f"      why: {r}")
    for r in answer.get("refused_items", [])[:4]:
        say(f"      refused: {r.get('record_id') or ''} [{r['rule']}] {r['reason']}")
    for f in answer.get("findings", [])[:4]:
        say(f"      guard: [{f.get('rule')}] {f.get('message', '')}")


def retier_items(accounts, value, reason):
    items = []
    for a in accounts:
        ev = [s["id"] for s in a.get("signals", [])][:2]
        items.append({"record_id": a["id"], "field": "tier", "value": value,
                      "reason": reason, "evidence": ev})
    return items


def session(airlock, db):
    read = Connector(airlock, db, "read", "scout", "retier-v1")
    write = Connector(airlock, db, "write", "scout", "retier-v1")
    say(f"   read connector:  {len(read.tools)} tools, all readOnlyHint: "
        f"{all(t.get('annotations', {}).get('readOnlyHint') for t in read.tools.values())}")
    say(f"   write connector: {', '.join(sorted(write.tools))}")
    say("   (no connector has approve, judge, apply or undo)")
    say()

    say("-- research (read connector)")
    stats = read.call("book_stats")
    say(f"   book_stats: {stats.get('accounts')} accounts, {stats.get('signals')} signals")
    page = read.call("search_accounts", segment="mid-market", region="EMEA",
                     lifecycle="prospect", tier=3, limit=50)
    hot = []
    for a in page.get("accounts", []):
        full = read.account(a["id"])
        kinds = {s["kind"] for s in full.get("signals", [])}
        if {"hiring", "intent", "funding"} & kinds:
            hot.append(full)
    say(f"   search_accounts mid-market EMEA tier-3 prospects: {len(page.get('accounts', []))};"
        f" {len(hot)} with hiring, intent or funding signals")
    say()

    say("-- drafts (write connector): the rep reviews them, the book does not change")
    target = next((a for a in hot if a.get("contacts")), None)
    if target and "draft_email" in write.tools:
        c = target["contacts"][0]
        ans = write.call("draft_email", account_id=target["id"], contact_ids=[c["id"]],
                         subject=f"{target['name']} and your new SDR team",
                         body=f"Hi {c['name'].split()[0]},\n\nI saw {target['name']} is hiring. "
                              "Teams that grow this fast usually ...\n",
                         audience="lifecycle=prospect AND segment=mid-market",
                         workflow="outreach")
        show_answer("draft_email to a prospect", ans)
        comp = read.call("search_accounts", lifecycle="competitor", limit=1)
        if comp.get("accounts"):
            cc = read.account(comp["accounts"][0]["id"])
            if cc.get("contacts"):
                ans2 = write.call("draft_email", account_id=cc["id"],
                                  contact_ids=[cc["contacts"][0]["id"]],
                                  subject="Quick question", body="Hi,\n\nare you evaluating ...\n",
                                  audience="lifecycle=prospect", workflow="outreach")
                show_answer("draft_email to a competitor", ans2)
        if "draft_id" in ans and "request_send" in write.tools:
            show_answer("request_send of the prospect draft",
                        write.call("request_send", draft_ids=[ans["draft_id"]]))
        show_answer("save_brief", write.call(
            "save_brief", account_id=target["id"],
            text=f"{target['name']}: hiring signals this month; champion likely in RevOps.",
            evidence=[s["id"] for s in target.get("signals", [])][:2]))
    say()

    say("-- proposals (write connector) through the gate")
    small = hot[:12]
    show_answer(f"re-tier {len(small)} hot accounts to tier 2", write.call(
        "propose_changes", workflow="retier", scope="segment=mid-market AND region=EMEA",
        rationale="hiring, intent or funding signals in the last 90 days",
        items=retier_items(small, 2, "recent buying signals")))
    outside = read.call("search_accounts", segment="smb", region="NA", limit=2)
    mixed = retier_items(hot[12:14], 2, "signals") + \
        retier_items(outside.get("accounts", []), 1, "looked interesting")
    if hot:
        mixed.append({"record_id": hot[0]["id"], "field": "owner", "value": "agent-scout",
                      "reason": "I should own it"})
    show_answer("a proposal that reaches outside its scope", write.call(
        "propose_changes", workflow="retier", scope="segment=mid-market AND region=EMEA",
        rationale="signals", items=mixed))
    wide = read.call("search_accounts", tier=4, limit=200)
    wide2 = read.call("search_accounts", tier=4, limit=200, cursor=wide.get("next_cursor"))
    many = wide.get("accounts", []) + wide2.get("accounts", [])
    show_answer(f"re-tier {len(many)} tier-4 accounts to tier 3", write.call(
        "propose_changes", workflow="retier", scope="tier=4",
        rationale="broad lift of the long tail",
        items=retier_items(many, 3, "long tail lift")))
    say()
    say("-- what the agent can see of its proposals (read connector: batch_status)")
    for b in read.call("batch_status").get("batches", [])[:5]:
        say(f"   batch {b['id']}: {b['state']}, workflow {b['workflow']}, radius {b['radius']}")
    read.close()
    write.close()


def drift(airlock, db):
    """Two weeks of a re-tiering agent, replayed with airlock's clock pinned
    to each day; on day 8 its instructions change (retier-v2) and it starts
    sending most of the accounts it looks at to tier 1."""
    import time
    base = (int(time.time()) // 86400 - 15) * 86400  # fifteen days ago, midnight UTC
    cursor = None
    for day in range(14):
        env = dict(os.environ, AIRLOCK_NOW=str(base + day * 86400 + 36000))
        iv = "retier-v1" if day < 8 else "retier-v2"
        read = Connector(airlock, db, "read", "tierbot", iv, env)
        write = Connector(airlock, db, "write", "tierbot", iv, env)
        proposed = t1 = 0
        decisions = []
        for _ in range(2):
            args = {"segment": "smb", "limit": 40}
            if cursor:
                args["cursor"] = cursor
            page = read.call("search_accounts", **args)
            cursor = page.get("next_cursor")
            items = []
            for i, a in enumerate(page.get("accounts", [])):
                if day < 8:
                    tier = 1 if i % 12 == 0 else (2 if i % 3 == 0 else 3)
                else:
                    tier = 1 if i % 4 != 3 else 2
                if a.get("tier") != tier:
                    items.append({"record_id": a["id"], "field": "tier", "value": tier,
                                  "reason": "weekly re-tier", "evidence": []})
            if not items:
                continue
            ans = write.call("propose_changes", workflow="retier", scope="segment=smb",
                             rationale=f"daily re-tier ({iv})", items=items)
            proposed += len(items)
            t1 += sum(1 for it in items if it["value"] == 1)
            decisions.append(ans.get("decision", "error"))
        say(f"   day {day + 1:2d} ({iv}): proposed {proposed:2d} re-tiers, {t1:2d} to tier 1"
            f" -> {', '.join(decisions)}")
        read.close()
        write.close()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[3] not in ("session", "drift"):
        raise SystemExit(__doc__)
    (session if sys.argv[3] == "session" else drift)(sys.argv[1], sys.argv[2])
