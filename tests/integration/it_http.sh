#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_http.sh: vigild's HTTP server (agent/httpd/) from the outside, with
# curl and raw sockets: config errors name file, line and setting; tokens
# made by `vigil token add` (printed once, kept hashed, 0600); no token,
# a wrong one, a read token on an action, a tokens file others may write;
# failed logins rate-limited (429) and logged without the token; a bad
# request target, an oversize body, a slow client dropped, the connection
# limit; metrics_public; `vigil token remove` and a reload that changes
# the server; TLS from cert and key files.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
TOK=$T/tokens

write_conf() { # write_conf EXTRA-HTTP-SETTINGS
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  log_level = "debug"; };
http = { listen = "127.0.0.1:$PORT"; tokens_file = "$TOK"; $1 };
sources = ( { type = "process"; names = [ "vigilmark" ]; interval = "1s"; } );
CONF
	chmod 600 "$T/vigil.conf"
}

# code METHOD PATH [CURL-ARGS...]: the status of a request, body in $T/body.
code() {
	local m=$1 p=$2
	shift 2
	curl -s --path-as-is -o "$T/body" -w '%{http_code}' -X "$m" "$@" \
		"$URL$p" || true
}

# --- Config errors name the file, the line and the setting.
cat >"$T/bad.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
http = {
  listen = "localhost:99999";
  tls_cert = "/etc/cert.pem";
  restore_roots = [ "relative/dir" ];
};
CONF
run_rc rc "$VIGIL" -c "$T/bad.conf" config check
[ "$rc" -ne 0 ] || fail "a bad http group was accepted"
has "$T/err" "bad.conf:3: http.listen: \"localhost:99999\" is not ADDRESS:PORT"
has "$T/err" "bad.conf:4: http.tls_cert: needs tls_key as well"
has "$T/err" "bad.conf:5: http.restore_roots: \"relative/dir\" must be an absolute"
has "$T/err" "http.tokens_file: is needed"

# --- Tokens: printed once, kept hashed, the file private.
"$VIGIL" token add ops --role admin --file "$TOK" >"$T/admin.tok" 2>"$T/err" ||
	fail "token add: $(cat "$T/err")"
"$VIGIL" token add viewer --role read --file "$TOK" >"$T/read.tok" 2>/dev/null
ADMIN=$(cat "$T/admin.tok")
READ=$(cat "$T/read.tok")
[[ $ADMIN =~ ^vigil_[A-Za-z0-9_-]{43}$ ]] || fail "token looks like '$ADMIN'"
[ "$(stat -c %a "$TOK")" = 600 ] || fail "tokens file mode $(stat -c %a "$TOK")"
grep -qF "$ADMIN" "$TOK" && fail "the tokens file holds a token itself"
has "$TOK" "^ops admin sha256:[0-9a-f]{64}$"
run_rc rc "$VIGIL" token add ops --role read --file "$TOK"
[ "$rc" -ne 0 ] || fail "a second token named ops was made"
has "$T/err" "a token named ops exists"
"$VIGIL" token list --file "$TOK" >"$T/list"
has "$T/list" "^viewer +read$"

write_conf 'timeout = "2s"; max_body = "4K"; max_connections = 4;'
bash -c 'exec -a vigilmark sleep 600' &
PIDS+=($!)
start_vigild "$T/vigil.conf"
wait_for 10 curl -sf -o /dev/null -H "Authorization: Bearer $READ" "$URL/metrics" ||
	fail "no /metrics with the read token"

# --- Auth.
[ "$(code GET /metrics)" = 401 ] || fail "no token: $(cat "$T/body")"
has "$T/body" '^\{"error":"a token is needed'
[ "$(code GET /metrics -H "Authorization: Bearer vigil_${ADMIN:6:20}x")" = 401 ] ||
	fail "a wrong token was let in"
[ "$(code GET /metrics -H "Authorization: Bearer $READ")" = 200 ] || fail "read token refused"
has "$T/body" '^vigil_proc_count\{host="[^"]+",source="process",process="vigilmark"\} 1$'
has "$T/body" '^# TYPE vigil_proc_count gauge$'
has "$T/body" '^process_resident_memory_bytes\{host="[^"]+"\} [0-9]+'
[ "$(code POST /metrics -H "Authorization: Bearer $READ")" = 403 ] ||
	fail "a read token may POST: $(cat "$T/body")"
has "$T/body" 'needs an admin token'
[ "$(code POST /metrics -H "Authorization: Bearer $ADMIN")" = 405 ] ||
	fail "POST /metrics: $(cat "$T/body")"
[ "$(code GET /api/v1/nothing-here -H "Authorization: Bearer $READ")" = 404 ] ||
	fail "unknown path: $(cat "$T/body")"
