/*
 * rules.c: threshold rules and their state machine (see rules.h and
 * docs/RULES.md).  A rule's settings are read in rules_conf.c; the states
 * are saved across restarts by rules_state.c.
 *
 * The engine holds an array of rules; each rule holds its series (one per
 * metric name its selector matched) in an array sorted by name, at most
 * SERIES_MAX of them.  A reading is matched against every rule's selector
 * (O(rules x readings) glob matches per batch, which is cheap next to
 * collecting the readings).
 *
 * Per series, rules_feed() turns the reading into a target level (OK,
 * WARNING or CRITICAL, with the "clear" hysteresis applied) and keeps two
 * pending timers: since when the target has been at least WARNING, and
 * since when it has been CRITICAL.  next_state() is the whole state
 * machine: recovery and de-escalation are taken at once, escalation only
 * once the worse level has held for "for".  rules_tick() re-runs
 * next_state() for pending series that get no new readings, moves series
 * that went quiet for "no_data" to the no-data state, and sends reminders.
 * A notification is emitted on every change of state and for reminders,
 * never on a sample that changes nothing.
 *
 * All times are wall-clock milliseconds passed in by the caller: the
 * batch's now_ms for readings, now_ms for ticks.  Nothing here sleeps,
 * sends or reads the clock, which is what makes the engine testable.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/fnv.h"
#include "lib/log.h"
#include "agent/rules.h"
#include "agent/rules_internal.h"

#define SERIES_MAX 10000 /* per rule */
#define DEFAULT_NO_DATA_MS (5 * 60 * 1000)
/* A series without readings for this long is forgotten, silently. */
#define SERIES_FORGET_MS (7LL * 24 * 3600 * 1000)

/* The engine and its series. */

struct rules *
rules_new(const char *host)
{
	struct rules *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	snprintf(r->host, sizeof(r->host), "%s", host != NULL ? host : "");
	r->no_data_ms = DEFAULT_NO_DATA_MS;
	/*
	 * Ids need only be unique; a random start keeps restarts apart.
	 * getrandom(2), not crypto_random(): the core needs no OpenSSL.
	 */
	if (getrandom(&r->seq, sizeof(r->seq), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(r->seq))
		r->seq = 0;
	return r;
}

void
rules_set_default_no_data(struct rules *r, int64_t ms)
{
	r->no_data_ms = ms > 0 ? ms : DEFAULT_NO_DATA_MS;
}

static void
series_free_all(struct rule *ru)
{
	for (size_t i = 0; i < ru->n; i++) {
		free(ru->series[i]->metric);
		free(ru->series[i]);
	}
	free(ru->series);
	ru->series = NULL;
	ru->n = ru->cap = 0;
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		series_free_all(&r->v[i]);
		rule_conf_free(r->v[i].rc);
	}
	free(r->v);
	free(r);
}

static struct rule *
rule_find(const struct rules *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].rc->name, name) == 0)
			return &r->v[i];
	return NULL;
}

int
rules_add(struct rules *r, struct rule_conf *rc)
{
	struct rule *v;
	size_t cap;

	if (rule_find(r, rc->name) != NULL || r->n >= RULES_MAX)
		return -1;
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 8 : r->cap * 2;
		if ((v = realloc(r->v, cap * sizeof(*v))) == NULL)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	r->v[r->n++].rc = rc;
	return 0;
}

size_t
rules_count(const struct rules *r)
{
	return r->n;
}

const struct rule_conf *
rules_rule(const struct rules *r, size_t i)
{
	return i < r->n ? r->v[i].rc : NULL;
}

/*
 * Binary search for ${metric}: return its index with ${found} set, or the
 * index where it would be inserted.
 */
static size_t
series_pos(const struct rule *ru, const char *metric, bool *found)
{
	size_t lo = 0, hi = ru->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ru->series[mid]->metric, metric);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/*
 * Find the series ${metric} of ${ru}, creating it (state OK since ${now})
 * if new.  Return NULL on OOM or when the rule already has SERIES_MAX.
 */
