/*
 * schedule.c: parsing job schedules and finding the next run time.
 *
 * Every calendar form ("daily 03:00", "@weekly", "weekly sun 04:00", ...) is
 * turned into the five cron fields, kept as bit sets, so that one search
 * serves them all.  "every N" schedules are separate: multiples of N seconds
 * since the epoch, which needs no time zone at all.
 *
 * The search walks local wall-clock time ("civil" minutes: year, month,
 * day, hour, minute), jumping over months, days and hours that cannot
 * match, and converts each matching wall-clock minute W to the instants
 * whose local time is W.  Usually there is one.  In a spring-forward gap
 * there is none, and W maps to the end of the gap (the first valid time
 * after it); in a fall-back overlap there are two.  The conversion does not
 * trust mktime() with tm_isdst = -1 (which picks either side of a gap or an
 * overlap as the C library likes): it reads the UTC offsets a day and a
 * bit before and after W with localtime_r(), tries both, and keeps the
 * candidates whose offset checks out.
 *
 * Wall-clock order and real-time order agree except inside an overlap,
 * where the second copy of 02:10 comes after the first copy of 02:50.  The
 * search therefore keeps the best instant found so far and stops at the
 * first matching W whose earliest instant is not earlier than it; and when
 * the offset drops within a day after the start time, it starts that much
 * earlier in wall-clock time so that the second copy of the repeated hour
 * is seen.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/civil.h"
#include "lib/fnv.h"
#include "lib/parsenum.h"

#include "lib/schedule.h"

/* 9999-12-31T23:59:59Z: the last second the search will consider. */
#define TIME_MAX_S 253402300799LL
#define DAY_S 86400LL
/* How far from W to read the offsets in force before and after it. */
#define PROBE_S (30 * 3600LL)
/* Years searched before deciding a schedule has no next time. */
#define SEARCH_YEARS 9

enum schedule_kind { SCHEDULE_CALENDAR, SCHEDULE_EVERY };

struct schedule {
	enum schedule_kind kind;
	uint64_t minute; /* bit m: minute m (0-59) */
	uint32_t hour;	 /* bit h: hour h (0-23) */
	uint32_t dom;	 /* bit d: day of month d (1-31) */
	uint32_t month;	 /* bit m: month m (1-12) */
	uint32_t dow;	 /* bit d: weekday d (0 = sunday) */
	bool dom_star;	 /* dom field began with '*' */
	bool dow_star;	 /* dow field began with '*' */
	int64_t every_s; /* SCHEDULE_EVERY: interval */
	char text[SCHEDULE_TEXT_MAX + 1];
};

#define HOURS_ALL ((1u << 24) - 1)

/* The five cron fields. */
struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is value min + i */
	int nnames;
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };
static const char *const dow_long[] = { "sunday", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday" };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day of month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 12 },
	{ "day of week", 0, 7, dow_names, 7 },
};

/* Wall-clock minute in the local time zone. */
struct wall {
	int y, mo, d, h, mi;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* 0 = sunday. */
static int
weekday(int y, int m, int d)
{
	int64_t z = civil_to_days(y, m, d);

	/* 1970-01-01 was a thursday. */
	return (int)((z % 7 + 7 + 4) % 7);
}

/* Wall-clock time as seconds of a UTC-coded timeline ("local epoch"). */
static int64_t
wall_secs(const struct wall *w)
{
	return civil_to_days(w->y, w->mo, w->d) * DAY_S + w->h * 3600LL +
	    w->mi * 60LL;
}

static void
wall_from_secs(int64_t g, struct wall *w)
{
	int64_t days = floor_div(g, DAY_S), rem = g - days * DAY_S;

	civil_from_days(days, &w->y, &w->mo, &w->d);
	w->h = (int)(rem / 3600);
	w->mi = (int)(rem % 3600 / 60);
}

/* UTC offset in seconds in force at instant ${t}.  0 or -1. */
static int
tz_off(int64_t t, int64_t *ret)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return -1;
	*ret = tm.tm_gmtoff;
	return 0;
}

/*
 * The instants whose local time is the wall-clock second ${g}.  Store up to
 * two, ascending, in ${inst} and their number in ${ret_n}; when there is
 * none (a gap), store the end of the gap in inst[0] and 0 in ${ret_n}.
 * Return 0 or -1.
 */
