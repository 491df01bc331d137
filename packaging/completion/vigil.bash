# bash completion for vigil(1) and vigild(8), installed as
# /usr/share/bash-completion/completions/vigil (and loaded for vigild
# through the symlink of that name beside it).  Commands and options from
# vigil(1); job names and backup ids (JOB/ID) from
# `vigil backup list --json`, with the -c file the command line names.
# SPDX-License-Identifier: BSD-2-Clause

# _vigil_cfg: the -c option of the command line being completed, in cfg.
_vigil_cfg()
{
	local i
	cfg=()
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config) cfg=(-c "${COMP_WORDS[i + 1]}") ;;
		--config=*) cfg=(-c "${COMP_WORDS[i]#--config=}") ;;
		esac
	done
}

# _vigil_backups: "JOB/ID" of every backup, and "JOB/latest", one a line,
# from `vigil backup list --json`: objects {"job": "J", "id": "I", ...},
# one key a line.
_vigil_backups()
{
	local -a cfg
	_vigil_cfg
	timeout 10 "${COMP_WORDS[0]}" "${cfg[@]}" --json backup list \
		2>/dev/null | sed -n 's/^ *"\(job\|id\)": "\([^"]*\)",\{0,1\}$/\1 \2/p' |
		while read -r k v; do
			if [ "$k" = job ]; then
				job=$v
				echo "$job/latest"
			else
				echo "$job/$v"
			fi
		done | sort -u
}

# _vigil_jobs: every backup job of the configuration, those without a
# backup too ("JOB: no backups" in the text of `vigil backup list`).
_vigil_jobs()
{
	local -a cfg
	_vigil_cfg
	timeout 10 "${COMP_WORDS[0]}" "${cfg[@]}" backup list 2>/dev/null |
		sed -n -e 's,^\([^/ :]*\)/[^ ]* .*,\1,p' \
		    -e 's,^\([^/ :]*\): no backups$,\1,p' | sort -u
}

_vigil()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n = || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	case $prev in
	# Files and folders: readline's own completion (names with spaces).
	-c | --config | --key | --out | -s | --socket)
		COMPREPLY=()
		compopt -o default 2>/dev/null
		return
		;;
	--to)
		COMPREPLY=()
		local w
		for w in "${words[@]}"; do
			[ "$w" = queue ] && return
		done
		compopt -o dirnames 2>/dev/null
		return
		;;
	--path | --prefix | --storage | --workers | --notifier)
		return
		;;
	--role)
		COMPREPLY=($(compgen -W "read admin" -- "$cur"))
		return
		;;
	--job)
		COMPREPLY=($(compgen -W "$(_vigil_jobs)" -- "$cur"))
		return
		;;
	esac

	# The command's words, without the global options.
	local -a cmd=()
	local i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-c | --config | -s | --socket) ((i++)) ;;
		-*) ;;
		*) cmd+=("${words[i]}") ;;
		esac
	done

	case ${#cmd[@]} in
	0)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-c --config -s --socket --json
			    -h --help -V --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "config status reload backup
			    restore decrypt key queue storage token archive version" -- "$cur"))
		fi
		return
		;;
	1)
		case ${cmd[0]} in
		config) COMPREPLY=($(compgen -W "check" -- "$cur")) ;;
		backup)
			COMPREPLY=($(compgen -W "run list verify prune" -- "$cur"))
			;;
		restore)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--to --path --key --storage
				    --workers --no-privileges" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "$(_vigil_backups)" -- "$cur"))
			fi
			;;
		decrypt) COMPREPLY=($(compgen -W "--key --job" -- "$cur")) ;;
		key) COMPREPLY=($(compgen -W "generate" -- "$cur")) ;;
		queue) COMPREPLY=($(compgen -W "list retry drop" -- "$cur")) ;;
		storage) COMPREPLY=($(compgen -W "check" -- "$cur")) ;;
		token) COMPREPLY=($(compgen -W "add list remove" -- "$cur")) ;;
		archive) COMPREPLY=($(compgen -W "list get" -- "$cur")) ;;
		esac
		return
		;;
	esac

	case ${cmd[0]}/${cmd[1]} in
	backup/run | backup/list)
		[ ${#cmd[@]} -eq 2 ] &&
			COMPREPLY=($(compgen -W "$(_vigil_jobs)" -- "$cur"))
		;;
	backup/prune)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--dry-run" -- "$cur"))
		elif [ ${#cmd[@]} -eq 2 ]; then
			COMPREPLY=($(compgen -W "$(_vigil_jobs)" -- "$cur"))
		fi
		;;
	backup/verify)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--key" -- "$cur"))
		elif [ ${#cmd[@]} -eq 2 ]; then
			COMPREPLY=($(compgen -W "$(_vigil_backups)" -- "$cur"))
		fi
		;;
	restore/*)
		COMPREPLY=($(compgen -W "--to --path --key --storage --workers
		    --no-privileges" -- "$cur"))
		;;
	key/generate)
		COMPREPLY=($(compgen -W "--out --symmetric --sign" -- "$cur"))
		;;
	queue/retry)
		COMPREPLY=($(compgen -W "--all --notifier --to" -- "$cur"))
		;;
	queue/drop)
		COMPREPLY=($(compgen -W "--all --notifier" -- "$cur"))
		;;
	token/add)
		[[ $cur == -* ]] &&
			COMPREPLY=($(compgen -W "--role --file" -- "$cur"))
		;;
	token/list | token/remove)
		[[ $cur == -* ]] && COMPREPLY=($(compgen -W "--file" -- "$cur"))
		;;
	archive/list)
		[[ $cur == -* ]] &&
			COMPREPLY=($(compgen -W "--from --to --host" -- "$cur"))
		;;
	archive/get)
		[[ $cur == -* ]] &&
			COMPREPLY=($(compgen -W "--from --to --host --key --out" -- "$cur"))
		;;
	storage/check)
		[[ $cur == -* ]] &&
			COMPREPLY=($(compgen -W "--prefix --no-delete" -- "$cur"))
		;;
	esac
} &&
	complete -F _vigil vigil

_vigild()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [ "$prev" = -c ]; then
		COMPREPLY=()
		compopt -o default 2>/dev/null
		return
	fi
	COMPREPLY=($(compgen -W "-c -f -n -v -V --version -h --help" -- "$cur"))
} &&
	complete -F _vigild vigild
