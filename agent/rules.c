/*
 * rules.c: threshold rules and their state machine (see rules.h and
 * docs/RULES.md).
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
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/log.h"
#include "agent/rules.h"

#define NO_TIME			INT64_MIN	/* a timer not running */
#define SERIES_MAX		10000		/* per rule */
#define DEFAULT_NO_DATA_MS	(5 * 60 * 1000)
#define REPEAT_MIN_MS		(60 * 1000)
/* A series without readings for this long is forgotten, silently. */
#define SERIES_FORGET_MS	(7LL * 24 * 3600 * 1000)
#define STATE_VERSION		1
#define STATE_FILE_MAX		(64 * 1024 * 1024)
/* Saved times beyond the year 9999 are nonsense (and could overflow). */
#define SAVED_TIME_MAX		253402300799999LL
#define RULE_NAME_MAX		sizeof(((struct notification *)0)->rule)

struct series {
	char *metric;
	enum alert_state state;
	enum alert_state target;	/* asked for by the last reading */
	int64_t since_ms;		/* when ${state} began */
	int64_t warn_since;		/* target not OK since, or NO_TIME */
	int64_t crit_since;		/* target CRITICAL since, or NO_TIME */
	int64_t seen_ms;		/* engine time of the last reading */
	int64_t notified_ms;		/* last notification, for reminders */
	int64_t last_ts_ms;		/* timestamp of the last reading */
	bool has_value;
	bool stale;			/* no_data has been applied */
	double value;
};

struct rule {
	struct rule_conf *rc;
	struct series **series;		/* sorted by metric name */
	size_t n, cap;
	int64_t first_ms;		/* first feed or tick, 0: none yet */
	bool full_warned;		/* SERIES_MAX reached, logged */
	bool unmatched_warned;		/* "matched nothing" logged */
};

struct rules {
	char host[128];
	struct rule *v;
	size_t n, cap;
	int64_t no_data_ms;
	uint32_t seq;			/* for notification ids */
};

static const char *const op_names[] = { ">", ">=", "<", "<=", "==", "!=",
	NULL };

/* Order of the "no_data_state" choices; "keep" is the last. */
static const char *const no_data_names[] = { "unknown", "ok", "warning",
	"critical", "keep", NULL };
static const enum alert_state no_data_states[] = { ST_UNKNOWN, ST_OK,
	ST_WARNING, ST_CRITICAL };

static const char *const rule_keys[] = { "name", "metric", "op", "warn",
	"crit", "for", "clear", "repeat", "no_data", "no_data_state", "notify",
	NULL };

const char *
rule_op_name(enum rule_op op)
{
	if ((unsigned)op >= ARRAY_SIZE(op_names) - 1)
		return "?";
	return op_names[op];
}

/* Does ${v} cross ${level} in the direction of ${op}? */
static bool
crosses(enum rule_op op, double v, double level)
{
	switch (op) {
	case OP_GT:
		return v > level;
	case OP_GE:
		return v >= level;
	case OP_LT:
		return v < level;
	case OP_LE:
		return v <= level;
	case OP_EQ:
		return v == level;
	case OP_NE:
		return v != level;
	}
	return false;
}

/* Is ${op} one of the "greater" operators (a high value is bad)? */
static bool
op_up(enum rule_op op)
{
	return op == OP_GT || op == OP_GE;
}

/* Configuration. */

void
rule_conf_free(struct rule_conf *rc)
{
	if (rc == NULL)
		return;
	free(rc->name);
	free(rc->selector);
	conf_strv_free(rc->notify);
	free(rc);
}

/* Check that a name is 1 to ${max} - 1 characters without control bytes. */
static bool
name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len >= max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * Check the levels against the operator: for ">" and ">=" crit must not be
 * below warn and clear not above the lowest level, for "<" and "<=" the
 * reverse; "==" and "!=" have no order, so clear means nothing there.
 */
static bool
levels_ok(const conf_node *cs, const struct rule_conf *rc,
    struct conf_errs *errs)
{
	const char *op = rule_op_name(rc->op);
	double low = rc->has_warn ? rc->warn : rc->crit;
	bool ok = true;