static int
wall_instants(int64_t g, int64_t inst[2], int *ret_n)
{
	int64_t offs[3], found[3], o, t, lo, hi;
	int i, j, n = 0;

	if (tz_off(g - PROBE_S, &offs[0]) || tz_off(g + PROBE_S, &offs[1]) ||
	    tz_off(g, &offs[2]))
		return -1;
	/* Each offset seen nearby gives a candidate; keep those that fit. */
	for (i = 0; i < 3; i++) {
		t = g - offs[i];
		if (tz_off(t, &o))
			return -1;
		if (o != offs[i])
			continue;
		for (j = 0; j < n && found[j] != t; j++)
			;
		if (j == n)
			found[n++] = t;
	}
	/* Ascending; three copies of one time are kept as the first two. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && found[j] < found[j - 1]; j--) {
			t = found[j];
			found[j] = found[j - 1];
			found[j - 1] = t;
		}
	if (n > 2)
		n = 2;
	for (i = 0; i < n; i++)
		inst[i] = found[i];
	*ret_n = n;
	if (n > 0)
		return 0;

	/*
	 * A gap: find the first instant whose local time is past ${g}.  At
	 * lo the local time is before g (offsets are under 26 hours), at hi
	 * after it, and inside a gap local time only moves forward.
	 */
	lo = g - PROBE_S;
	hi = g + PROBE_S;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (tz_off(mid, &o))
			return -1;
		if (mid + o > g)
			hi = mid;
		else
			lo = mid;
	}
	inst[0] = hi;
	return 0;
}

