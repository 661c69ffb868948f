#!/usr/bin/env python3
"""crm_property.py SEED AIRLOCK WORKDIR — the change-set property for one
random book: import a random Salesforce-format export, apply random
batches (some undone, some merges), `export changes`, let a CRM apply the
change-set to its export (crm_apply.py), import that into a fresh
database: its book must equal airlock's. Prints one TAP-ish line per
failure and exits 1 on a difference."""
import csv, json, os, random, subprocess, sys

seed, airlock, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rnd = random.Random(seed)
os.makedirs(work, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
         "Technology Partner", "prospect"]
COUNTRIES = ["Germany", "US", "JPN", "Brazil", "France", "United Kingdom", "India", "Mexico"]
INDUSTRIES = ["Technology", "Retail", "Media", "Banking", "Energy"]


def run(db, *args, ok=True):
    r = subprocess.run([airlock, "--db", db] + list(args), capture_output=True, text=True)
    if ok and r.returncode != 0:
        sys.exit("# %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


def dump(db):
    q = ("SELECT id,name,domain,industry,owner,tier,lifecycle,arr,employees,custom FROM account"
         " WHERE merged_into IS NULL ORDER BY id")
    return subprocess.run(["sqlite3", db, q], capture_output=True, text=True).stdout


db = os.path.join(work, "a.db")
for f in (db, db + "-wal", db + "-shm"):
    if os.path.exists(f):
        os.remove(f)
run(db, "init")
n = rnd.randint(8, 25)
ids = ["001%02dSEED%dAAA" % (i, seed) for i in range(n)]
src = os.path.join(work, "export.csv")
with open(src, "w", newline="") as f:
    w = csv.writer(f, quoting=csv.QUOTE_ALL)
    w.writerow(["Account Owner", "Account Name", "Type", "Billing Country/Region", "Account ID",
                "Annual Revenue", "Number of Employees", "Industry", "Website", "Rating"])
    for i, rid in enumerate(ids):
        w.writerow([rnd.choice(["Dana Wu", "Eli Roy"]), "Company %d, Inc." % i, rnd.choice(TYPES),
                    rnd.choice(COUNTRIES), rid, "{:,}".format(rnd.randint(1, 900) * 1000),
                    str(rnd.randint(1, 5000)), rnd.choice(INDUSTRIES), "c%d.com" % i,
                    rnd.choice(["Hot", "Cold", ""])])
run(db, "import", "accounts", src, "--map", "salesforce")
region = {}
for line in subprocess.run(["sqlite3", db, "SELECT id,region FROM account"], capture_output=True,
                           text=True).stdout.split():
    k, v = line.split("|")
    region[k] = v
batches = []
for b in range(rnd.randint(2, 6)):
    live = [i for i in ids if i not in sum([m for m in batches if isinstance(m, list)], [])]
    if rnd.random() < 0.2 and len(live) > 3:
        s, m = rnd.sample(live, 2)
        if region[s] != region[m]:
            continue
        prop = {"survivor_id": s, "merged_ids": [m], "rationale": "dupes"}
        tool = ["--tool", "propose_merge"]
    else:
        reg = rnd.choice(sorted(set(region.values())))
        pick = [i for i in live if region[i] == reg]
        items = []
        for rid in rnd.sample(pick, min(len(pick), rnd.randint(1, 4))):
            field = rnd.choice(["tier", "industry", "lifecycle", "owner", "employees", "custom.Rating"])
            value = {"tier": rnd.randint(1, 4), "industry": rnd.choice(INDUSTRIES),
                     "lifecycle": rnd.choice(["prospect", "partner", "competitor"]),
                     "owner": rnd.choice(["Gil Park", "Hana Ito"]),
                     "employees": rnd.randint(1, 9000),
                     "custom.Rating": rnd.choice(["Hot", "Warm"])}[field]
            items.append({"record_id": rid, "field": field, "value": value, "reason": "r"})
        prop = {"workflow": "w", "scope": "region=" + reg, "rationale": "r", "items": items}
        tool = []
    p = os.path.join(work, "p.json")
    json.dump(prop, open(p, "w"))
    if run(db, "propose", p, "--as", "agent:scout", *tool, ok=False).returncode != 0:
        continue
    bid = subprocess.run(["sqlite3", db, "SELECT max(id) FROM batch"], capture_output=True,
                         text=True).stdout.strip()
    q = lambda sql: subprocess.run(["sqlite3", db, sql], capture_output=True, text=True).stdout.split()
    if q("SELECT state FROM batch WHERE id=" + bid) == ["staged"]:
        run(db, "sample", bid, "--as", "maria", ok=False)
        for it in q("SELECT idx FROM batch_item WHERE batch_id=%s AND sampled=1" % bid):
            run(db, "judge", bid, it, "pass", "--as", "maria", ok=False)
    run(db, "approve", bid, "--as", "maria", ok=False)
    if run(db, "apply", bid, "--as", "maria", ok=False).returncode != 0:
        continue
    if "merged_ids" in prop:
        batches.append(prop["merged_ids"])
    if rnd.random() < 0.3:
        run(db, "undo", bid, "--as", "maria", ok=False)
        if "merged_ids" in prop:
            batches.pop()
cs = os.path.join(work, "cs")
run(db, "export", "changes", "-o", cs)
after = os.path.join(work, "after.csv")
subprocess.run([sys.executable, os.path.join(here, "crm_apply.py"), src, cs, after], check=True)
db2 = os.path.join(work, "b.db")
for f in (db2, db2 + "-wal", db2 + "-shm"):
    if os.path.exists(f):
        os.remove(f)
run(db2, "init")
run(db2, "import", "accounts", after, "--map", "salesforce")
a, b = dump(db), dump(db2)
applied = subprocess.run(["sqlite3", db, "SELECT count(*) FROM batch WHERE state IN ('applied','undone')"],
                         capture_output=True, text=True).stdout.strip()
if a != b:
    print("# seed %d: airlock's book\n# %s\n# the CRM after the change-set\n# %s" %
          (seed, a.replace("\n", "\n# "), b.replace("\n", "\n# ")))
    sys.exit(1)
print("# seed %d: %d accounts, %s batches applied or undone" % (seed, n, applied))