	if (rc->has_warn && rc->has_crit && rc->op != OP_EQ &&
	    rc->op != OP_NE && (op_up(rc->op) ? rc->crit < rc->warn :
	    rc->crit > rc->warn)) {
		conf_error_at(errs, cs, "crit", "%g must be %s warn (%g) for "
		    "op \"%s\"", rc->crit, op_up(rc->op) ? ">=" : "<=",
		    rc->warn, op);
		ok = false;
	}
	if (!rc->has_clear || (!rc->has_warn && !rc->has_crit))
		return ok;
	if (rc->op == OP_EQ || rc->op == OP_NE) {
		conf_error_at(errs, cs, "clear", "is not allowed with op "
		    "\"%s\"", op);
		return false;
	}
	if (op_up(rc->op) ? rc->clear > low : rc->clear < low) {
		conf_error_at(errs, cs, "clear", "%g must be %s %s (%g) for "
		    "op \"%s\": a firing rule recovers when the value "
		    "crosses back past it", rc->clear,
		    op_up(rc->op) ? "<=" : ">=", rc->has_warn ? "warn" : "crit",
		    low, op);
		ok = false;
	}
	return ok;
}

int
rule_conf_parse(const conf_node *cs, struct rule_conf **ret,
    struct conf_errs *errs)
{
	struct rule_conf *rc;
	const char *s;
	int op = OP_GT, nd = 0, gw, gc, gop;
	bool bad = false;

	if (!conf_is_group(cs))
		return conf_error(errs, cs, "a rule must be a group: { name = "
		    "\"...\"; metric = \"...\"; warn = ...; }");
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return conf_error(errs, cs, "out of memory");
	if (conf_check_keys(errs, cs, rule_keys) > 0)
		bad = true;

	if (conf_get_str(errs, cs, "name", true, &s) != 1) {
		bad = true;
	} else if (!name_ok(s, RULE_NAME_MAX)) {
		conf_error_at(errs, cs, "name", "must be 1 to %zu printable "
		    "characters", RULE_NAME_MAX - 1);
		bad = true;
	} else if ((rc->name = strdup(s)) == NULL) {
		goto oom;
	}
	if (conf_get_str(errs, cs, "metric", true, &s) != 1) {
		bad = true;
	} else if (!name_ok(s, METRIC_NAME_MAX)) {
		conf_error_at(errs, cs, "metric", "must be a metric name or "
		    "glob of 1 to %d printable characters",
		    METRIC_NAME_MAX - 1);
		bad = true;
	} else if ((rc->selector = strdup(s)) == NULL) {
		goto oom;
	}
	if ((gop = conf_get_enum(errs, cs, "op", false, op_names, &op)) < 0)
		bad = true;
	rc->op = (enum rule_op)op;

	gw = conf_get_num(errs, cs, "warn", false, -DBL_MAX, DBL_MAX,
	    &rc->warn);
	gc = conf_get_num(errs, cs, "crit", false, -DBL_MAX, DBL_MAX,
	    &rc->crit);
	rc->has_warn = gw == 1;
	rc->has_crit = gc == 1;
	if (gw < 0 || gc < 0)
		bad = true;
	if (gw == 0 && gc == 0) {
		conf_error(errs, cs, "a rule needs warn, crit or both");
		bad = true;
	}
	switch (conf_get_num(errs, cs, "clear", false, -DBL_MAX, DBL_MAX,
	    &rc->clear)) {
	case 1:
		rc->has_clear = true;
		break;
	case -1:
		bad = true;
		break;
	}
	/* Only compare levels that were read, under the operator given. */
	if (gop >= 0 && gw >= 0 && gc >= 0 && !levels_ok(cs, rc, errs))
		bad = true;

	if (conf_get_dur(errs, cs, "for", false, 0, &rc->for_ms) < 0)
		bad = true;
	if (conf_get_dur(errs, cs, "repeat", false, 0, &rc->repeat_ms) < 0) {
		bad = true;
	} else if (rc->repeat_ms != 0 && rc->repeat_ms < REPEAT_MIN_MS) {
		conf_error_at(errs, cs, "repeat", "must be \"0\" (no "
		    "reminders) or at least \"1m\"");
		bad = true;
	}
	if (conf_get_dur(errs, cs, "no_data", false, 0, &rc->no_data_ms) < 0) {
		bad = true;
	} else if (rc->no_data_ms != 0 && rc->no_data_ms < 1000) {
		conf_error_at(errs, cs, "no_data", "must be at least \"1s\"");
		bad = true;
	}
	if (conf_get_enum(errs, cs, "no_data_state", false, no_data_names,
	    &nd) < 0)
		bad = true;
	if ((size_t)nd < ARRAY_SIZE(no_data_states))
		rc->no_data_state = no_data_states[nd];
	else
		rc->no_data_keep = true;

