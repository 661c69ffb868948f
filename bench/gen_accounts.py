#!/usr/bin/env python3
"""gen_accounts.py N [SEED] [--table|--salesforce] — writes a deterministic accounts CSV of
N rows to stdout, in the column layout `airlock export accounts` uses, for
the import benchmark. Ids look like Salesforce ids and come in creation
order, as a CRM export gives them; names, domains and owners vary like a
real book's. With --table the same rows come as every column of airlock's
account table (no header; flags 0/1), for loading it with sqlite3 .import.
With --salesforce they come as a Salesforce accounts report writes them:
its column names, every value quoted, Type picklist values, countries,
"$1,234,567.89" revenues and "12,000" employee counts, for `--map
salesforce`, whose value mapping the benchmark measures."""
import random
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
table = "--table" in sys.argv
sf = "--salesforce" in sys.argv
SF_TYPE = {"prospect": "Prospect", "customer": "Customer - Direct",
           "former_customer": "Former Customer", "partner": "Channel Partner / Reseller",
           "competitor": "Competitor"}
COUNTRY = {"NA": ["United States", "US", "Canada"], "EMEA": ["Germany", "France", "GBR",
           "United Kingdom", "Netherlands"], "APAC": ["Japan", "Australia", "IN", "Singapore"],
           "LATAM": ["Brazil", "Mexico", "Argentina"]}
n = int(args[0])
rng = random.Random(int(args[1]) if len(args) > 1 else 1)
SYL = ["ac", "bel", "cor", "dyn", "ex", "fin", "gal", "hex", "io", "jun", "kin",
       "lum", "mar", "nov", "orb", "pax", "qua", "ry", "sol", "tek", "ul", "vex",
       "wav", "xen", "yor", "zen"]
SUFFIX = ["Inc", "Ltd", "GmbH", "Labs", "Systems", "Group", "Technologies", "SA", "Co"]
SEG = ["smb", "mid-market", "enterprise"]
REG = ["NA", "EMEA", "APAC", "LATAM"]
IND = ["Software", "Financial Services", "Healthcare", "Manufacturing", "Retail",
       "Education", "Logistics", "Media, Entertainment", "Energy", "Telecom"]
OWN = ["Ana Ruiz", "Ben Okafor", "Chloé Martin", "Dev Patel", "Emma Schmidt",
       "Farid Haddad", "Grace Lee", "Hiro Tanaka", "Ines Costa", "Jonas Berg"]
LIFE = ["prospect"] * 6 + ["customer"] * 3 + ["former_customer", "partner", "competitor"]
out = sys.stdout
if sf:
    out.write('"Account Owner","Account Name","Type","Billing Country/Region","Account ID",'
              '"Annual Revenue","Number of Employees","Industry","Website"\r\n')
elif not table:
    out.write("id,name,domain,segment,region,industry,owner,tier,lifecycle,"
              "do_not_contact,arr,employees\r\n")
for i in range(n):
    word = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 4)))
    name = word.capitalize() + " " + rng.choice(SUFFIX)
    if rng.random() < 0.05:
        name = '"' + name + ', ' + word.upper() + '"'
    domain = "%s%d.%s" % (word, i % 97, rng.choice(["com", "io", "de", "co.uk", "fr"]))
    ind = rng.choice(IND)
    if "," in ind:
        ind = '"' + ind + '"'
    emp = rng.randint(5, 200000)
    arr = "%.2f" % (emp * rng.uniform(50, 400)) if rng.random() < 0.7 else ""
    dnc = rng.random() < 0.03
    if sf:
        q = lambda v: '"' + v.strip('"') + '"'
        life, reg = rng.choice(LIFE), rng.choice(REG)
        rev = "${:,.2f}".format(float(arr)) if arr else ""
        out.write(",".join(q(v) for v in (
            rng.choice(OWN), name, SF_TYPE[life], rng.choice(COUNTRY[reg]), "001%015d" % (i + 1),
            rev, "{:,}".format(emp), ind, domain)) + "\r\n")
        continue
    row = "001%015d,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%d" % (
        i + 1, name, domain, rng.choice(SEG), rng.choice(REG), ind, rng.choice(OWN),
        rng.randint(1, 4), rng.choice(LIFE), ("1" if dnc else "0") if table else
        ("true" if dnc else "false"), arr, emp)
    if table:  # custom, merged_into, version, updated_at
        row += ",{},,1,2026-01-01T00:00:00Z"
    out.write(row + "\r\n")