static bool
day_matches(const struct schedule *s, int y, int m, int d)
{
	bool dom_ok = (s->dom >> d) & 1;
	bool dow_ok = (s->dow >> weekday(y, m, d)) & 1;

	/* cron: with both fields restricted, either one suffices. */
	if (s->dom_star || s->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/* Lowest set bit of ${mask} at or above ${from}, or -1. */
static int
next_bit(uint64_t mask, int from, int max)
{
	int i;

	for (i = from; i <= max; i++)
		if ((mask >> i) & 1)
			return i;
	return -1;
}

/*
 * Advance ${w} to the first wall-clock minute at or after it that matches
 * ${s}, looking no further than the end of year ${ymax}.  0 or -1.
 */
static int
next_match(const struct schedule *s, struct wall *w, int ymax)
{
	int b;

	for (;;) {
		if (w->y > ymax)
			return -1;
		if (!((s->month >> w->mo) & 1)) {
			w->d = 1;
			w->h = w->mi = 0;
			if (++w->mo > 12) {
				w->mo = 1;
				w->y++;
			}
			continue;
		}
		if (!day_matches(s, w->y, w->mo, w->d)) {
			w->h = w->mi = 0;
			goto next_day;
		}
		if ((b = next_bit(s->hour, w->h, 23)) < 0) {
			w->h = w->mi = 0;
			goto next_day;
		}
		if (b != w->h) {
			w->h = b;
			w->mi = 0;
		}
		if ((b = next_bit(s->minute, w->mi, 59)) < 0) {
			w->mi = 0;
			if (++w->h > 23) {
				w->h = 0;
				goto next_day;
			}
			continue;
		}
		w->mi = b;
		return 0;
next_day:
		if (++w->d > civil_days_in_month(w->y, w->mo)) {
			w->d = 1;
			if (++w->mo > 12) {
				w->mo = 1;
				w->y++;
			}
		}
	}
}

int64_t
schedule_next(const struct schedule *s, int64_t after_s)
{
	int64_t oa, o, drop = 0, g, best = -1, inst[2], k;
	struct wall w;
	bool every_hour;
	int n, ymax;

	if (s == NULL || after_s < 0 || after_s >= TIME_MAX_S)
		return -1;
	if (s->kind == SCHEDULE_EVERY) {
		g = (floor_div(after_s, s->every_s) + 1) * s->every_s;
		return g <= TIME_MAX_S ? g : -1;
	}

	tzset();
	if (tz_off(after_s, &oa))
		return -1;
	/*
	 * If the clock goes back within the next day, wall-clock times
	 * before local(after_s) recur after it: start the walk that much
	 * earlier.
	 */
	for (k = 1; k <= 27; k++) {
		if (tz_off(after_s + k * 3600, &o))
			return -1;
		if (oa - o > drop)
			drop = oa - o;
	}
	wall_from_secs(floor_div(after_s + oa - drop, 60) * 60, &w);
	ymax = w.y + SEARCH_YEARS;
	if (ymax > 9999)
		ymax = 9999;
	every_hour = s->hour == HOURS_ALL;

	for (;;) {
		if (next_match(s, &w, ymax) != 0)
			break;
		g = wall_secs(&w);
		if (wall_instants(g, inst, &n))
			return -1;
		if (n == 0) {
			/*
			 * W does not exist today.  A job at a fixed hour
			 * runs once at the end of the gap; an every-hour
			 * job just goes on with the next real time.
			 */
			if (!every_hour && inst[0] > after_s &&
			    (best < 0 || inst[0] < best))
				best = inst[0];
		} else {
			if (inst[0] > after_s && (best < 0 || inst[0] < best))
				best = inst[0];
			/* A repeated time's second copy: every-hour only. */
			if (n == 2 && every_hour && inst[1] > after_s &&
			    (best < 0 || inst[1] < best))
				best = inst[1];
		}
		/* Later W only have later first instants. */
		if (best >= 0 && inst[0] >= best)
			break;
		if (++w.mi > 59) {
			w.mi = 0;
			if (++w.h > 23) {
				w.h = 0;
				if (++w.d > civil_days_in_month(w.y, w.mo)) {
					w.d = 1;
					if (++w.mo > 12) {
						w.mo = 1;
						w.y++;
					}
				}
			}
		}
	}
	return best >= 0 && best <= TIME_MAX_S ? best : -1;
}

bool
schedule_missed(const struct schedule *s, int64_t last_run_s, int64_t now_s)
{
	int64_t next;

	if (last_run_s >= now_s)
		return false;
	next = schedule_next(s, last_run_s);
	return next >= 0 && next <= now_s;
}

int64_t
schedule_splay_host(const char *host, const char *job, int64_t splay_s)
{
	uint64_t h;

	if (splay_s <= 0)
		return 0;
	if (host == NULL)
		host = "";
	if (job == NULL)
		job = "";
	/* The NUL between the names keeps "ab"+"c" apart from "a"+"bc". */
	h = fnv1a64(FNV1A64_INIT, host, strlen(host) + 1);
	h = fnv1a64(h, job, strlen(job));
	return (int64_t)(h % (uint64_t)splay_s);
}

int64_t
schedule_splay(const char *job, int64_t splay_s)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	return schedule_splay_host(host, job, splay_s);
}

const char *
schedule_text(const struct schedule *s)
{
	return s->text;
}

int64_t
schedule_interval(const struct schedule *s)
{
	return s->kind == SCHEDULE_EVERY ? s->every_s : 0;
}

void
schedule_free(struct schedule *s)
{
	free(s);
}

/* Parsing. */

/* Split ${buf} in place at white space into at most ${max} words. */
static int
split_words(char *buf, char **words, int max)
{
	int n = 0;
	char *p = buf;

	for (;;) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
}

static int
lookup_name(const char *s, size_t len, const char *const *names, int nnames)
{
	int i;

	for (i = 0; i < nnames; i++)
		if (strlen(names[i]) == len &&
		    strncasecmp(s, names[i], len) == 0)
			return i;
	return -1;
}

/*
 * Read one value of field ${f} at *${pp}: a number or, for month and
 * weekday, a name.  Advance *${pp}.  0 or -1 with a message.
 */
static int
field_value(const struct field *f, int idx, const char **pp, int *ret,
    struct ag_err *err)
{
	const char *p = *pp, *start = p;
	size_t len;
	long v = 0;
	int k;

	while (isalnum((unsigned char)*p))
		p++;
	len = (size_t)(p - start);
	if (len == 0) {
		if (*p == '\0')
			return ag_err_set(err,
			    "field %d (%s): a value is "
			    "missing",
			    idx + 1, f->name);
		return ag_err_set(err, "field %d (%s): unexpected \"%c\"",
		    idx + 1, f->name, *p);
	}
	if (isdigit((unsigned char)*start)) {
		for (k = 0; k < (int)len; k++) {
			if (!isdigit((unsigned char)start[k]))
				return ag_err_set(err,
				    "field %d (%s): "
				    "\"%.*s\" is not a number",
				    idx + 1, f->name, (int)len, start);
			if (v < 100000)
				v = v * 10 + (start[k] - '0');
		}
		if (v < f->min || v > f->max)
			return ag_err_set(err,
			    "field %d (%s): %.*s is out of "
			    "range %d-%d",
			    idx + 1, f->name, (int)len, start, f->min, f->max);
		*ret = (int)v;
	} else {
		if (f->names == NULL)
			return ag_err_set(err,
			    "field %d (%s): \"%.*s\" is not "
			    "a number",
			    idx + 1, f->name, (int)len, start);
		if ((k = lookup_name(start, len, f->names, f->nnames)) < 0)
			return ag_err_set(err,
			    "field %d (%s): unknown name "
			    "\"%.*s\" (use %s-%s)",
			    idx + 1, f->name, (int)len, start, f->names[0],
			    f->names[f->nnames - 1]);
		*ret = f->min + k;
	}
	*pp = p;
	return 0;
}

/*
 * Parse cron field number ${idx} from ${text} into the bit set ${ret} and
 * whether it begins with '*' into ${ret_star}.  0 or -1 with a message.
 */
static int
field_parse(int idx, const char *text, uint64_t *ret, bool *ret_star,
    struct ag_err *err)
{
	const struct field *f = &fields[idx];
	const char *p = text;
	uint64_t bits = 0;
	int lo, hi, step, v;

	for (;;) {
		const char *item = p;
		bool range = false;

		if (*p == ',' || *p == '\0')
			return ag_err_set(err,
			    "field %d (%s): empty item in "
			    "list \"%s\"",
			    idx + 1, f->name, text);
		if (*p == '*') {
			lo = f->min;
			/* '*' in day of week is 0-6; 7 only aliases 0. */
			hi = idx == 4 ? 6 : f->max;
			p++;
			range = true;
		} else {
			if (field_value(f, idx, &p, &lo, err))
				return -1;
			hi = lo;
			if (*p == '-') {
				p++;
				if (field_value(f, idx, &p, &hi, err))
					return -1;
				if (hi < lo)
					return ag_err_set(err,
					    "field %d (%s): "
					    "range %.*s is reversed",
					    idx + 1, f->name, (int)(p - item),
					    item);
				range = true;
			}
		}
		step = 1;
		if (*p == '/') {
			const char *sp = ++p;
			long sv = 0;

			if (!range)
				return ag_err_set(err,
				    "field %d (%s): a step "
				    "needs a range or *: \"%.*s\" (write "
				    "%d-%d/...)",
				    idx + 1, f->name, (int)(p - 1 - item),
				    item, lo, f->max);
			while (isdigit((unsigned char)*p)) {
				if (sv < 100000)
					sv = sv * 10 + (*p - '0');
				p++;
			}
			if (p == sp)
				return ag_err_set(err,
				    "field %d (%s): a step "
				    "must be a number: \"%s\"",
				    idx + 1, f->name, text);
			if (sv < 1 || sv > f->max)
				return ag_err_set(err,
				    "field %d (%s): step "
				    "%.*s is out of range 1-%d",
				    idx + 1, f->name, (int)(p - sp), sp,
				    f->max);
			step = (int)sv;
		}
		if (*p != ',' && *p != '\0')
			return ag_err_set(err,
			    "field %d (%s): unexpected "
			    "\"%c\" in \"%s\"",
			    idx + 1, f->name, *p, text);
		for (v = lo; v <= hi; v += step)
			bits |= (uint64_t)1 << v;
		if (*p == '\0')
			break;
		p++;
	}
	if (idx == 4 && (bits >> 7) & 1)
		bits = (bits & ~((uint64_t)1 << 7)) | 1; /* 7: sunday */
	*ret = bits;
	*ret_star = text[0] == '*';
	return 0;
}

/* "HH:MM" (hour 0-23, one or two digits; minute two digits).  0 or -1. */
static int
parse_hhmm(const char *s, int *ret_h, int *ret_m, struct ag_err *err)
{
	size_t len = strlen(s), hl;
	const char *colon = strchr(s, ':');
	int h, m;

	if (colon == NULL || (hl = (size_t)(colon - s)) < 1 || hl > 2 ||
	    len != hl + 3 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[hl - 1]) ||
	    !isdigit((unsigned char)colon[1]) ||
	    !isdigit((unsigned char)colon[2]))
		return ag_err_set(err, "\"%s\" is not a time of day HH:MM", s);
	h = hl == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
	m = (colon[1] - '0') * 10 + (colon[2] - '0');
	if (h > 23)
		return ag_err_set(err, "time %s: hour %d is out of range 0-23",
		    s, h);
	if (m > 59)
		return ag_err_set(err,
		    "time %s: minute %d is out of range "
		    "0-59",
		    s, m);
	*ret_h = h;
	*ret_m = m;
	return 0;
}

