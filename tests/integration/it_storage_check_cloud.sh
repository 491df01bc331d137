#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_storage_check_cloud.sh: `vigil storage check NAME` against the cloud
# servers (it_storage_check.sh has the local targets).  For each of S3
# (moto_server, every request's SigV4 checked), Azure Blob (Azurite,
# SharedKey and SAS checked) and GCS (tests/fakes/gcs_server.py, bearer
# tokens and IAM permissions): a target with every right passes every step
# (open, write, list, read, delete, gone) and leaves the bucket as it was;
# a target that lacks the right to delete fails the delete with the
# server's own refusal, names the missing permission (s3:DeleteObject, a
# SAS with 'd', storage.objects.delete), points to
# docs/STORAGE-PERMISSIONS.md, says how to remove the probe left behind,
# and exits 1.  On S3 the refusal is an IAM policy that denies
# s3:DeleteObject; on Azurite a container SAS made without 'd'; on the fake
# GCS the identity denied storage.objects.delete.  One more per cloud where
# the server can say it: wrong credentials fail the open or the write.
. "$(dirname "$0")/lib.sh"

: "${VIGIL_TEST_BIN:?VIGIL_TEST_BIN must name the tests build folder}"
command -v openssl >/dev/null || skip "no openssl command"
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# check ARGS...: `vigil storage check ARGS`; exit status in $rc.
check() {
	rc=0
	V storage check "$@" >"$T/out" 2>"$T/err" || rc=$?
}

# passes NAME TYPE: every step of the check of NAME passed.
passes() {
	check "$1"
	[ "$rc" = 0 ] || fail "check of $1 exited $rc: $(cat "$T/out" "$T/err")"
	has "$T/out" "^storage \"$1\" \\($2\\): probe object .*\\.vigil-check-"
	for s in open write list read delete gone; do
		has "$T/out" "^  $s +OK +[0-9]+\.[0-9] ms"
	done
	has "$T/out" 'read +OK .* bytes [0-9]+-[0-9]+ of 65659 match'
	has "$T/out" 'every check passed'
}

# no_delete NAME PERMISSION-REGEX RM-REGEX: the delete failed, naming
# the permission and the command that removes the probe.
no_delete() {
	check "$1"
	[ "$rc" = 1 ] || fail "check of $1 exited $rc, not 1: $(cat "$T/out")"
	for s in open write list read; do has "$T/out" "^  $s +OK"; done
	has "$T/out" '^  delete +FAILED'
	has "$T/out" "most likely missing, if access was refused: $2"
	has "$T/out" 'docs/STORAGE-PERMISSIONS\.md'
	has "$T/out" "$3"
	has "$T/err" "storage \"$1\": 1 check failed"
	if grep -Eq '^  gone ' "$T/out"; then fail "$1: gone checked after a failed delete"; fi
}

# --- The servers -------------------------------------------------------------
start_moto vigil-it
start_azurite
python3 "$VIGIL_SRC/tests/integration/azure_rest.py" "$AZ_EP" "$AZ_ACCT" "$AZ_KEY" \
	mkcontainer vigil || fail "cannot make the container: $(cat "$T/azurite.log")"
make_gcs_sa "$T/sa.json"
python3 "$VIGIL_SRC/tests/fakes/gcs_server.py" --sa "$T/sa.json" --bucket vigil-it \
	--port-file "$T/gcs.port" 2>"$T/gcs.log" &
PIDS+=($!)
wait_for 10 test -s "$T/gcs.port" || fail "the fake GCS did not start: $(cat "$T/gcs.log")"
GCS="http://127.0.0.1:$(cat "$T/gcs.port")"