struct series *
rules_series_get(struct rule *ru, const char *metric, int64_t now)
{
	struct series *s, **v;
	size_t pos, cap;
	bool found;

	pos = series_pos(ru, metric, &found);
	if (found)
		return ru->series[pos];
	if (ru->n >= SERIES_MAX) {
		if (!ru->full_warned)
			log_warn("rule %s: more than %d series match \"%s\"; "
				 "ignoring new ones such as %s",
			    ru->rc->name, SERIES_MAX, ru->rc->selector,
			    metric);
		ru->full_warned = true;
		return NULL;
	}
	if (ru->n == ru->cap) {
		cap = ru->cap == 0 ? 4 : ru->cap * 2;
		if (cap > SERIES_MAX)
			cap = SERIES_MAX;
		if ((v = realloc(ru->series, cap * sizeof(*v))) == NULL)
			return NULL;
		ru->series = v;
		ru->cap = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->metric = strdup(metric)) == NULL) {
		free(s);
		return NULL;
	}
	s->state = s->target = ST_OK;
	s->since_ms = s->seen_ms = s->notified_ms = now;
	s->warn_since = s->crit_since = NO_TIME;
	s->last_ts_ms = INT64_MIN;
	memmove(&ru->series[pos + 1], &ru->series[pos],
	    (ru->n - pos) * sizeof(*ru->series));
	ru->series[pos] = s;
	ru->n++;
	return s;
}

static void
series_remove(struct rule *ru, size_t i)
{
	free(ru->series[i]->metric);
	free(ru->series[i]);
	memmove(&ru->series[i], &ru->series[i + 1],
	    (ru->n - i - 1) * sizeof(*ru->series));
	ru->n--;
}

/* Notifications. */

/*
 * The level a notification about ${s} names: the one crossed for WARNING
 * and CRITICAL, the one crossed back (clear, else the lowest level) for a
 * recovery; none for UNKNOWN or a state that no_data imposed.
 */
static bool
threshold_of(const struct rule_conf *rc, const struct series *s, double *ret)
{
	if (s->stale)
		return false;
	switch (s->state) {
	case ST_CRITICAL:
		if (!rc->has_crit)
			return false;
		*ret = rc->crit;
		return true;
	case ST_WARNING:
		if (!rc->has_warn)
			return false;
		*ret = rc->warn;
		return true;
	case ST_OK:
		if (!rc->has_warn && !rc->has_crit)
			return false;
		*ret = rc->has_clear ? rc->clear :
		    rc->has_warn     ? rc->warn :
				       rc->crit;
		return true;
	default:
		return false;
	}
}

static void
emit_one(struct rules *r, const struct rule_conf *rc, const struct series *s,
    enum notify_kind kind, enum alert_state prev, int64_t now,
    rules_emit_fn *emit, void *cookie)
{
	static char *const nobody[] = { NULL };
	struct notification n;
	uint64_t h;

	memset(&n, 0, sizeof(n));
	h = fnv1a64(fnv1a64(FNV1A64_INIT, rc->name, strlen(rc->name) + 1),
	    s->metric, strlen(s->metric));
	snprintf(n.id, sizeof(n.id), "%" PRId64 "-%08" PRIx32 "-%04x", now,
	    (uint32_t)(h ^ (h >> 32)), (unsigned)(r->seq++ & 0xffff));
	snprintf(n.host, sizeof(n.host), "%s", r->host);
	snprintf(n.rule, sizeof(n.rule), "%s", rc->name);
	snprintf(n.metric, sizeof(n.metric), "%s", s->metric);
	snprintf(n.op, sizeof(n.op), "%s", rule_op_name(rc->op));
	n.state = s->state;
	n.prev_state = prev;
	n.kind = kind;
	n.has_value = s->has_value && !s->stale;
	n.value = n.has_value ? s->value : 0;
	n.has_threshold = threshold_of(rc, s, &n.threshold);
	n.ts_ms = now;
	n.since_ms = s->since_ms;
	n.repeat_ms = rc->repeat_ms;
	if (emit != NULL)
		emit(cookie, &n, rc->notify != NULL ? rc->notify : nobody);
}