	if (conf_get_strv(errs, cs, "notify", false, &rc->notify,
	    &rc->nnotify) < 0)
		bad = true;
	for (size_t i = 0; i < rc->nnotify; i++) {
		if (rc->notify[i][0] == '\0') {
			conf_error_at(errs, cs, "notify", "empty notifier "
			    "name");
			bad = true;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(rc->notify[i], rc->notify[j]) == 0) {
				conf_error_at(errs, cs, "notify", "\"%s\" is "
				    "listed twice", rc->notify[i]);
				bad = true;
				break;
			}
		}
	}

	if (bad) {
		rule_conf_free(rc);
		return -1;
	}
	*ret = rc;
	return 0;

oom:
	rule_conf_free(rc);
	return conf_error(errs, cs, "out of memory");
}

bool
rule_conf_same(const struct rule_conf *a, const struct rule_conf *b)
{
	if (strcmp(a->name, b->name) != 0 ||
	    strcmp(a->selector, b->selector) != 0 || a->op != b->op ||
	    a->has_warn != b->has_warn || a->has_crit != b->has_crit ||
	    a->has_clear != b->has_clear ||
	    (a->has_warn && a->warn != b->warn) ||
	    (a->has_crit && a->crit != b->crit) ||
	    (a->has_clear && a->clear != b->clear) ||
	    a->for_ms != b->for_ms || a->repeat_ms != b->repeat_ms ||
	    a->no_data_ms != b->no_data_ms ||
	    a->no_data_keep != b->no_data_keep ||
	    (!a->no_data_keep && a->no_data_state != b->no_data_state) ||
	    a->nnotify != b->nnotify)
		return false;
	for (size_t i = 0; i < a->nnotify; i++)
		if (strcmp(a->notify[i], b->notify[i]) != 0)
			return false;
	return true;
}

/* FNV-1a, for notification ids and the settings stamp in the state file. */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* A hash of every setting rule_conf_same() compares. */
static uint64_t
rule_conf_hash(const struct rule_conf *rc)
{
	int64_t iv[6] = { rc->op, rc->for_ms, rc->repeat_ms, rc->no_data_ms,
		rc->no_data_keep ? -1 : (int64_t)rc->no_data_state,
		(int64_t)rc->nnotify };
	double lv[3] = { rc->has_warn ? rc->warn : NAN,
		rc->has_crit ? rc->crit : NAN,
		rc->has_clear ? rc->clear : NAN };
	uint64_t h = FNV_INIT;

	h = fnv(h, rc->name, strlen(rc->name) + 1);
	h = fnv(h, rc->selector, strlen(rc->selector) + 1);
	h = fnv(h, iv, sizeof(iv));
	for (size_t i = 0; i < 3; i++) {
		/* Levels that are not set hash as one fixed marker. */
		if (isnan(lv[i]))
			h = fnv(h, "-", 1);
		else
			h = fnv(h, &lv[i], sizeof(lv[i]));
	}
	for (size_t i = 0; i < rc->nnotify; i++)
		h = fnv(h, rc->notify[i], strlen(rc->notify[i]) + 1);
	return h;
}

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
static struct series *
series_get(struct rule *ru, const char *metric, int64_t now)
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
			    "ignoring new ones such as %s", ru->rc->name,
			    SERIES_MAX, ru->rc->selector, metric);
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
threshold_of(const struct rule_conf *rc, const struct series *s,
    double *ret)
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
		*ret = rc->has_clear ? rc->clear : rc->has_warn ? rc->warn :
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
	h = fnv(fnv(FNV_INIT, rc->name, strlen(rc->name) + 1), s->metric,
	    strlen(s->metric));
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
	if (rc->has_crit && crosses(rc->op, v, rc->crit))
		return ST_CRITICAL;
	if (rc->has_warn && crosses(rc->op, v, rc->warn))
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
	return held == ST_OK ? s->state : held;	/* ST_OK: still pending */
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
	if (t == ST_OK && (s->state == ST_WARNING ||
	    s->state == ST_CRITICAL) && rc->has_clear &&
	    (!s->stale || rc->no_data_keep) && crosses(rc->op, v, rc->clear))
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

