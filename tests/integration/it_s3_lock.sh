#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_s3_lock.sh: S3 Object Lock (lock_days, lock_mode) against moto_server
# with every request's SigV4 checked, on a bucket made with Object Lock
# enabled (by the IAM user, signed: start_moto's own bucket is a plain one
# and unused).
#
#  - `vigil config check` refuses a bad lock_mode, a negative lock_days and
#    a lock_mode without lock_days, each with FILE:LINE;
#  - lock_days on a bucket without Object Lock: S3's refusal in the error;
#  - every object PutObject wrote carries the lock mode and a retain-until
#    date lock_days ahead (boto3 head_object: moto 5.2.1 has no
#    GetObjectRetention, HeadObject shows the same fields; it also drops the
#    lock of a multipart upload at completion, so data.vgl's is checked in
#    test_s3, on the request);
#  - the run's retention (keep_last = 1) and `vigil backup prune` skip the
#    older, still locked backup with one note, succeed, and it restores;
#  - Object Lock refusing a delete: the lock shortened (GOVERNANCE, with
#    bypass, as an administrator would) but a legal hold on data.vgl: moto
#    answers AccessDenied for that version; vigil says so once, naming the
#    key, and the last good backup still restores;
#  - hold released, retention passed: prune deletes every version of the
#    old backup (ListObjectVersions shows none, no delete marker either).
# Without moto or boto3 the test exits 77, which CI counts as a failure.
. "$(dirname "$0")/lib.sh"

V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

start_moto vigil-unused
EP=$MOTO_EP
B=vigil-lock

# py SCRIPT ARGS...: python with boto3's s3 client as `s3` (the IAM user).
py() {
	local code=$1
	shift
	python3 - "$EP" "$AKID" "$SECRET" "$B" "$@" <<PY
import sys, time, datetime, boto3
ep, akid, secret, bucket = sys.argv[1:5]
args = sys.argv[5:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
$code
PY
}

py 's3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)' ||
	fail "cannot create the Object Lock bucket"

S="$T/src"
mkdir -p "$S/data"
head -c 12000000 /dev/urandom >"$S/data/big.bin"
printf 'locked\n' >"$S/data/small.txt"
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"

# write_conf LOCK-SETTINGS: the config with those settings in the target.
write_conf() {
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "s3"; bucket = "$B"; region = "us-east-1";
                      endpoint = "$EP"; prefix = "hosts/it";
                      access_key_id = "$AKID"; secret_access_key = "$SECRET";
                      $1 }; };
backups = ( { name = "nightly"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; keep_last = 1; } );
CONF
	chmod 600 "$T/vigil.conf"
}

# --- config check: each bad setting with its file and line -------------------
for bad in 'lock_days = 1; lock_mode = "FOREVER";' 'lock_days = -1;' \
	'lock_mode = "GOVERNANCE";' 'lock_days = 36501;'; do
	write_conf "$bad"
	if V config check >"$T/out" 2>"$T/err"; then
		fail "config check accepted: $bad"
	fi
	grep -q "$T/vigil.conf:5: .*lock_" "$T/err" ||
		fail "no FILE:LINE error for \"$bad\": $(cat "$T/err")"
done
grep -q 'lock_days' "$T/err" || fail "lock_days out of range not named: $(cat "$T/err")"

# --- lock_days on a bucket without Object Lock: S3's refusal, said once -------
B=vigil-unused write_conf 'lock_days = 1;'
if V backup run nightly >"$T/out" 2>"$T/err"; then
	fail "a locked backup to a bucket without Object Lock succeeded"
fi
grep -q 'InvalidRequest.*Object *Lock' "$T/err" || fail "no word of the missing Object Lock: $(cat "$T/err")"

# --- backups write locked objects ---------------------------------------------
write_conf 'lock_days = 1; lock_mode = "GOVERNANCE";'
V config check >"$T/out" 2>&1 || fail "config check rejected the lock settings: $(cat "$T/out")"
V backup run nightly >"$T/out" 2>"$T/err" || fail "backup run: $(cat "$T/err")"
ID1=$(V backup list nightly | awk '$NF == "complete" { sub(/^nightly\//, "", $1); print $1 }')
[ -n "$ID1" ] || fail "no complete backup listed"
py '
now = datetime.datetime.now(datetime.timezone.utc)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
# data.vgl and manifest.vgl (a small file index lives in the manifest).
assert len(keys) in (2, 3) and any(k.endswith("/manifest.vgl") for k in keys), keys
for k in keys:
    h = s3.head_object(Bucket=bucket, Key=k)
    # data.vgl went up in parts.  Its CreateMultipartUpload carried the lock
    # (test_s3 checks the request), but moto 5.2.1 drops it when the upload
    # completes; S3 keeps it.  Every object written by PutObject has it.
    if k.endswith("/data.vgl"):
        assert "-" in h["ETag"], h["ETag"]
        if "ObjectLockMode" not in h:
            continue
    assert h["ObjectLockMode"] == "GOVERNANCE", (k, h)
    left = (h["ObjectLockRetainUntilDate"] - now).total_seconds()
    assert 86400 - 120 < left <= 86400, (k, left)