/* Move ${s} to ${st} and tell, unless that is where it already is. */
static void
series_set(struct rules *r, const struct rule_conf *rc, struct series *s,
    enum alert_state st, int64_t now, rules_emit_fn *emit, void *cookie)
{
	enum alert_state prev = s->state;

	if (st == prev)
		return;
	s->state = st;
	s->since_ms = now;
	s->notified_ms = now;
	emit_one(r, rc, s, NK_CHANGE, prev, now, emit, cookie);
}

/* The state machine. */

/* The level a value asks for, before hysteresis. */
static enum alert_state
level_of(const struct rule_conf *rc, double v)
{
	if (rc->has_crit && rule_op_crosses(rc->op, v, rc->crit))
		return ST_CRITICAL;
	if (rc->has_warn && rule_op_crosses(rc->op, v, rc->warn))
		return ST_WARNING;
	return ST_OK;
}

/*
 * next_state(rc, s, now):
 * Where series ${s} goes at ${now}, given the target of its last reading
 * and its pending timers.  This is the whole state machine:
 * - a target of OK is taken at once, whatever the state (recovery);
 * - a target no worse than the state is taken at once (de-escalation, or
 *   staying where it is);
 * - a worse target is taken only after it has held for "for": the state
 *   moves to the worst level whose timer has run that long (WARNING once
 *   "not OK" has held for "for", CRITICAL once "CRITICAL" has), and stays
 *   put (pending) until then.  UNKNOWN counts as better than WARNING here,
 *   so a series coming back from no_data waits for "for" like a fresh one.
 */
static enum alert_state
next_state(const struct rule_conf *rc, const struct series *s, int64_t now)
{
	enum alert_state held = ST_OK;

	if (s->target == ST_OK)
		return ST_OK;
	if (s->state == ST_CRITICAL ||
	    (s->state == ST_WARNING && s->target == ST_WARNING))
		return s->target;
	if (s->crit_since != NO_TIME && now - s->crit_since >= rc->for_ms)
		held = ST_CRITICAL;
	else if (s->warn_since != NO_TIME && now - s->warn_since >= rc->for_ms)
		held = ST_WARNING;
	return held == ST_OK ? s->state : held; /* ST_OK: still pending */
}

/*
 * Apply a reading of ${v} at time ${now} to ${s}: work out its target with
 * hysteresis, run the pending timers, then the state machine.
 */
static void
series_feed(struct rules *r, const struct rule_conf *rc, struct series *s,
    double v, int64_t now, rules_emit_fn *emit, void *cookie)
{
	enum alert_state t = level_of(rc, v);

	/*
	 * Hysteresis: a firing series that no longer crosses its level stays
	 * firing (at the lowest level it has) until the value also crosses
	 * back past "clear".  Values between clear and warn thus never flap.
	 * A state that no_data imposed is not firing on a value, unless the
	 * rule keeps its state through no_data.
	 */
	if (t == ST_OK &&
	    (s->state == ST_WARNING || s->state == ST_CRITICAL) &&
	    rc->has_clear && (!s->stale || rc->no_data_keep) &&
	    rule_op_crosses(rc->op, v, rc->clear))
		t = rc->has_warn ? ST_WARNING : ST_CRITICAL;

	if (t == ST_OK)
		s->warn_since = NO_TIME;
	else if (s->warn_since == NO_TIME)
		s->warn_since = now;
	if (t != ST_CRITICAL)
		s->crit_since = NO_TIME;
	else if (s->crit_since == NO_TIME)
		s->crit_since = now;

	s->target = t;
	s->value = v;
	s->has_value = true;
	s->stale = false;
	s->seen_ms = now;
	series_set(r, rc, s, next_state(rc, s, now), now, emit, cookie);
}