void
rules_feed(struct rules *r, const struct metric_batch *b, rules_emit_fn *emit,
    void *cookie)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct metric *m = &b->v[i];
		int64_t now = b->now_ms != 0 ? b->now_ms : m->ts_ms;

		if (memchr(m->name, '\0', sizeof(m->name)) == NULL)
			continue;
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
			if (!metric_glob_match(ru->rc->selector, m->name))
				continue;
			if ((s = series_get(ru, m->name, now)) == NULL)
				continue;
			/* Late or repeated data must not undo newer data. */
			if (m->ts_ms < s->last_ts_ms)
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
rules_tick(struct rules *r, int64_t now_ms, rules_emit_fn *emit,
    void *cookie)
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
		return NO_TIME;		/* loaded from disk: due at once */
	if (s->stale) {
		due = s->seen_ms + SERIES_FORGET_MS;
	} else {
		due = s->seen_ms + no_data_ms;
		/* A pending escalation, as next_state() takes it. */
		if (s->target != ST_OK && s->state != ST_CRITICAL &&
		    !(s->state == ST_WARNING && s->target == ST_WARNING)) {
			if (s->crit_since != NO_TIME)
				due = earlier(due, s->crit_since + rc->for_ms);
			if (s->warn_since != NO_TIME &&
			    s->state != ST_WARNING)
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
			return now_ms;	/* never ticked */
		if (ru->n == 0 && !ru->unmatched_warned)
			next = earlier(next, ru->first_ms + nd);
		for (size_t i = 0; i < ru->n; i++)
			next = earlier(next, series_due(ru->rc, ru->series[i],
			    nd));
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
			    "across the reload", ru->rc->name);
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
			si.last_ts_ms = s->last_ts_ms == INT64_MIN ? 0 :
			    s->last_ts_ms;
			fn(cookie, &si);
		}
	}
}

/* Persistence. */

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
		if (arr == NULL || json_object_set_new(jr, ru->rc->name,
		    json_pack("{s:s, s:o}", "conf", hash, "series", arr)) != 0)
			goto err0;
		for (size_t i = 0; i < ru->n; i++) {
			const struct series *s = ru->series[i];
			json_t *js = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}",
			    "metric", s->metric,
			    "state", alert_state_name(s->state),
			    "since_ms", (json_int_t)s->since_ms,
			    "notified_ms", (json_int_t)s->notified_ms,
			    "last_ts_ms", (json_int_t)(s->last_ts_ms ==
			    INT64_MIN ? 0 : s->last_ts_ms),
			    "stale", s->stale);

			if (js == NULL || (s->has_value &&
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
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
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
	    "notified_ms", &notified, "last_ts_ms", &last_ts,
	    "stale", &stale) != 0 || alert_state_parse(state, &st) != 0 ||
	    !name_ok(metric, METRIC_NAME_MAX) ||
	    !metric_glob_match(ru->rc->selector, metric) ||
	    since < 0 || since > SAVED_TIME_MAX || notified < 0 ||
	    notified > SAVED_TIME_MAX || last_ts < 0 ||
	    last_ts > SAVED_TIME_MAX) {
		log_debug("rules: %s: skipping a malformed saved series",
		    ru->rc->name);
		return;
	}
	if ((s = series_get(ru, metric, since)) == NULL)
		return;
	s->state = s->target = st;
	s->since_ms = since;
	s->notified_ms = notified;
	s->last_ts_ms = last_ts;
	s->stale = stale != 0;
	s->warn_since = s->crit_since = NO_TIME;	/* down time is a gap */
	s->seen_ms = NO_TIME;	/* staleness counts from the next tick */
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
		    "rule states start afresh", path, STATE_FILE_MAX);
		close(fd);
		return -1;
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (root == NULL || json_unpack(root, "{s:I, s:o}", "version",
	    &version, "rules", &jr) != 0 || version != STATE_VERSION ||
	    !json_is_object(jr)) {
		log_warn("rules: %s: not a rule state file (%s); rule states "
		    "start afresh", path, root == NULL ? jerr.text :
		    "unexpected content");
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
		if (jo == NULL || json_unpack(jo, "{s:s, s:o}",
		    "conf", &conf, "series", &series) != 0 ||
		    strcmp(conf, hash) != 0 || !json_is_array(series))
			continue;
		json_array_foreach(series, i, js)
			series_from_json(ru, js);
	}
	json_decref(root);
	return 0;
}
