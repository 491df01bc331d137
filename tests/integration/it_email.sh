#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_email.sh: the "email" notifier against tests/fakes/smtp_server.py, an
# SMTP receiver that requires STARTTLS (a certificate made here with
# openssl) and AUTH.  A real vigild watches a process rule: the firing
# message arrives once, inside TLS, authenticated, to both recipients, with
# a Date, a Message-ID made of the notification id, a Subject saying
# state, rule, host and value, and the plain-text body.  Then the receiver
# is stopped: the recovery stays queued (retried) and, once the receiver is
# back, is delivered exactly once.  A 451 answer is retried too.  An
# smtps:// notifier speaks TLS from the first byte.  A second
# notifier points at a server that offers no STARTTLS: refused, nothing
# sent in clear (no AUTH, no MAIL).  The password is never in the log.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "openssl is not installed"
MARK="vigilmail$$"
PW="pw-$$-Secr3t"
export VIGIL_IT_SMTP_PW="$PW"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
	-out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
	fail "cannot make a test certificate"

# start_smtp NAME PORT [OPTION...]: the fake on PORT (0: any), its log in
# $T/NAME.mail, trace in $T/NAME.trace; sets SMTP_PID, SMTP_PORT.
start_smtp() {
	local name=$1 port=$2
	shift 2
	rm -f "$T/$name.port"
	python3 "$VIGIL_SRC/tests/fakes/smtp_server.py" --port "$port" \
		--port-file "$T/$name.port" --log "$T/$name.mail" \
		--trace "$T/$name.trace" --cert "$T/cert.pem" --key "$T/key.pem" \
		--user vigil-mailer --password "$PW" --mode-file "$T/$name.mode" \
		"$@" >>"$T/$name.out" 2>&1 &
	SMTP_PID=$!
	PIDS+=("$SMTP_PID")
	wait_for 20 test -s "$T/$name.port" || fail "smtp_server $name did not start"
	SMTP_PORT=$(cat "$T/$name.port")
}
start_smtp main 0
MAIN_PID=$SMTP_PID MAIN_PORT=$SMTP_PORT
start_smtp plain 0 --no-starttls
PLAIN_PORT=$SMTP_PORT
start_smtp implicit 0 --implicit-tls
IMPLICIT_PORT=$SMTP_PORT

printf '%s\n' "$PW" >"$T/smtp.pw"
chmod 600 "$T/smtp.pw"
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "mail-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "mail", "clear", "smtps" ]; }
);
notifiers = (
  { name = "mail"; type = "email"; url = "smtp://127.0.0.1:$MAIN_PORT";
    from = "vigil@mail-host.test";
    to = [ "ops@example.test", "oncall@example.test" ];
    username = "vigil-mailer"; password_file = "$T/smtp.pw";
    ca_file = "$T/cert.pem"; timeout = "5s"; connect_timeout = "2s"; },
  { name = "clear"; type = "email"; url = "smtp://127.0.0.1:$PLAIN_PORT";
    from = "vigil@mail-host.test"; to = "ops@example.test";
    username = "vigil-mailer"; password_file = "$T/smtp.pw";
    ca_file = "$T/cert.pem"; timeout = "5s"; },
  { name = "smtps"; type = "email"; url = "smtps://127.0.0.1:$IMPLICIT_PORT";
    from = "vigil@mail-host.test"; to = "tls@example.test";
    username = "vigil-mailer"; password_env = "VIGIL_IT_SMTP_PW";
    ca_file = "$T/cert.pem"; timeout = "5s"; }
);
CONF
"$VIGIL" -c "$T/vigil.conf" config check >/dev/null ||
	fail "config check rejected the test config"