static void
set_calendar(struct schedule *s, int minute, int hour, int dom, int dow)
{
	s->kind = SCHEDULE_CALENDAR;
	s->minute = (uint64_t)1 << minute;
	s->hour = hour < 0 ? HOURS_ALL : 1u << hour;
	s->dom = dom < 0 ? ((1u << 31) - 1) << 1 : 1u << dom;
	s->month = ((1u << 12) - 1) << 1;
	s->dow = dow < 0 ? (1u << 7) - 1 : 1u << dow;
	s->dom_star = dom < 0;
	s->dow_star = dow < 0;
}

/* A cron shorthand such as "@daily".  0 or -1. */
static int
parse_at(struct schedule *s, const char *w, struct ag_err *err)
{
	if (strcasecmp(w, "@hourly") == 0)
		set_calendar(s, 0, -1, -1, -1);
	else if (strcasecmp(w, "@daily") == 0 ||
	    strcasecmp(w, "@midnight") == 0)
		set_calendar(s, 0, 0, -1, -1);
	else if (strcasecmp(w, "@weekly") == 0)
		set_calendar(s, 0, 0, -1, 0);
	else if (strcasecmp(w, "@monthly") == 0)
		set_calendar(s, 0, 0, 1, -1);
	else if (strcasecmp(w, "@yearly") == 0 ||
	    strcasecmp(w, "@annually") == 0) {
		set_calendar(s, 0, 0, 1, -1);
		s->month = 1u << 1;
	} else if (strcasecmp(w, "@reboot") == 0)
		return ag_err_set(err,
		    "@reboot is not supported: a backup "
		    "schedule needs times");
	else
		return ag_err_set(err,
		    "unknown shorthand \"%s\" (use @hourly, "
		    "@daily, @weekly, @monthly or @yearly)",
		    w);
	return 0;
}

