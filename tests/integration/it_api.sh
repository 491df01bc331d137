#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_api.sh: the JSON API (docs/API.md) of a running vigild, with curl:
# every endpoint with a read token (status, sources, readings, series,
# history, rules with a rule made to fire, notifications, jobs), a backup
# run now with the admin token, its backups and files (paged), a restore
# of one file into a restore root with the bytes checked, its progress and
# result; auth (no token, a wrong token, a read token on each action) and
# bad input (unknown paths and parameters, wrong methods, bad JSON, ".."
# in paths and targets, a target outside the restore roots, a symlink in a
# root pointing out: nothing written outside).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
TOK=$T/tokens
mkdir -p "$T/src/etc" "$T/roots/r" "$T/outside"
printf 'hello from the backup\n' >"$T/src/etc/motd"
for i in $(seq 1 30); do echo "file $i" >"$T/src/f$i"; done
ln -s "$T/outside" "$T/roots/r/evil"

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  hostname = "api-it"; log_level = "debug"; };
http = { listen = "127.0.0.1:$PORT"; tokens_file = "$TOK";
  restore_roots = [ "$T/roots/r" ]; };
sources = ( { type = "load"; name = "ld"; interval = "1s"; } );
rules = ( { name = "always"; metric = "load.1"; warn = -1.0;
  notify = [ "log" ]; } );
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = ( { name = "files"; paths = [ "$T/src" ]; storage = "here";
  key_file = "$T/backup.key"; create_key = true; } );
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" token add ops --role admin --file "$TOK" >"$T/admin.tok" 2>/dev/null
"$VIGIL" token add viewer --role read --file "$TOK" >"$T/read.tok" 2>/dev/null
ADMIN=$(cat "$T/admin.tok")
READ=$(cat "$T/read.tok")
start_vigild "$T/vigil.conf"

# code METHOD PATH TOKEN [CURL-ARGS...]: the status; the body in $T/body.
code() {
	local m=$1 p=$2 t=$3
	shift 3
	curl -s --path-as-is -o "$T/body" -w '%{http_code}' -X "$m" \
		${t:+-H "Authorization: Bearer $t"} "$@" "$URL$p" || true
}
# get PATH: GET with the read token, which must be 200; the body on stdout.
get() {
	local c
	c=$(code GET "$1" "$READ")
	[ "$c" = 200 ] || fail "GET $1: $c $(cat "$T/body")"
	cat "$T/body"
}
# q FILTER: jq on $T/body, which must hold (-e).
q() { jq -e "$1" "$T/body" >/dev/null || fail "$1 does not hold for $(cat "$T/body")"; }
# err STATUS METHOD PATH TOKEN TEXT [CURL-ARGS...]: a JSON error.
err() {
	local want=$1 m=$2 p=$3 t=$4 text=$5 c
	shift 5
	c=$(code "$m" "$p" "$t" "$@")
	[ "$c" = "$want" ] || fail "$m $p: $c, not $want: $(cat "$T/body")"
	jq -e --arg t "$text" '(keys == ["error"]) and (.error | contains($t))' \
		"$T/body" >/dev/null || fail "$m $p: the error is $(cat "$T/body"), not '$text'"
}

wait_for 10 curl -sf -o /dev/null -H "Authorization: Bearer $READ" "$URL/api/v1/status" ||
	fail "no /api/v1/status"

# --- The scheduler's state.
get /api/v1/status >/dev/null
q '.host == "api-it" and .pid > 0 and .sources == 1 and .rules == 1 and .jobs == 1'
q '.queue.depth >= 0 and (.queue.per_notifier | has("log"))'
wait_for 10 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL/api/v1/readings?source=ld | jq -e '.readings | length >= 6' >/dev/null" ||
	fail "no readings of ld"
get /api/v1/sources >/dev/null
q '.sources[0].name == "ld" and .sources[0].type == "load" and .sources[0].readings >= 6'
get '/api/v1/readings?source=ld&match=load.1' >/dev/null
q '.readings | length == 1 and .[0].name == "load.1" and .[0].labels == {} and (.[0].value | type == "number")'
wait_for 10 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL/api/v1/rules | jq -e '.rules[0].firing' >/dev/null" ||
	fail "the rule did not fire"
get /api/v1/rules >/dev/null
q '.rules[0] | .rule == "always" and .state == "WARNING" and .severity == "warning" and (.since | type == "string")'
wait_for 10 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL/api/v1/notifications | jq -e '.recent | length >= 1' >/dev/null" ||
	fail "no settled notification"
get /api/v1/notifications >/dev/null
q '.recent[0] | .rule == "always" and .notifier == "log" and .result == "delivered" and .state == "WARNING"'
q '.queue.sent >= 1'
get /api/v1/jobs >/dev/null
q '.jobs[0] | .name == "files" and .running == false and .next_run == null'
# The history: kept with an http group.
get '/api/v1/series?match=load.*' >/dev/null
q '.series | index("load.1") != null'
get '/api/v1/history?series=load.1&from=-5m&step=10s' >/dev/null
q '.series == "load.1" and .step_ms == 10000 and (.points | length >= 1) and (.points[0] | length == 2)'
get /api/v1/status >/dev/null
q '.history.series >= 6 and .history.bytes > 0'
err 404 GET '/api/v1/history?series=nope' "$READ" 'no history'
err 400 GET '/api/v1/history?series=load.1&from=now' "$READ" 'before'

# --- Auth: no token, a wrong one, a read token on each action.
err 401 GET /api/v1/status "" "token"
err 401 GET /api/v1/status "vigil_${ADMIN:6:20}x" ""
err 401 GET /api/v1/jobs/files/backups "" "token"
err 403 POST /api/v1/jobs/files/run "$READ" "admin"
err 403 POST /api/v1/restores "$READ" "admin" \
	--data "{\"job\":\"files\",\"id\":\"latest\",\"target\":\"$T/roots/r/x\"}"