# mails FILE [STATE]: how many messages FILE holds (with that subject).
mails() {
	python3 - "$T/$1.mail" "${2:-}" <<'PY'
import json, os, sys
n = 0
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        subj = [l for l in json.loads(line)["data"].split("\r\n")
                if l.startswith("Subject: ")]
        n += subj[0].startswith("Subject: " + sys.argv[2])
print(n)
PY
}
# at_least N FILE [STATE]: mails FILE [STATE] is N or more.
at_least() { [ "$(mails "$2" "${3:-}")" -ge "$1" ]; }
# check LINE STATE: the LINE-th message of main.mail is right.
check() {
	python3 - "$T/main.mail" "$@" "$MARK" "$T/vigild.log" <<'PY' || fail "message $1 is wrong"
import email, email.policy, json, re, sys
path, line, state, mark, log = sys.argv[1:]
rec = json.loads(open(path).readlines()[int(line) - 1])
assert rec["tls"] is True and rec["user"] == "vigil-mailer", rec
assert rec["from"] == "vigil@mail-host.test", rec
assert rec["rcpt"] == ["ops@example.test", "oncall@example.test"], rec
data = rec["data"]
assert "\n" not in data.replace("\r\n", ""), "bare LF"
assert all(len(l) <= 998 for l in data.split("\r\n"))
m = email.message_from_string(data, policy=email.policy.default)
assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"\d{4} \d\d:\d\d:\d\d \+0000", m["Date"]), m["Date"]
assert m["From"] == "vigil@mail-host.test", m["From"]
assert m["To"] == "ops@example.test, oncall@example.test", m["To"]
head = "RECOVERED" if state == "OK" else state
want = "%s: marker-running on mail-host: proc.%s.count = " % (head, mark)
assert m["Subject"].startswith(want), (m["Subject"], want)
# The Message-ID is the notification id the sender delivered.
mid = re.fullmatch(r"<([^@>]+)@mail-host>", m["Message-ID"])
assert mid, m["Message-ID"]
ids = re.findall(r"email\[mail\]: message (\S+): SMTP 250", open(log).read())
assert mid.group(1) in ids, (mid.group(1), ids)
assert m["X-Vigil-Id"] == mid.group(1)
assert m.get_content_type() == "text/plain"
assert m.get_content_charset() == "utf-8"
assert m["MIME-Version"] == "1.0"
body = m.get_content().replace("\r\n", "\n")
assert body.startswith(want), body
for l in ("Rule: marker-running", "Host: mail-host",
          "Metric: proc.%s.count" % mark, "Threshold: >= 1", "Since: ",
          "Id: " + mid.group(1)):
    assert "\n" + l in body, (l, body)
assert ("\nValue: 1\n" if state != "OK" else "\nValue: 0\n") in body, body
print(mid.group(1))
PY
}

start_vigild "$T/vigil.conf"

# 1. Firing: one message, right in every part.
start_marker "$MARK"
wait_for 30 at_least 1 main CRITICAL || fail "no CRITICAL mail"
ID1=$(check 1 CRITICAL)
# Sent inside TLS: STARTTLS first, AUTH and MAIL only after it.
has "$T/main.trace" "^CLEAR STARTTLS$"
grep -Eq "^CLEAR (AUTH|MAIL|RCPT|DATA)" "$T/main.trace" &&
	fail "sent in clear: $(cat "$T/main.trace")"
has "$T/main.trace" "^TLS AUTH (PLAIN|LOGIN)"

# smtps://: TLS from the first byte, authenticated.
wait_for 20 at_least 1 implicit CRITICAL || fail "no mail over smtps://"
python3 - "$T/implicit.mail" <<'PY' || fail "the smtps:// mail is wrong"
import json, sys
rec = json.loads(open(sys.argv[1]).readline())
assert rec["tls"] and rec["user"] == "vigil-mailer", rec
assert rec["rcpt"] == ["tls@example.test"], rec
PY
grep -q "^CLEAR" "$T/implicit.trace" && fail "smtps:// spoke in clear"

# 2. The receiver without STARTTLS: refused, nothing in clear.
wait_for 20 grep -q "clear: delivery refused (.*STARTTLS" "$T/vigild.log" ||
	fail "no refusal for the server without STARTTLS"
[ "$(mails plain)" = 0 ] || fail "a message went to the server without STARTTLS"
grep -Eq "AUTH|MAIL|RCPT" "$T/plain.trace" &&
	fail "credentials or mail sent in clear: $(cat "$T/plain.trace")"

# 3. The receiver stops: the recovery is kept and retried, then delivered
# once when it is back.
kill "$MAIN_PID"
wait "$MAIN_PID" 2>/dev/null || true
kill "$MARKER_PID"
wait_for 30 grep -q "mail: delivery failed (.*), will retry: RECOVERED" \
	"$T/vigild.log" || fail "the recovery was not retried"
sleep 3
[ "$(mails main RECOVERED)" = 0 ] || fail "delivered while the receiver was down?"
start_smtp main "$MAIN_PORT"
wait_for 40 at_least 1 main RECOVERED ||
	fail "the recovery was not delivered once the receiver was back"
ID2=$(check 2 OK)
[ "$ID1" != "$ID2" ] || fail "two notifications with one id"

# 4. A 451 answer is retried; once the server takes mail, delivered once.
echo 451 >"$T/main.mode"
start_marker "$MARK"
wait_for 30 grep -q "mail: delivery failed (SMTP 451: 451 4.3.0 try again later), will retry: CRITICAL" \
	"$T/vigild.log" || fail "no retry after 451"
echo ok >"$T/main.mode"
wait_for 40 at_least 2 main CRITICAL || fail "not delivered after 451"
sleep 3
[ "$(mails main)" = 3 ] || fail "want 3 messages, have $(mails main)"
check 3 CRITICAL >/dev/null

# 5. The password is in no log line.
grep -qF -- "$PW" "$T/vigild.log" && fail "the password is in the log"
grep -qF -- "$(printf '\0vigil-mailer\0%s' "$PW" | base64)" "$T/vigild.log" &&
	fail "the AUTH PLAIN response is in the log"
echo "PASS"