/* "sun", "sunday" or 0-7.  Return the weekday 0-6 or -1. */
static int
parse_dow_word(const char *w)
{
	int k;

	if ((k = lookup_name(w, strlen(w), dow_names, 7)) >= 0 ||
	    (k = lookup_name(w, strlen(w), dow_long, 7)) >= 0)
		return k;
	if (w[0] >= '0' && w[0] <= '7' && w[1] == '\0')
		return (w[0] - '0') % 7;
	return -1;
}

/* The cron form: five fields.  0 or -1. */
static int
parse_cron(struct schedule *s, char **words, struct ag_err *err)
{
	uint64_t bits[5];
	bool star[5];
	int i, m, d;

	for (i = 0; i < 5; i++)
		if (field_parse(i, words[i], &bits[i], &star[i], err))
			return -1;
	s->kind = SCHEDULE_CALENDAR;
	s->minute = bits[0];
	s->hour = (uint32_t)bits[1];
	s->dom = (uint32_t)bits[2];
	s->month = (uint32_t)bits[3];
	s->dow = (uint32_t)bits[4];
	s->dom_star = star[2];
	s->dow_star = star[4];

	/*
	 * When days are chosen by day of month alone, some of them must exist
	 * in some chosen month ("0 0 30 feb *" never runs).  February counts
	 * as 29 days: leap years come.
	 */
	if (!s->dow_star || s->dom_star)
		return 0;
	for (m = 1; m <= 12; m++) {
		if (!((s->month >> m) & 1))
			continue;
		for (d = 1; d <= (m == 2 ? 29 : civil_days_in_month(2001, m));
		     d++)
			if ((s->dom >> d) & 1)
				return 0;
	}
	for (d = 1; !((s->dom >> d) & 1); d++)
		;
	return ag_err_set(err,
	    "the schedule never runs: no selected month "
	    "has day %d",
	    d);
}

/* "every 6h": a positive whole number of seconds within bounds.  0 or -1. */
static int
parse_every(struct schedule *s, char **words, int n, struct ag_err *err)
{
	int64_t ms;

	if (n != 2)
		return ag_err_set(err,
		    "\"every\" takes one duration, e.g. "
		    "\"every 6h\" or \"every 30m\"");
	if (parse_duration_ms(words[1], &ms) != 0)
		return ag_err_set(err,
		    "every: \"%s\" is not a duration (e.g. "
		    "30m, 6h, 1d)",
		    words[1]);
	if (ms % 1000 != 0)
		return ag_err_set(err,
		    "every: %s is not a whole number of "
		    "seconds",
		    words[1]);
	if (ms / 1000 < SCHEDULE_EVERY_MIN_S ||
	    ms / 1000 > SCHEDULE_EVERY_MAX_S)
		return ag_err_set(err, "every: %s is out of range 1m-366d",
		    words[1]);
	s->kind = SCHEDULE_EVERY;
	s->every_s = ms / 1000;
	return 0;
}