' || fail "objects are not locked as configured"

# --- a prune within retention: kept, one note, success -------------------------
sleep 1
V backup run nightly >"$T/out" 2>"$T/err" || fail "second backup run failed: $(cat "$T/err")"
grep -q "prune: nightly/$ID1 kept: S3 Object Lock retains it until 20[0-9-]*T[0-9:]*Z" "$T/err" ||
	fail "the run did not note the locked backup: $(cat "$T/err")"
[ "$(grep -c "nightly/$ID1" "$T/err")" = 1 ] || fail "more than one note: $(cat "$T/err")"
V backup prune nightly >"$T/out" 2>"$T/err" || fail "prune of a locked backup failed: $(cat "$T/err")"
grep -q "^keep (locked) .*nightly/$ID1 .*S3 Object Lock retains it until" "$T/out" ||
	fail "prune did not say the backup is locked: $(cat "$T/out")"
grep -q "1 more kept by an object lock" "$T/out" || fail "no count of locked backups: $(cat "$T/out")"
V backup list nightly >"$T/list"
[ "$(grep -c complete "$T/list")" = 2 ] || fail "a locked backup went: $(cat "$T/list")"
ID2=$(awk '$NF == "complete" { sub(/^nightly\//, "", $1); print $1 }' "$T/list" | tail -n 1)
V restore "nightly/$ID1" --to "$T/r1" >/dev/null 2>"$T/err" || fail "restore of the locked backup: $(cat "$T/err")"
diff -r "$S" "$T/r1/$REL" || fail "locked backup restores differently"

# --- Object Lock refusing a delete ----------------------------------------------
# The retention ends in 3 s (GOVERNANCE, shortened with the bypass right
# vigil never uses), but data.vgl gets a legal hold: S3 keeps that version.
py '
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
for o in s3.list_objects_v2(Bucket=bucket, Prefix="hosts/it/nightly/" + args[0])["Contents"]:
    s3.put_object_retention(Bucket=bucket, Key=o["Key"], BypassGovernanceRetention=True,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
s3.put_object_legal_hold(Bucket=bucket, Key="hosts/it/nightly/%s/data.vgl" % args[0],
                         LegalHold={"Status": "ON"})
' "$ID1" || fail "cannot shorten the retention"
sleep 4
if V backup prune nightly >"$T/out" 2>"$T/err"; then
	fail "prune succeeded although S3 refused a delete: $(cat "$T/out")"
fi
grep -q "nightly/$ID1/data.vgl: AccessDenied: S3 Object Lock protects this object version" "$T/err" ||
	fail "no clear message for the refused delete: $(cat "$T/err")"
[ "$(grep -c AccessDenied "$T/err")" = 1 ] || fail "the refusal was reported more than once: $(cat "$T/err")"
V restore nightly/latest --to "$T/r2" >/dev/null 2>"$T/err" || fail "last good backup: $(cat "$T/err")"
diff -r "$S" "$T/r2/$REL" || fail "last good backup restores differently"
V backup list nightly | grep -q "nightly/$ID2 .*complete" || fail "last good backup not listed"

# --- retention over, hold released: every version goes --------------------------
py 's3.put_object_legal_hold(Bucket=bucket, Key="hosts/it/nightly/%s/data.vgl" % args[0],
                          LegalHold={"Status": "OFF"})' "$ID1" || fail "cannot release the hold"
V backup prune nightly >"$T/out" 2>"$T/err" || fail "prune after the lock: $(cat "$T/err")"
py '
r = s3.list_object_versions(Bucket=bucket, Prefix="hosts/it/nightly/" + args[0])
left = r.get("Versions", []) + r.get("DeleteMarkers", [])
assert not left, left
n = len(s3.list_objects_v2(Bucket=bucket, Prefix="hosts/it/nightly/" + args[1])["Contents"])
r = s3.list_object_versions(Bucket=bucket, Prefix="hosts/it/nightly/" + args[1])
assert len(r.get("Versions", [])) == n and not r.get("DeleteMarkers"), r
' "$ID1" "$ID2" || fail "versions of the pruned backup remain"
V backup list nightly >"$T/list"
grep -q "$ID1" "$T/list" && fail "pruned backup still listed: $(cat "$T/list")"
V restore nightly/latest --to "$T/r3" >/dev/null 2>"$T/err" || fail "restore after prune: $(cat "$T/err")"
diff -r "$S" "$T/r3/$REL" || fail "restore after prune differs"
echo "it_s3_lock: locked writes, locked prune kept, refused delete reported once, versions removed"