# --- Credentials: an S3 user denied s3:DeleteObject, a SAS without 'd' --------
python3 - "$MOTO_EP" "$AKID" "$SECRET" >"$T/nodel.keys" <<'PY' || fail "IAM setup failed"
import json, sys, boto3
ep, akid, secret = sys.argv[1:]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=akid, aws_secret_access_key=secret)
iam.create_user(UserName="nodelete")
k = iam.create_access_key(UserName="nodelete")["AccessKey"]
iam.put_user_policy(UserName="nodelete", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::vigil-it/*"}]}))
print(k["AccessKeyId"], k["SecretAccessKey"])
PY
read -r ND_K ND_S <"$T/nodel.keys"
SAS_RACWL=$("$VIGIL_TEST_BIN/mk_azure_sas" container "$AZ_ACCT" "$AZ_KEY" \
	2099-01-01T00:00:00Z vigil racwl) || fail "mk_azure_sas failed"
SAS_ALL=$("$VIGIL_TEST_BIN/mk_azure_sas" container "$AZ_ACCT" "$AZ_KEY" \
	2099-01-01T00:00:00Z vigil) || fail "mk_azure_sas failed"
printf '%s\n' "$AZ_KEY" >"$T/az.key"
head -c 64 /dev/urandom | base64 -w0 >"$T/az-wrong.key"
chmod 600 "$T/az.key" "$T/az-wrong.key"

cat >"$T/vigil.conf" <<CONF
storage = {
  s3ok = { type = "s3"; bucket = "vigil-it"; endpoint = "$MOTO_EP"; prefix = "hosts/web1";
           access_key_id = "$AKID"; secret_access_key = "$SECRET"; };
  s3nodel = { type = "s3"; bucket = "vigil-it"; endpoint = "$MOTO_EP"; prefix = "hosts/web1";
              access_key_id = "$ND_K"; secret_access_key = "$ND_S"; };
  s3badsecret = { type = "s3"; bucket = "vigil-it"; endpoint = "$MOTO_EP";
                  access_key_id = "$AKID"; secret_access_key = "x$SECRET"; };
  azok = { type = "azure"; account = "$AZ_ACCT"; container = "vigil"; endpoint = "$AZ_EP";
           account_key_file = "$T/az.key"; };
  azsas = { type = "azure"; account = "$AZ_ACCT"; container = "vigil"; endpoint = "$AZ_EP";
            sas_token = "$SAS_ALL"; };
  aznodel = { type = "azure"; account = "$AZ_ACCT"; container = "vigil"; endpoint = "$AZ_EP";
              sas_token = "$SAS_RACWL"; };
  azbadkey = { type = "azure"; account = "$AZ_ACCT"; container = "vigil"; endpoint = "$AZ_EP";
               account_key_file = "$T/az-wrong.key"; };
  gcsok = { type = "gcs"; bucket = "vigil-it"; endpoint = "$GCS"; token_uri = "$GCS/token";
            credentials_file = "$T/sa.json"; timeout = "20s"; };
};
CONF
chmod 600 "$T/vigil.conf"
V config check >/dev/null 2>"$T/err" || fail "config check: $(cat "$T/err")"

# --- S3 ----------------------------------------------------------------------
s3_keys() {
	python3 - "$MOTO_EP" "$AKID" "$SECRET" <<'PY'
import sys, boto3
ep, akid, secret = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
for o in s3.list_objects_v2(Bucket="vigil-it").get("Contents", []):
    print(o["Key"])
PY
}
passes s3ok s3
[ -z "$(s3_keys)" ] || fail "s3ok: the check left $(s3_keys)"
no_delete s3nodel 's3:DeleteObject on arn:aws:s3:::BUCKET/PREFIX\*' \
	'^  aws s3 rm s3://BUCKET/PREFIX/\.vigil-check-'
has "$T/out" 's3\[s3nodel\]: .*403 AccessDenied'
s3_keys | grep -q '^hosts/web1/\.vigil-check-' || fail "s3nodel: no probe left: $(s3_keys)"
check s3badsecret
[ "$rc" = 1 ] || fail "check with a wrong S3 secret exited $rc"
has "$T/out" '^  (open|write) +FAILED'
has "$T/out" 'SignatureDoesNotMatch'
grep -q "x$SECRET" "$T/out" "$T/err" && fail "the S3 secret is in the output"

# --- Azure ---------------------------------------------------------------------
passes azok azure
passes azsas azure
no_delete aznodel "Azure role .Storage Blob Data Contributor. on the container, or a SAS with 'd'" \
	'^  az storage blob delete --account-name ACCOUNT --container-name CONTAINER --name PREFIX/\.vigil-check-'
has "$T/out" 'azure\[aznodel\]: storage account .* refused the SAS token \(Authorization[A-Za-z]*\)'
check azbadkey
[ "$rc" = 1 ] || fail "check with a wrong Azure key exited $rc"
has "$T/out" '^  (open|write) +FAILED'
has "$T/out" 'refused the account key'

# --- GCS ---------------------------------------------------------------------------
passes gcsok gcs
objs() { curl -sf "$GCS/_fake/stats" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["objects"]))'; }
[ "$(objs)" = 0 ] || fail "gcsok: the check left objects behind"
curl -sf -X POST --data '{"permissions": ["storage.objects.delete"]}' "$GCS/_fake/deny" >/dev/null ||
	fail "cannot deny storage.objects.delete"
no_delete gcsok 'storage\.objects\.delete on the bucket' \
	'^  gcloud storage rm gs://BUCKET/PREFIX/\.vigil-check-'
has "$T/out" 'does not have storage\.objects\.delete access'
[ "$(objs)" = 1 ] || fail "gcsok without delete: not one probe left"
curl -sf -X POST --data '{"permissions": ["storage.objects.create"]}' "$GCS/_fake/deny" >/dev/null
check gcsok
[ "$rc" = 1 ] || fail "check without storage.objects.create exited $rc"
has "$T/out" '^  write +FAILED'
has "$T/out" 'most likely missing, if access was refused: storage\.objects\.create on the bucket'
echo "it_storage_check_cloud: storage check against moto, Azurite and the fake GCS: passes, and names the missing permission"
