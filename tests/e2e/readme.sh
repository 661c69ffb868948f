# readme.sh — the README's tour, command for command, on a fresh folder, so
# what the README shows keeps working (STYLE.md: the README is tested).
. "$(dirname "$0")/lib.sh"

README="$(cd "$(dirname "$0")/../.." && pwd)/README.md"
cd "$T" || exit 1
unset AIRLOCK_DB AIRLOCK_POLICY # the tour uses the defaults: ./airlock.db, ./airlock.yaml
expect 0 "airlock init" "$AIRLOCK" init
[ -f airlock.db ] && [ -f airlock.yaml ] && [ -f airlock.db.key ] && ok "init made the db, the policy and the key" || notok "init made the db, the policy and the key" "$(ls)"
expect 0 "airlock demo" "$AIRLOCK" demo
expect 0 "airlock policy check" "$AIRLOCK" policy check
expect 0 "airlock radius" "$AIRLOCK" radius
expect 0 "airlock token create" "$AIRLOCK" token create --connector write --agent scout
# the proposal file exactly as the README shows it
sed -n '/^```json$/,/^```$/p' "$README" | sed '1d;$d' >proposal.json
expect 0 "the README's proposal goes through the gate" "$AIRLOCK" propose proposal.json --as agent:scout
has "and is staged" "$T/out" "decision: staged \(batch 1\)"
expect 0 "airlock queue" "$AIRLOCK" queue
expect 0 "airlock show 1" "$AIRLOCK" show 1
has "the diff shows the change and its evidence" "$T/out" "tier: 3 → 2"
expect 0 "airlock sample 1 --as maria" "$AIRLOCK" sample 1 --as maria
expect 0 "airlock judge 1 1 pass --as maria" "$AIRLOCK" judge 1 1 pass --as maria
expect 0 "airlock apply 1 --as maria" "$AIRLOCK" apply 1 --as maria
expect 0 "airlock undo 1 --as maria" "$AIRLOCK" undo 1 --as maria
expect 0 "airlock log --batch 1" "$AIRLOCK" log --batch 1
expect 0 "airlock verify" "$AIRLOCK" verify
# every verb the README's help lists answers --help
for v in $("$AIRLOCK" help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
	expect 0 "airlock $v --help" "$AIRLOCK" "$v" --help
	# help does nothing: no verb reports work done after its usage text
	# (apply/undo once printed "batch 0 applied" and a garbage batch id)
	if grep -Eq '^(batch [0-9]+ (applied|undone)|undo with: )' "$T/out"; then
		notok "airlock $v --help does nothing" "$(grep -E '^(batch [0-9]+ (applied|undone)|undo with: )' "$T/out")"
	else
		ok "airlock $v --help does nothing"
	fi
done

# --version is the newest version in the changelog
newest=$(sed -n 's/^- \([0-9][0-9.]*\) — .*/\1/p' "$README" | tail -1)
expect 0 "airlock --version" "$AIRLOCK" --version
same "... says the changelog's newest version ($newest)" "$(cat "$T/out")" "airlock $newest"
