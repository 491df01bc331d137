/*
 * spool_ctl.c: the requests of `vigil queue` (see spool_ctl() in spool.h).
 *
 * One text protocol for both ways in: vigild answers "queue <words>" on its
 * control socket by calling spool_ctl() on its open spool, and `vigil queue`
 * without a daemon opens the spool folder itself (under the spool's flock)
 * and calls the same function, so both give the same answers.  The words
 * are parsed here; the spool does the work (spool_list(), spool_reroute(),
 * spool_drop()).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/parsenum.h"
#include "agent/spool.h"

#define CTL_WORDS 8

static const char *const state_names[] = { "due", "backoff", "aside" };

static char *
reply_error(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o != NULL ? json_dumps(o, JSON_ENSURE_ASCII) : NULL;

	json_decref(o);
	return text;
}

static char *
list(struct spool *sp, const char *notifier, int64_t now_ms)
{
	struct spool_info *v;
	json_t *root, *arr;
	int64_t wall = clock_wall_ms();
	char *text = NULL;
	size_t n;

	if (spool_list(sp, notifier, now_ms, &v, &n) != 0)
		return NULL;
	if ((root = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(root);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct spool_entry *e = &v[i].e;
		int64_t next = e->next_ms > now_ms ? e->next_ms - now_ms : 0;

		(void)json_array_append_new(arr,
		    json_pack("{s:I, s:s, s:s, "
			      "s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
			"id", (json_int_t)e->seq, "notifier", e->notifier,
			"rule", e->n.rule, "series", e->n.metric,
			"alert_state", alert_state_name(e->n.state), "state",
			state_names[v[i].state], "age_ms",
			(json_int_t)(wall - e->n.ts_ms), "attempts",
			(json_int_t)e->attempts, "next_in_ms",
			(json_int_t)next, "on_disk", v[i].on_disk));
	}
	(void)json_object_set_new(root, "entries", arr);
	text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(root);
	free(v);
	return text;
}

/*
 * Parse the selection at ${w}[${*i}...] ("ID", "--all" or "--notifier N")
 * into ${sel}, moving ${*i} past it.  0 or -1.
 */
static int
parse_sel(char **w, size_t nw, size_t *i, struct spool_sel *sel)
{
	int64_t id;

	memset(sel, 0, sizeof(*sel));
	if (*i >= nw)
		return -1;
	if (strcmp(w[*i], "--all") == 0) {
		sel->all = true;
	} else if (strcmp(w[*i], "--notifier") == 0 && *i + 1 < nw) {
		sel->notifier = w[++*i];
	} else if (w[*i][0] >= '0' && w[*i][0] <= '9' &&
	    parse_int64(w[*i], &id) == 0 && id >= 0) {
		sel->seq = (uint64_t)id;
	} else {
		return -1;
	}
	++*i;
	return 0;
}

char *
spool_ctl(struct spool *sp, const char *req, int64_t now_ms)
{
	struct ag_err err = { "" };
	struct spool_sel sel;
	char *copy, *w[CTL_WORDS], *tok, *save = NULL, *text = NULL;
	const char *to = NULL;
	size_t nw = 0, i = 1, n = 0;
	int rc;

	if ((copy = strdup(req)) == NULL)
		return NULL;
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (nw == CTL_WORDS) {
			text = reply_error("too many words");
			goto out;
		}
		w[nw++] = tok;
	}
	if (nw == 0) {
		text = reply_error("usage: queue list|retry|drop");
		goto out;
	}
	if (strcmp(w[0], "list") == 0) {
		if (nw > 2)
			text = reply_error("usage: queue list [NOTIFIER]");
		else
			text = list(sp, nw == 2 ? w[1] : NULL, now_ms);
		goto out;
	}
	if (strcmp(w[0], "retry") != 0 && strcmp(w[0], "drop") != 0) {
		text = reply_error("usage: queue list|retry|drop");
		goto out;
	}
	if (parse_sel(w, nw, &i, &sel) != 0) {
		text = reply_error(w[0][0] == 'r' ?
			"usage: queue retry "
			"ID|--all|--notifier N [--to NOTIFIER]" :
			"usage: queue drop ID|--all|--notifier N");
		goto out;
	}
	if (w[0][0] == 'r' && i + 2 == nw && strcmp(w[i], "--to") == 0) {
		to = w[i + 1];
		i += 2;
	}
	if (i != nw) {
		text = reply_error("unexpected words after the selection");
		goto out;
	}
	if (w[0][0] == 'r')
		rc = spool_reroute(sp, &sel, to, &n, &err);
	else
		rc = spool_drop(sp, &sel, &n, &err);
	if (rc != 0) {
		text = reply_error(err.msg);
	} else {
		json_t *o = json_pack("{s:b, s:I}", "ok", 1, "count",
		    (json_int_t)n);

		text = o != NULL ? json_dumps(o, JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
	}
out:
	free(copy);
	return text;
}