/* Forget the series ${name} of every rule, silently (its resource went). */
static void
rules_retire(struct rules *r, const char *name)
{
	for (size_t j = 0; j < r->n; j++) {
		struct rule *ru = &r->v[j];
		bool found;
		size_t pos = series_pos(ru, name, &found);

		if (!found)
			continue;
		log_debug("rule %s: %s is gone; its state (%s) is retired",
		    ru->rc->name, name,
		    alert_state_name(ru->series[pos]->state));
		series_remove(ru, pos);
	}
}

void
rules_feed(struct rules *r, const struct metric_batch *b, rules_emit_fn *emit,
    void *cookie)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct metric *m = &b->v[i];
		int64_t now = b->now_ms != 0 ? b->now_ms : m->ts_ms;

		if (memchr(m->name, '\0', sizeof(m->name)) == NULL)
			continue;
		if (m->flags & METRIC_RETIRED) {
			rules_retire(r, m->name);
			continue;
		}
		if (!isfinite(m->value)) {
			log_debug("rules: %s: ignoring non-finite reading",
			    m->name);
			continue;
		}
		for (size_t j = 0; j < r->n; j++) {
			struct rule *ru = &r->v[j];
			struct series *s;

			if (ru->first_ms == 0)
				ru->first_ms = now;
			if (!rule_conf_matches(ru->rc, m->name))
				continue;
			if ((s = rules_series_get(ru, m->name, now)) == NULL)
				continue;
			/*
			 * Late or repeated data must not undo newer data; a
			 * point stamped by its source is taken once.
			 */
			if (m->ts_ms < s->last_ts_ms ||
			    ((m->flags & METRIC_POINT) &&
				m->ts_ms == s->last_ts_ms))
				continue;
			s->last_ts_ms = m->ts_ms;
			series_feed(r, ru->rc, s, m->value, now, emit, cookie);
		}
	}
}

/* Time-driven work for one series; return true to forget it. */
static bool
series_tick(struct rules *r, const struct rule_conf *rc, struct series *s,
    int64_t no_data_ms, int64_t now, rules_emit_fn *emit, void *cookie)
{
	/* A series restored from disk starts its staleness clock now. */
	if (s->seen_ms == NO_TIME)
		s->seen_ms = now;
	if (s->stale && now - s->seen_ms >= SERIES_FORGET_MS)
		return true;
	if (!s->stale && now - s->seen_ms >= no_data_ms) {
		/* Stale: nothing is pending any more. */
		s->stale = true;
		s->warn_since = s->crit_since = NO_TIME;
		s->target = ST_OK;
		if (!rc->no_data_keep)
			series_set(r, rc, s, rc->no_data_state, now, emit,
			    cookie);
	} else if (!s->stale) {
		series_set(r, rc, s, next_state(rc, s, now), now, emit,
		    cookie);
	}
	if (s->state != ST_OK && rc->repeat_ms > 0 &&
	    now - s->notified_ms >= rc->repeat_ms) {
		/* Keep reminders on the grid of the last notification. */
		s->notified_ms = now - (now - s->notified_ms) % rc->repeat_ms;
		emit_one(r, rc, s, NK_REMINDER, s->state, now, emit, cookie);
	}
	return false;
}

void
rules_tick(struct rules *r, int64_t now_ms, rules_emit_fn *emit, void *cookie)
{
	for (size_t j = 0; j < r->n; j++) {
		struct rule *ru = &r->v[j];
		int64_t nd = ru->rc->no_data_ms > 0 ? ru->rc->no_data_ms :
						      r->no_data_ms;

		if (ru->first_ms == 0)
			ru->first_ms = now_ms;
		if (ru->n == 0 && !ru->unmatched_warned &&
		    now_ms - ru->first_ms >= nd) {
			log_warn("rule %s: no metric has matched \"%s\" yet",
			    ru->rc->name, ru->rc->selector);
			ru->unmatched_warned = true;
		}
		for (size_t i = 0; i < ru->n; i++) {
			if (series_tick(r, ru->rc, ru->series[i], nd, now_ms,
				emit, cookie))
				series_remove(ru, i--);
		}
	}
}