# --- Strict input.
err 404 GET /api/v1/nothing "$READ" "no such"
err 405 POST /api/v1/status "$ADMIN" "GET"
err 405 GET /api/v1/jobs/files/run "$READ" "POST"
err 400 GET '/api/v1/readings?sauce=ld' "$READ" "unknown parameter"
err 404 GET '/api/v1/readings?source=nope' "$READ" "no source"
err 404 POST /api/v1/jobs/nope/run "$ADMIN" "no backup job"

# --- A backup now; again while it runs: 409 (or it was that quick).
[ "$(code POST /api/v1/jobs/files/run "$ADMIN")" = 202 ] || fail "run: $(cat "$T/body")"
q '.ok == true'
c=$(code POST /api/v1/jobs/files/run "$ADMIN")
[ "$c" = 409 ] || [ "$c" = 202 ] || fail "run again: $c $(cat "$T/body")"
wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL/api/v1/jobs | jq -e '.jobs[0].last_success and (.jobs[0].running | not)' >/dev/null" ||
	fail "the backup did not end well: $(get /api/v1/jobs)"

# --- Its backups and files.
get /api/v1/jobs/files/backups >/dev/null
q '.backups | length >= 1 and (.[0].complete) and .[0].bytes > 0'
ID=$(jq -r '.backups[0].id' "$T/body")
REL=${T#/}/src
get "/api/v1/jobs/files/backups/$ID/files?dir=$REL" >/dev/null
q '.entries | length == 31 and (map(.path) | index("'"$REL"'/etc") != null)'
get "/api/v1/jobs/files/backups/latest/files?dir=$REL&limit=10" >/dev/null
q '.entries | length == 10'
NEXT=$(jq -r .next "$T/body")
get "/api/v1/jobs/files/backups/latest/files?dir=$REL&limit=30&cursor=$NEXT" >/dev/null
q '.entries | length == 21 and .[0].path != null'
q '.next == null'
get "/api/v1/jobs/files/backups/latest/files?q=MOTD" >/dev/null
q '.entries | length == 1 and .[0].type == "file" and .[0].size == 22'
err 400 GET "/api/v1/jobs/files/backups/latest/files?dir=a/../b" "$READ" '..'
err 400 GET "/api/v1/jobs/files/backups/latest/files?limit=5000" "$READ" 'limit'
err 404 GET "/api/v1/jobs/files/backups/1999/files" "$READ" 'no backup'

# --- Restores refused.
R=/api/v1/restores
err 400 POST $R "$ADMIN" "not JSON" --data '{"job":'
err 400 POST $R "$ADMIN" "unknown member" --data '{"job":"files","id":"latest","target":"/x","x":1}'
err 400 POST $R "$ADMIN" '..' \
	--data "{\"job\":\"files\",\"id\":\"latest\",\"target\":\"$T/roots/r/x\",\"paths\":[\"../etc\"]}"
err 400 POST $R "$ADMIN" '..' \
	--data "{\"job\":\"files\",\"id\":\"latest\",\"target\":\"$T/roots/r/../../outside\"}"
err 403 POST $R "$ADMIN" 'not below a restore root' \
	--data "{\"job\":\"files\",\"id\":\"latest\",\"target\":\"$T/outside\"}"
err 403 POST $R "$ADMIN" 'symlink' \
	--data "{\"job\":\"files\",\"id\":\"latest\",\"target\":\"$T/roots/r/evil/x\"}"
[ -z "$(ls -A "$T/outside")" ] || fail "something was written outside the root"
err 404 GET $R/nope "$READ" 'no restore'
err 405 GET $R "$READ" 'POST'

# --- A restore of one file; its progress and result; the bytes.
[ "$(code POST $R "$ADMIN" --data "{\"job\":\"files\",\"id\":\"$ID\",\"paths\":[\"$REL/etc/motd\"],\"target\":\"$T/roots/r/got\"}")" = 202 ] ||
	fail "restore: $(cat "$T/body")"
RID=$(jq -r .restore "$T/body")
wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL$R/$RID | jq -e '.state != \"running\"' >/dev/null" ||
	fail "the restore did not end"
get "$R/$RID" >/dev/null
q '.state == "done" and .error == null and .files == 1 and .written == 22'
q '.bytes == .bytes_total and .bytes < 10000'
cmp "$T/src/etc/motd" "$T/roots/r/got/$REL/etc/motd" || fail "restored bytes differ"
# No overwrite unless asked: a file changed since is kept.
echo mine >"$T/roots/r/got/$REL/etc/motd"
[ "$(code POST $R "$ADMIN" --data "{\"job\":\"files\",\"id\":\"latest\",\"paths\":[\"$REL/etc\"],\"target\":\"$T/roots/r/got\"}")" = 202 ] ||
	fail "restore 2: $(cat "$T/body")"
RID=$(jq -r .restore "$T/body")
wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $READ' $URL$R/$RID | jq -e '.state != \"running\"' >/dev/null" ||
	fail "restore 2 did not end"
get "$R/$RID" >/dev/null
q '.state == "done" and .kept == 1'
[ "$(cat "$T/roots/r/got/$REL/etc/motd")" = mine ] || fail "a file was overwritten"
has "$T/vigild.log" "web restore .* by ops from 127.0.0.1"
for t in "$ADMIN" "$READ"; do
	grep -qF -- "$t" "$T/vigild.log" && fail "a token reached the log"
done
echo "it_api: OK"
