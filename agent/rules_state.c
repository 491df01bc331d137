/*
 * rules_state.c: rule states saved across restarts (see rules.h): the
 * state file written by rules_save() and read back by rules_load().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/log.h"
#include "agent/rules.h"
#include "agent/rules_internal.h"

#define STATE_VERSION 1
#define STATE_FILE_MAX (64 * 1024 * 1024)
/* Saved times beyond the year 9999 are nonsense (and could overflow). */
#define SAVED_TIME_MAX 253402300799999LL

/*
 * The state file:
 *   { "version": 1, "rules": { "<rule name>": { "conf": "<settings hash>",
 *     "series": [ { "metric": "...", "state": "CRITICAL", "since_ms": N,
 *       "notified_ms": N, "last_ts_ms": N, "stale": false,
 *       "value": X (only when there is one) }, ... ] }, ... } }
 * A rule whose settings hash differs from the running one is skipped, like
 * a changed rule on reload.
 */
static json_t *
state_to_json(const struct rules *r)
{
	json_t *root, *jr;
	char hash[17];

	if ((root = json_pack("{s:i, s:{}}", "version", STATE_VERSION,
		 "rules")) == NULL)
		return NULL;
	jr = json_object_get(root, "rules");
	for (size_t j = 0; j < r->n; j++) {
		const struct rule *ru = &r->v[j];
		json_t *arr = json_array();

		snprintf(hash, sizeof(hash), "%016" PRIx64,
		    rule_conf_hash(ru->rc));
		if (arr == NULL ||
		    json_object_set_new(jr, ru->rc->name,
			json_pack("{s:s, s:o}", "conf", hash, "series",
			    arr)) != 0)
			goto err0;
		for (size_t i = 0; i < ru->n; i++) {
			const struct series *s = ru->series[i];
			json_t *js = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}",
			    "metric", s->metric, "state",
			    alert_state_name(s->state), "since_ms",
			    (json_int_t)s->since_ms, "notified_ms",
			    (json_int_t)s->notified_ms, "last_ts_ms",
			    (json_int_t)(s->last_ts_ms == INT64_MIN ?
				    0 :
				    s->last_ts_ms),
			    "stale", s->stale);

			if (js == NULL ||
			    (s->has_value &&
				json_object_set_new(js, "value",
				    json_real(s->value)) != 0) ||
			    json_array_append_new(arr, js) != 0)
				goto err0;
		}
	}
	return root;

err0:
	json_decref(root);
	return NULL;
}

int
rules_save(const struct rules *r, const char *path)
{
	char tmp[4096], dir[4096], *text, *slash;
	json_t *root;
	size_t len, off = 0;
	int fd, dfd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_warn("rules: %s: path too long", path);
		return -1;
	}
	if ((root = state_to_json(r)) == NULL ||
	    (text = json_dumps(root, JSON_COMPACT)) == NULL) {
		json_decref(root);
		log_warn("rules: %s: out of memory", path);
		return -1;
	}
	json_decref(root);
	len = strlen(text);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0)
		goto err1;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto err1;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto err1;
	e = close(fd);
	fd = -1;
	if (e != 0 || rename(tmp, path) != 0)
		goto err1;
	free(text);
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash++;
		*slash = '\0';
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;

err1:
	e = errno;
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	log_warn("rules: saving %s: %s", path, strerror(e));
	free(text);
	return -1;
}

/* Restore one saved series into ${ru}; a malformed entry is skipped. */
static void
series_from_json(struct rule *ru, const json_t *js)
{
	const char *metric, *state;
	json_int_t since, notified, last_ts;
	int stale = 0;
	enum alert_state st;
	const json_t *jv;
	struct series *s;

	if (json_unpack((json_t *)js, "{s:s, s:s, s:I, s:I, s:I, s?b}",
		"metric", &metric, "state", &state, "since_ms", &since,
		"notified_ms", &notified, "last_ts_ms", &last_ts, "stale",
		&stale) != 0 ||
	    alert_state_parse(state, &st) != 0 ||
	    !rule_name_ok(metric, METRIC_NAME_MAX) ||
	    !rule_conf_matches(ru->rc, metric) || since < 0 ||
	    since > SAVED_TIME_MAX || notified < 0 ||
	    notified > SAVED_TIME_MAX || last_ts < 0 ||
	    last_ts > SAVED_TIME_MAX) {
		log_debug("rules: %s: skipping a malformed saved series",
		    ru->rc->name);
		return;
	}
	if ((s = rules_series_get(ru, metric, since)) == NULL)
		return;
	s->state = s->target = st;
	s->since_ms = since;
	s->notified_ms = notified;
	s->last_ts_ms = last_ts;
	s->stale = stale != 0;
	s->warn_since = s->crit_since = NO_TIME; /* down time is a gap */
	s->seen_ms = NO_TIME; /* staleness counts from the next tick */
	jv = json_object_get(js, "value");
	s->has_value = json_is_number(jv) && isfinite(json_number_value(jv));
	s->value = s->has_value ? json_number_value(jv) : 0;
}

int
rules_load(struct rules *r, const char *path)
{
	json_error_t jerr;
	json_t *root, *jr;
	struct stat st;
	json_int_t version = 0;
	char hash[17];
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		log_warn("rules: reading %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size > STATE_FILE_MAX) {
		log_warn("rules: %s: unreadable or larger than %d bytes; "
			 "rule states start afresh",
		    path, STATE_FILE_MAX);
		close(fd);
		return -1;
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (root == NULL ||
	    json_unpack(root, "{s:I, s:o}", "version", &version, "rules",
		&jr) != 0 ||
	    version != STATE_VERSION || !json_is_object(jr)) {
		log_warn("rules: %s: not a rule state file (%s); rule states "
			 "start afresh",
		    path, root == NULL ? jerr.text : "unexpected content");
		json_decref(root);
		return -1;
	}
	for (size_t j = 0; j < r->n; j++) {
		struct rule *ru = &r->v[j];
		json_t *jo = json_object_get(jr, ru->rc->name);
		json_t *series, *js;
		const char *conf;
		size_t i;

		snprintf(hash, sizeof(hash), "%016" PRIx64,
		    rule_conf_hash(ru->rc));
		if (jo == NULL ||
		    json_unpack(jo, "{s:s, s:o}", "conf", &conf, "series",
			&series) != 0 ||
		    strcmp(conf, hash) != 0 || !json_is_array(series))
			continue;
		json_array_foreach(series, i, js) series_from_json(ru, js);
	}
	json_decref(root);
	return 0;
}