static int64_t
earlier(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * When series_tick() next has work for ${s}: each time below is one at
 * which it changes something, and is gone from the list once it has.
 */
static int64_t
series_due(const struct rule_conf *rc, const struct series *s,
    int64_t no_data_ms)
{
	int64_t due;

	if (s->seen_ms == NO_TIME)
		return NO_TIME; /* loaded from disk: due at once */
	if (s->stale) {
		due = s->seen_ms + SERIES_FORGET_MS;
	} else {
		due = s->seen_ms + no_data_ms;
		/* A pending escalation, as next_state() takes it. */
		if (s->target != ST_OK && s->state != ST_CRITICAL &&
		    !(s->state == ST_WARNING && s->target == ST_WARNING)) {
			if (s->crit_since != NO_TIME)
				due = earlier(due, s->crit_since + rc->for_ms);
			if (s->warn_since != NO_TIME && s->state != ST_WARNING)
				due = earlier(due, s->warn_since + rc->for_ms);
		}
	}
	if (s->state != ST_OK && rc->repeat_ms > 0)
		due = earlier(due, s->notified_ms + rc->repeat_ms);
	return due;
}

int64_t
rules_next_due(const struct rules *r, int64_t now_ms)
{
	int64_t next = INT64_MAX;

	for (size_t j = 0; j < r->n; j++) {
		const struct rule *ru = &r->v[j];
		int64_t nd = ru->rc->no_data_ms > 0 ? ru->rc->no_data_ms :
						      r->no_data_ms;

		if (ru->first_ms == 0)
			return now_ms; /* never ticked */
		if (ru->n == 0 && !ru->unmatched_warned)
			next = earlier(next, ru->first_ms + nd);
		for (size_t i = 0; i < ru->n; i++)
			next = earlier(next,
			    series_due(ru->rc, ru->series[i], nd));
	}
	return next;
}

/* Copy the series of ${from} into ${to}, replacing what it had. */
static int
rule_copy_series(struct rule *to, const struct rule *from)
{
	struct series **v = NULL;
	size_t i;

	if (from->n > 0 && (v = calloc(from->n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		if ((v[i] = malloc(sizeof(*v[i]))) == NULL)
			goto err0;
		*v[i] = *from->series[i];
		if ((v[i]->metric = strdup(from->series[i]->metric)) == NULL) {
			free(v[i]);
			goto err0;
		}
	}
	series_free_all(to);
	to->series = v;
	to->n = to->cap = from->n;
	to->first_ms = from->first_ms;
	to->unmatched_warned = from->unmatched_warned;
	to->full_warned = from->full_warned;
	return 0;

err0:
	while (i-- > 0) {
		free(v[i]->metric);
		free(v[i]);
	}
	free(v);
	return -1;
}

void
rules_adopt(struct rules *r, const struct rules *old)
{
	for (size_t i = 0; i < r->n; i++) {
		struct rule *ru = &r->v[i];
		const struct rule *o = rule_find(old, ru->rc->name);

		if (o == NULL || !rule_conf_same(ru->rc, o->rc))
			continue;
		if (rule_copy_series(ru, o) != 0)
			log_warn("rule %s: out of memory keeping its state "
				 "across the reload",
			    ru->rc->name);
	}
}

void
rules_walk(const struct rules *r, rules_walk_fn *fn, void *cookie)
{
	for (size_t j = 0; j < r->n; j++) {
		const struct rule *ru = &r->v[j];
		struct rule_series_info si;

		if (ru->n == 0) {
			memset(&si, 0, sizeof(si));
			si.rule = ru->rc->name;
			si.metric = "";
			si.state = ST_UNKNOWN;
			si.since_ms = ru->first_ms;
			fn(cookie, &si);
			continue;
		}
		for (size_t i = 0; i < ru->n; i++) {
			const struct series *s = ru->series[i];

			si.rule = ru->rc->name;
			si.metric = s->metric;
			si.state = s->state;
			si.since_ms = s->since_ms;
			si.has_value = s->has_value;
			si.value = s->value;
			si.last_ts_ms = s->last_ts_ms == INT64_MIN ?
			    0 :
			    s->last_ts_ms;
			fn(cookie, &si);
		}
	}
}
