# reliability_console.sh — GET /api/reliability (issue 21): a reviewer sees
# their own seeded-check record and nobody else's (the curious colleague
# cannot read who misses checks); an admin sees everyone's; bounds and
# weight come with each record; the autonomy view counts left-out samples.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"
trap 'console_stop; rm -rf "$T"' EXIT

console_book 50 || { notok "the demo book and reviewers"; exit 1; }
sql "INSERT INTO reviewer_check(reviewer,workflow,seen,caught,missed,discounted,updated_at) VALUES
 ('human:alice','retier',20,19,1,0,'2026-11-01T00:00:00Z'),
 ('human:carol','retier',20,0,20,3,'2026-11-01T00:00:00Z')"
sed 's/^    defect_rate: 0.05 .*/&\n    min_catch_rate: 0.9/' "$AIRLOCK_POLICY" >"$T/p.yaml"
export AIRLOCK_POLICY="$T/p.yaml"
console_serve || { notok "serve starts" "$(cat "$T/serve.log")"; exit 1; }
ok "serve starts"
login() {
	curl -s -o /dev/null -c "$T/$1" -H 'Content-Type: application/json' \
		--data "{\"name\":\"$1\",\"password\":\"$1-password\"}" "$BASE/login"
}
login alice
login carol
curl -s -b "$T/alice" "$BASE/api/reliability" >"$T/a.json"
same "alice sees her own record only" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["scope"], [r["reviewer"] for r in d["records"]])' "$T/a.json")" \
	"own ['human:alice']"
hasnt "... and nothing of carol's" "$T/a.json" "carol"
same "her bound is the exact one (19 of 20 at 95%) and her verdicts count" \
	"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["records"][0]; print(round(r["catch_lower"],4), r["weight"])' "$T/a.json")" \
	"0.7839 1.0"
curl -s -b "$T/carol" "$BASE/api/reliability" >"$T/c.json"
same "the admin sees everyone's" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["scope"], [(r["reviewer"], r["weight"]) for r in d["records"]])' "$T/c.json")" \
	"everyone [('human:alice', 1.0), ('human:carol', 0.0)]"
curl -s -o /dev/null -w '%{http_code}' "$BASE/api/reliability" >"$T/anon"
same "no session, no records" "$(cat "$T/anon")" 401
curl -s -b "$T/carol" "$BASE/api/autonomy" >"$T/au.json"
same "the autonomy view counts the samples left out" \
	"$(python3 -c 'import json,sys; print([w["discounted_samples"] for w in json.load(open(sys.argv[1]))["workflows"] if w["workflow"]=="retier"])' "$T/au.json")" \
	"[3]"
