#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_azure_entra.sh: backups to Azure Blob storage with Microsoft Entra ID
# bearer tokens, against Azurite, which takes bearer tokens only over HTTPS
# ("--oauth basic" with --cert/--key): a self-signed certificate for
# 127.0.0.1 is made here with openssl and given to vigil as the target's
# ca_file.  Tokens come from a fake Entra ID token endpoint
# (tests/fakes/entra_server.py, client-credentials grant with a client
# secret) at authority_host, as JWTs of the shape Azurite checks (issuer,
# audience, lifetime).  The target has no account key or SAS, so every
# request Azurite accepts carried the bearer token (its debug log says the
# token was validated).  backup -> list -> verify -> full restore byte for
# byte, with the configuration's client secret; list with the
# environment's (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
# AZURE_AUTHORITY_HOST).  Refused, each with a clear sentence and no
# secret: the endpoint without ca_file (the certificate is not trusted), a
# wrong client secret (Entra's invalid_client), a token for another
# audience (Azurite's AuthenticationFailed).
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "no openssl command"
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# --- A certificate for 127.0.0.1, Azurite over HTTPS with OAuth --------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls.key" \
	-out "$T/tls.crt" 2>"$T/err" || fail "openssl req: $(cat "$T/err")"
start_azurite --cert "$T/tls.crt" --key "$T/tls.key" --oauth basic \
	--debug "$T/azurite-debug.log"
EP="https://127.0.0.1:$AZ_PORT/$AZ_ACCT"
SSL_CERT_FILE="$T/tls.crt" python3 "$VIGIL_SRC/tests/integration/azure_rest.py" \
	"$EP" "$AZ_ACCT" "$AZ_KEY" mkcontainer vigil ||
	fail "cannot make the container over HTTPS: $(cat "$T/azurite.log")"

# --- The fake Entra ID token endpoint --------------------------------------
CLIENT=6f1e2d3c-0000-4000-8000-00000000v1g1
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
head -c 24 /dev/urandom | base64 >"$T/client.secret"
chmod 600 "$T/client.secret"
python3 "$VIGIL_SRC/tests/fakes/entra_server.py" --client-id "$CLIENT" \
	--secret-file "$T/client.secret" --port-file "$T/entra.port" \
	--log "$T/entra.log" 2>"$T/entra.err" &
PIDS+=($!)
wait_for 10 test -s "$T/entra.port" || fail "the fake Entra ID did not start: $(cat "$T/entra.err")"
AUTH="http://127.0.0.1:$(cat "$T/entra.port")"

# --- Source, key, config ------------------------------------------------------
S="$T/src"
mkdir -p "$S/d"
head -c 1500000 /dev/urandom >"$S/d/big.bin"
printf 'entra\n' >"$S/small.txt"
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"
printf 'not-the-secret\n' >"$T/wrong.secret"
chmod 600 "$T/wrong.secret"

# conf CREDENTIAL-SETTINGS [CA]: $T/vigil.conf for the HTTPS endpoint.
conf() {
	local ca=""
	[ "${2:-ca}" = ca ] && ca="ca_file = \"$T/tls.crt\";"
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "azure"; account = "$AZ_ACCT"; container = "vigil";
  endpoint = "$EP"; $ca $1 }; };
backups = ( { name = "az"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; slice_size = "256KiB"; } );
CONF
	chmod 600 "$T/vigil.conf"
}
SECRET_CONF="tenant_id = \"$TENANT\"; client_id = \"$CLIENT\";
  client_secret_file = \"$T/client.secret\"; authority_host = \"$AUTH\";"
conf "$SECRET_CONF"
V config check >/dev/null 2>"$T/err" || fail "config check: $(cat "$T/err")"

# --- backup, list, verify, restore with the configuration's client secret --
V backup run az >"$T/out" 2>"$T/err" || fail "backup run with Entra ID: $(cat "$T/err")"
grep -q "^$TENANT $CLIENT 200\$" "$T/entra.log" ||
	fail "no token was granted: $(cat "$T/entra.log" 2>/dev/null)"
V backup list az >"$T/list" 2>"$T/err" || fail "backup list: $(cat "$T/err")"
ID=$(awk '$NF == "complete" { print $1 }' "$T/list" | tail -n 1)
[ -n "$ID" ] || fail "no complete backup listed: $(cat "$T/list")"
V backup verify "$ID" >"$T/out" 2>"$T/err" || fail "verify: $(cat "$T/err")"
V restore az/latest --to "$T/full" >/dev/null 2>"$T/err" || fail "restore: $(cat "$T/err")"
diff -r "$S" "$T/full/$REL" || fail "restored tree differs"
grep -q 'BlobTokenAuthenticator:authenticateBasic() Validation against token authentication successfully' \
	"$T/azurite-debug.log" || fail "Azurite validated no bearer token"
# One SharedKey request: azure_rest.py making the container.
[ "$(grep -c 'BlobSharedKeyAuthenticator:validate() Signature 1 matched' "$T/azurite-debug.log")" = 1 ] ||
	fail "SharedKey requests besides the container set-up"

# --- The environment's client secret (no credential in the config) ---------
conf ""
: >"$T/entra.log"
env AZURE_TENANT_ID="$TENANT" AZURE_CLIENT_ID="$CLIENT" \
	AZURE_CLIENT_SECRET="$(cat "$T/client.secret")" AZURE_AUTHORITY_HOST="$AUTH" \
	"$VIGIL" -c "$T/vigil.conf" backup list az >"$T/list" 2>"$T/err" ||
	fail "backup list with the environment's client secret: $(cat "$T/err")"
grep -q "^$ID " "$T/list" || fail "environment: $ID not listed: $(cat "$T/list")"
grep -q "^$TENANT $CLIENT 200\$" "$T/entra.log" || fail "environment: no token granted"

# --- Refusals -----------------------------------------------------------------
# Without ca_file the self-signed certificate is not trusted.
conf "$SECRET_CONF" noca
if V backup list az >/dev/null 2>"$T/err"; then fail "an untrusted certificate was accepted"; fi
grep -qi 'certificate' "$T/err" || fail "no ca_file: no certificate error: $(cat "$T/err")"

# A wrong client secret: Entra's invalid_client, without the secret.
conf "tenant_id = \"$TENANT\"; client_id = \"$CLIENT\";
  client_secret_file = \"$T/wrong.secret\"; authority_host = \"$AUTH\";"
if V backup list az >/dev/null 2>"$T/err"; then fail "a wrong client secret was accepted"; fi
grep -q 'invalid_client' "$T/err" || fail "wrong secret: no invalid_client: $(cat "$T/err")"
grep -q 'not-the-secret' "$T/err" && fail "the client secret is in the message"

# A token for another audience: Azurite refuses it.
conf "tenant_id = \"wrong-audience\"; client_id = \"$CLIENT\";
  client_secret_file = \"$T/client.secret\"; authority_host = \"$AUTH\";"
if V backup list az >/dev/null 2>"$T/err"; then fail "a token for another audience was accepted"; fi
grep -q 'refused the Entra ID token of the configuration (AuthenticationFailed)' "$T/err" ||
	fail "wrong audience: no clear sentence: $(cat "$T/err")"
grep -q 'Invalid token audience' "$T/azurite-debug.log" ||
	fail "Azurite did not refuse the audience"
echo "it_azure_entra: Entra ID bearer tokens over HTTPS (ca_file) against Azurite: backup, list, verify, restore; refusals"
