#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_completion.sh: the bash completion (packaging/completion/vigil.bash)
# completes commands, subcommands and options, and job names and backup ids
# (JOB/ID, JOB/latest) read from `vigil backup list --json`, jobs without
# a backup from its text with the -c file
# of the command line; vigild's options too.  Runs the real vigil on two
# backups in local storage; no bash-completion package needed (the script
# falls back to COMP_WORDS when _init_completion is missing).
. "$(dirname "$0")/lib.sh"

COMP=$VIGIL_SRC/packaging/completion/vigil.bash
mkdir -p "$T/src" "$T/bin"
echo hello >"$T/src/a"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "web-etc"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; },
  { name = "db"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; },
  { name = "never"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; }
);
CONF
chmod 600 "$T/vigil.conf"
for j in web-etc web-etc db; do
	"$VIGIL" -c "$T/vigil.conf" backup run "$j" >/dev/null 2>"$T/err" ||
		fail "backup run $j: $(cat "$T/err")"
	sleep 1
done
"$VIGIL" -c "$T/vigil.conf" --json backup list >"$T/list.json" ||
	fail "backup list --json"
mapfile -t ids < <(python3 -c '
import json, sys
for b in json.load(open(sys.argv[1])):
    print(b["job"] + "/" + b["id"])' "$T/list.json" | sort)
[ "${#ids[@]}" = 3 ] || fail "want 3 backups: ${ids[*]}"
# The completion runs "vigil" as the command line names it.
ln -s "$VIGIL" "$T/bin/vigil"

# complete WORD...: the candidates for the last word, one a line, sorted.
complete_words() {
	PATH=$T/bin:$PATH bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		f=_vigil; [ "$1" = vigild ] && f=_vigild
		$f "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$@" | sed '/^$/d' | sort
}
# want "WORDS" CANDIDATES...: complete_words WORDS gives exactly CANDIDATES.
want() {
	local words=$1 got exp
	shift
	got=$(complete_words $words "")
	[ "${words: -1}" = " " ] || got=$(complete_words $words)
	exp=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	[ "$got" = "$exp" ] || fail "completing \"$words\": got [$(echo $got)], want [$(echo $exp)]"
}
C="vigil -c $T/vigil.conf"

want "vigil " config status reload backup restore decrypt key queue storage token archive version
want "vigil archive " list get
want "vigil archive get --" --from --to --host --key --out
want "vigil b" backup
want "vigil backup " run list verify prune
want "vigil queue " list retry drop
want "vigil key " generate
want "vigil --v" --version
want "$C backup run " db never web-etc
want "$C backup run w" web-etc
want "$C backup list " db never web-etc
want "$C backup prune --" --dry-run
want "$C restore " db/latest web-etc/latest "${ids[@]}"
want "$C restore web" web-etc/latest $(printf '%s\n' "${ids[@]}" | grep '^web-etc/')
want "$C backup verify d" db/latest $(printf '%s\n' "${ids[@]}" | grep '^db/')
want "$C restore db/latest --no" --no-privileges
want "$C decrypt --job " db never web-etc
want "$C storage check --" --prefix --no-delete
want "vigil token " add list remove
want "vigil token add ops --" --role --file
want "vigil token add ops --role " read admin
want "vigil token remove ops --" --file
want "vigild -" -c -f -n -v -V --version -h --help
# Without a configuration that has backups: no candidates, no error.
want "vigil -c /nonexistent restore "
echo "it_completion: ok"