int
schedule_parse(const char *text, struct schedule **ret, struct ag_err *err)
{
	char buf[SCHEDULE_TEXT_MAX + 1], *words[6];
	struct schedule *s;
	const char *p, *e;
	int n, h, m, d;

	if (text == NULL)
		return ag_err_set(err, "schedule is missing");
	for (p = text; isspace((unsigned char)*p); p++)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
		;
	if (e == p)
		return ag_err_set(err, "schedule is empty");
	if ((size_t)(e - p) > SCHEDULE_TEXT_MAX)
		return ag_err_set(err, "schedule is longer than %d characters",
		    SCHEDULE_TEXT_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ag_err_set(err, "out of memory");
	memcpy(s->text, p, (size_t)(e - p));
	s->text[e - p] = '\0';
	memcpy(buf, s->text, (size_t)(e - p) + 1);
	n = split_words(buf, words, 5);

	if (words[0][0] == '@') {
		if (n != 1) {
			ag_err_set(err, "%s takes nothing after it", words[0]);
			goto fail;
		}
		if (parse_at(s, words[0], err))
			goto fail;
	} else if (strcasecmp(words[0], "hourly") == 0) {
		if (n != 1) {
			ag_err_set(err,
			    "\"hourly\" takes nothing after it "
			    "(it runs at minute 0; use \"M * * * *\" for "
			    "another minute)");
			goto fail;
		}
		set_calendar(s, 0, -1, -1, -1);
	} else if (strcasecmp(words[0], "daily") == 0) {
		if (n != 2) {
			ag_err_set(err,
			    "\"daily\" needs a time: "
			    "\"daily HH:MM\", e.g. \"daily 03:00\"");
			goto fail;
		}
		if (parse_hhmm(words[1], &h, &m, err))
			goto fail;
		set_calendar(s, m, h, -1, -1);
	} else if (strcasecmp(words[0], "weekly") == 0) {
		if (n != 3) {
			ag_err_set(err,
			    "\"weekly\" needs a day and a time: "
			    "\"weekly DOW HH:MM\", e.g. \"weekly sun 04:00\"");
			goto fail;
		}
		if ((d = parse_dow_word(words[1])) < 0) {
			ag_err_set(err,
			    "weekly: \"%s\" is not a day of the "
			    "week (sun-sat or 0-7)",
			    words[1]);
			goto fail;
		}
		if (parse_hhmm(words[2], &h, &m, err))
			goto fail;
		set_calendar(s, m, h, -1, d);
	} else if (strcasecmp(words[0], "monthly") == 0) {
		if (n != 3) {
			ag_err_set(err,
			    "\"monthly\" needs a day and a time: "
			    "\"monthly D HH:MM\", e.g. \"monthly 1 04:00\"");
			goto fail;
		}
		if (strspn(words[1], "0123456789") != strlen(words[1]) ||
		    strlen(words[1]) > 2 || (d = atoi(words[1])) < 1 ||
		    d > 28) {
			ag_err_set(err,
			    "monthly: day \"%s\" is out of range "
			    "1-28 (every month has these; for later days use "
			    "a cron expression)",
			    words[1]);
			goto fail;
		}
		if (parse_hhmm(words[2], &h, &m, err))
			goto fail;
		set_calendar(s, m, h, d, -1);
	} else if (strcasecmp(words[0], "every") == 0) {
		if (parse_every(s, words, n, err))
			goto fail;
	} else if (n == 5) {
		if (parse_cron(s, words, err))
			goto fail;
	} else if (isdigit((unsigned char)words[0][0]) || words[0][0] == '*') {
		if (n > 5)
			ag_err_set(err,
			    "a cron expression has 5 fields "
			    "(m h dom mon dow), \"%s\" has more",
			    s->text);
		else
			ag_err_set(err,
			    "a cron expression has 5 fields "
			    "(m h dom mon dow), \"%s\" has %d",
			    s->text, n);
		goto fail;
	} else {
		ag_err_set(err,
		    "unknown schedule \"%s\": expected 5 cron "
		    "fields (\"m h dom mon dow\"), @daily, \"hourly\", "
		    "\"daily HH:MM\", \"weekly DOW HH:MM\", "
		    "\"monthly D HH:MM\" or \"every 6h\"",
		    s->text);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	free(s);
	return -1;
}