has "$T/body" '^\{"error":'

# --- A bad target, an oversize body.
[ "$(code GET '/api/v1/../metrics' -H "Authorization: Bearer $READ")" = 400 ] ||
	fail "a .. segment was taken"
[ "$(code GET '/api/v1/%2e%2e/metrics' -H "Authorization: Bearer $READ")" = 400 ] ||
	fail "an encoded .. segment was taken"
[ "$(code GET '/metrics?a=%zz' -H "Authorization: Bearer $READ")" = 400 ] ||
	fail "a bad escape was taken"
head -c 5000 /dev/zero | tr '\0' x >"$T/big"
[ "$(code POST /api/v1/jobs/x/run -H "Authorization: Bearer $ADMIN" \
	--data-binary @"$T/big")" = 413 ] || fail "an oversize body: $(cat "$T/body")"

# --- A slow client is dropped after the timeout (2 s); others go on.
python3 - "$PORT" <<'PY' || fail "a slow client kept its connection"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")   # never finished
s.settimeout(10)
t = time.monotonic()
data = s.recv(100)  # b"" once the server closes
sys.exit(0 if time.monotonic() - t < 8 else 1)
PY

# --- The connection limit (4): a fifth is not served while four hang.
python3 - "$PORT" "$READ" <<'PY' || fail "connection limit"
import socket, sys, time, urllib.request
port, tok = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
for s in held:
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
time.sleep(0.3)
def get():
    r = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                               headers={"Authorization": "Bearer " + tok})
    return urllib.request.urlopen(r, timeout=1).status
try:
    get()
    sys.exit("a fifth connection was served")
except OSError:
    pass
for s in held:
    s.close()
time.sleep(0.5)
sys.exit(0 if get() == 200 else "not served after the four closed")
PY

# --- Failed logins: rate-limited per address, logged, the token never.
for i in 1 2 3 4 5; do
	code GET /metrics -H "Authorization: Bearer vigil_wrong$i" >/dev/null
done
[ "$(code GET /metrics -H "Authorization: Bearer vigil_wrong6")" = 429 ] ||
	fail "the sixth failure in a minute was not refused: $(cat "$T/body")"
[ "$(code GET /metrics -H "Authorization: Bearer $READ")" = 429 ] ||
	fail "a locked-out address was served"
has "$T/vigild.log" "http: GET /metrics from 127.0.0.1:[0-9]+: unknown token \([0-9] failed in the last minute\)"
for t in "$ADMIN" "$READ" vigil_wrong1; do
	grep -qF -- "$t" "$T/vigild.log" && fail "a token reached the log"
done

# --- A reload that changes the server (new port, metrics_public) restarts
# it; the lock-out goes with the old one.  A removed token is refused
# without a reload.
OLD=$PORT
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
write_conf 'metrics_public = true;'
kill -HUP "$VIGILD_PID"
wait_for 10 curl -sf -o /dev/null "$URL/metrics" || fail "no open /metrics after the reload"
curl -s -o /dev/null "http://127.0.0.1:$OLD/metrics" && fail "the old port still answers"
[ "$(code GET /api/v1/status)" = 401 ] || fail "metrics_public opened more than /metrics"
[ "$(code GET /metrics -H "Authorization: Bearer vigil_bad")" = 401 ] ||
	fail "a wrong token on a public /metrics was not refused"
"$VIGIL" token remove viewer --file "$TOK" 2>/dev/null
[ "$(code GET /api/v1/x -H "Authorization: Bearer $READ")" = 401 ] ||
	fail "a removed token still works"
[ "$(code GET /api/v1/x -H "Authorization: Bearer $ADMIN")" = 404 ] ||
	fail "the admin token stopped working"

# --- A tokens file others may write is not trusted at all.
chmod 666 "$TOK"
[ "$(code GET /api/v1/x -H "Authorization: Bearer $ADMIN")" = 401 ] ||
	fail "a world-writable tokens file was trusted"
has "$T/vigild.log" "tokens: .*others may change it"
chmod 600 "$TOK"

# --- TLS from cert and key files.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/key.pem" -out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 2>/dev/null || fail "openssl req"
chmod 600 "$T/key.pem"
write_conf "tls_cert = \"$T/cert.pem\"; tls_key = \"$T/key.pem\";"
kill -HUP "$VIGILD_PID"
wait_for 10 curl -sf -o /dev/null --cacert "$T/cert.pem" \
	-H "Authorization: Bearer $ADMIN" "https://127.0.0.1:$PORT/metrics" ||
	fail "no HTTPS after the reload"
curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" && fail "plain HTTP on the TLS port"
has "$T/vigild.log" "http: listening on 127.0.0.1:$PORT \(TLS\)"
echo "it_http: OK"
