#!/usr/bin/env python3
"""crm_apply.py EXPORT.csv CHANGES_DIR OUT.csv — what a CRM's bulk update
does with an airlock change-set: each row of accounts.csv updates the row of
EXPORT with the same id (first column), non-empty cells only ("#N/A" clears
a value, as Data Loader reads it); a column EXPORT lacks is added; each
(survivor, merged) pair of merges.csv deletes the merged row."""
import csv, sys

src, cdir, out = sys.argv[1:4]
with open(src, newline='', encoding='utf-8-sig') as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
with open(cdir + '/accounts.csv', newline='') as f:
    ch = list(csv.reader(f))
chead = ch[0]
idcol = header.index(chead[0])
for c in chead[1:]:
    if c not in header:
        header.append(c)
        for r in body:
            r.append('')
byid = {r[idcol]: r for r in body}
for r in ch[1:]:
    target = byid[r[0]]
    for c, v in zip(chead[1:], r[1:]):
        if v == '':
            continue
        target[header.index(c)] = '' if v == '#N/A' else v
with open(cdir + '/merges.csv', newline='') as f:
    merged = {r[1] for r in list(csv.reader(f))[1:]}
with open(out, 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(header)
    for r in body:
        if r[idcol] not in merged:
            w.writerow(r)
