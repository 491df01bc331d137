/*
 * archive.c: the metric archive (see archive.h, docs/ARCHIVE.md).
 *
 * The folder <state_dir>/archive holds, per UTC hour:
 *
 *	YYYYMMDDHH.ndjson		lines of the hour being written (appended
 *					by the archive thread, fdatasync'd after
 *					each batch; a torn last line is cut off at
 *					the next start: archive_recover_file())
 *	YYYYMMDDHH.ndjson.gz[.vgl]	the hour sealed by the module
 *					(archive_seal(): temporary file, fsync,
 *					rename), waiting for its upload
 *
 * An hour is sealed once its end plus grace_ms has passed (wall clock);
 * a reading that comes for such an hour later is dropped and counted, so a
 * sealed hour never changes.  The scheduler's side, archive_add(), only
 * formats lines under the mutex; everything on disk and in storage happens
 * on the archive thread, so a storage outage or a slow disk holds up no
 * collection, rule or control client.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/archive.h"
#include "agent/metric.h"
#include "agent/plugin_module.h"
#include "agent/runconf.h"
#include "lib/ag.h"
#include "lib/backoff.h"
#include "lib/buf.h"
#include "lib/cancel.h"
#include "lib/civil.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/utf8.h"

static const char *const archive_keys[] = { "storage", "prefix", "key_file",
	"spool_max", "grace", NULL };

/* Uploads tried again after 1 s, doubling up to 5 min (lib/backoff.h). */
static const struct backoff archive_retry = { 1000, 5 * 60 * 1000, 0 };

/* The archive thread looks at its folder at least this often. */
#define ARCHIVE_TICK_MS 1000

/* The longest file name in the folder. */
#define ARCHIVE_NAME_MAX 64

int
archive_conf_parse(const conf_node *node, const conf_node *storage_section,
    struct archive_conf *ret, struct conf_errs *errs)
{
	size_t nerr = errs->n;
	int64_t grace = ARCHIVE_GRACE_DEFAULT_MS;
	uint64_t smax = ARCHIVE_SPOOL_MAX_DEFAULT;
	const char *s;

	memset(ret, 0, sizeof(*ret));
	ret->prefix = "";
	if (!conf_is_group(node))
		return conf_error(errs, node, "must be a group");
	(void)conf_check_keys(errs, node, archive_keys);
	if (conf_get_str(errs, node, "storage", true, &ret->storage) == 1 &&
	    conf_member(storage_section, ret->storage) == NULL)
		conf_error_at(errs, node, "storage",
		    "no storage target named \"%s\"", ret->storage);
	if (conf_get_str(errs, node, "prefix", false, &s) == 1) {
		size_t n = strlen(s);

		if (n > 0 && (s[0] == '/' || s[n - 1] == '/' || n > 256))
			conf_error_at(errs, node, "prefix",
			    "must not start or end with '/' (at most 256 "
			    "bytes)");
		ret->prefix = s;
	}
	if (conf_get_str(errs, node, "key_file", false, &s) == 1) {
		if (s[0] != '/')
			conf_error_at(errs, node, "key_file",
			    "must be an absolute path");
		ret->key_file = s;
	}
	if (conf_get_size(errs, node, "spool_max", false, &smax) == 1 &&
	    smax < ((uint64_t)1 << 20))
		conf_error_at(errs, node, "spool_max",
		    "must be at least 1MiB");
	ret->spool_max = smax;
	(void)conf_get_dur(errs, node, "grace", false, 0, &grace);
	if (grace > ARCHIVE_HOUR_MS * 24)
		conf_error_at(errs, node, "grace", "must be at most 24h");
	ret->grace_ms = grace;
	return errs->n > nerr ? -1 : 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void
hour_civil(int64_t hour, int *y, int *m, int *d, int *h)
{
	int64_t days = floor_div(hour, 24);

	civil_from_days(days, y, m, d);
	*h = (int)(hour - days * 24);
}

void
archive_hour_stem(int64_t hour, char buf[11])
{
	int y, m, d, h;

	char tmp[64];

	hour_civil(hour, &y, &m, &d, &h);
	snprintf(tmp, sizeof(tmp), "%04d%02d%02d%02d", y % 10000, m, d, h);
	memcpy(buf, tmp, 10);
	buf[10] = '\0';
}

int
archive_hour_key(const char *prefix, const char *host, int64_t hour,
    bool encrypted, char *buf, size_t len)
{
	int y, m, d, h, n;

	hour_civil(hour, &y, &m, &d, &h);
	n = snprintf(buf, len,
	    "%s%smetrics/%s/%04d/%02d/%02d/%02d.ndjson.gz%s", prefix,
	    prefix[0] != '\0' ? "/" : "", host, y, m, d, h,
	    encrypted ? ".vgl" : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
archive_parse_stem(const char *s, int64_t *ret_hour)
{
	int v[4], w[4] = { 4, 2, 2, 2 };

	for (int i = 0, off = 0; i < 4; off += w[i], i++) {
		v[i] = 0;
		for (int j = 0; j < w[i]; j++) {
			if (s[off + j] < '0' || s[off + j] > '9')
				return -1;
			v[i] = v[i] * 10 + (s[off + j] - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > civil_days_in_month(v[0], v[1]) || v[3] > 23)
		return -1;
	*ret_hour = civil_to_days(v[0], v[1], v[2]) * 24 + v[3];
	return 0;
}

/*
 * Append ${s} as a JSON string; a byte that starts no well-formed UTF-8
 * sequence (lib/utf8.h) becomes U+FFFD, so every line is valid JSON.
 */
static int
json_str(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	(void)buf_append(out, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t n;

		if (*p >= 0x80) {
			if ((n = utf8_seq(p, NULL)) == 0) {
				(void)buf_append(out, "\xef\xbf\xbd", 3);
			} else {
				(void)buf_append(out, p, n);
				p += n - 1;
			}
		} else if (*p == '"' || *p == '\\') {
			e[1] = (char)*p;
			(void)buf_append(out, e, 2);
		} else if (*p < 0x20) {
			e[4] = hex[*p >> 4];
			e[5] = hex[*p & 15];
			(void)buf_append(out, e, 6);
		} else {
			(void)buf_append(out, p, 1);
		}
	}
	return buf_append(out, "\"", 1);
}

int
archive_format_line(struct buf *out, const struct metric *m, int64_t now_ms)
{
	char base[METRIC_NAME_MAX], key[METRIC_NAME_MAX], val[METRIC_NAME_MAX];
	char num[40];
	const char *cur = m->name;
	size_t blen = metric_base_len(m->name), mark = out->len;
	int r, first = 1;

	memcpy(base, m->name, blen);
	base[blen] = '\0';
	snprintf(num, sizeof(num),
	    "{\"t\":%" PRId64 ",\"name\":", m->ts_ms != 0 ? m->ts_ms : now_ms);
	(void)buf_puts(out, num);
	(void)json_str(out, base);
	if (!isfinite(m->value)) {
		snprintf(num, sizeof(num), "null");
	} else {
		/* The shortest of %.15g and %.17g that reads back exactly. */
		snprintf(num, sizeof(num), "%.15g", m->value);
		if (strtod(num, NULL) != m->value)
			snprintf(num, sizeof(num), "%.17g", m->value);
	}
	(void)buf_puts(out, ",\"value\":");
	(void)buf_puts(out, num);
	while ((r = metric_label_next(&cur, key, sizeof(key), val,
		    sizeof(val))) == 1) {
		(void)buf_puts(out, first ? ",\"labels\":{" : ",");
		first = 0;
		(void)json_str(out, key);
		(void)buf_append(out, ":", 1);
		(void)json_str(out, val);
	}
	if (!first)
		(void)buf_append(out, "}", 1);
	if (buf_puts(out, "}\n") != 0 || r < 0) {
		out->len = mark;
		if (out->p != NULL)
			out->p[mark] = '\0';
		return -1;
	}
	return 0;
}

int
archive_recover_file(const char *path, uint64_t *ret_size, struct ag_err *err)
{
	char tail[4096];
	struct stat sb;
	off_t end, keep = 0;
	int fd;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		ag_err_set(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Find the last '\n', reading backwards a block at a time. */
	for (end = sb.st_size; end > 0 && keep == 0;) {
		off_t off = end > (off_t)sizeof(tail) ?
		    end - (off_t)sizeof(tail) :
		    0;
		ssize_t n = pread(fd, tail, (size_t)(end - off), off);

		if (n != end - off) {
			ag_err_set(err, "%s: read: %s", path,
			    n < 0 ? strerror(errno) : "short read");
			close(fd);
			return -1;
		}
		for (ssize_t i = n; i > 0; i--)
			if (tail[i - 1] == '\n') {
				keep = off + i;
				break;
			}
		end = off;
	}
	if (keep != sb.st_size) {
		if (ftruncate(fd, keep) != 0 || fdatasync(fd) != 0) {
			ag_err_set(err, "%s: truncate: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		log_warn("archive: %s: cut %jd bytes of a torn last line",
		    path, (intmax_t)(sb.st_size - keep));
	}
	close(fd);
	*ret_size = (uint64_t)keep;
	return 0;
}

/* Lines of one hour waiting for the archive thread. */
struct pending {
	int64_t hour;
	struct buf b;
};

struct archive {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* work for the thread */
	pthread_cond_t done_cv; /* a flush done */
	pthread_t th;
	bool stop;
	atomic_bool cancel; /* cuts an upload in flight (lib/cancel.h) */
	struct runconf *rc; /* a reference; its archive settings */
	struct archive_conf ac;
	char *dir, *host;
	struct pending *pend;
	size_t npend, pend_bytes;
	uint64_t flush_req, flush_done;
	struct archive_stats st;
	/* The archive thread's own. */
	unsigned attempt;
	int64_t next_try_mono;
};

static int
conf_of(struct runconf *rc, struct archive_conf *ac)
{
	struct conf_errs errs = { 0 };
	int r;

	/* Checked when the configuration was loaded. */
	r = archive_conf_parse(rc->conf->archive, rc->conf->storage, ac,
	    &errs);
	conf_errs_free(&errs);
	return r;
}

void
archive_add(struct archive *a, const struct metric_batch *b)
{
	int64_t now = clock_wall_ms();

	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < b->n; i++) {
		const struct metric *m = &b->v[i];
		int64_t t = m->ts_ms != 0 ? m->ts_ms : b->now_ms;
		int64_t hour = floor_div(t, ARCHIVE_HOUR_MS);
		struct pending *p = NULL;
		size_t before;

		if (m->flags & METRIC_RETIRED)
			continue;
		if ((hour + 1) * ARCHIVE_HOUR_MS + a->ac.grace_ms <= now) {
			a->st.dropped_late++;
			continue;
		}
		for (size_t j = 0; j < a->npend; j++)
			if (a->pend[j].hour == hour)
				p = &a->pend[j];
		if (p == NULL) {
			struct pending *v = realloc(a->pend,
			    (a->npend + 1) * sizeof(*v));

			if (v == NULL) {
				a->st.dropped_pending++;
				continue;
			}
			a->pend = v;
			p = &a->pend[a->npend++];
			p->hour = hour;
			buf_init(&p->b, ARCHIVE_PENDING_MAX);
		}
		before = p->b.len;
		if (a->pend_bytes >= ARCHIVE_PENDING_MAX ||
		    archive_format_line(&p->b, m, b->now_ms) != 0) {
			a->st.dropped_pending++;
			continue;
		}
		a->pend_bytes += p->b.len - before;
	}
	if (a->npend > 0)
		pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void
set_error(struct archive *a, const char *msg)
{
	pthread_mutex_lock(&a->mu);
	snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", msg);
	pthread_mutex_unlock(&a->mu);
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Append the taken lines to their hour files, each synced. */
static void
write_pending(struct archive *a, struct pending *v, size_t n)
{
	char path[4096], stem[11];
	bool created = false;

	for (size_t i = 0; i < n; i++) {
		const char *p = v[i].b.p;
		size_t left = v[i].b.len;
		int fd;

		archive_hour_stem(v[i].hour, stem);
		snprintf(path, sizeof(path), "%s/%s.ndjson", a->dir, stem);
		if (access(path, F_OK) != 0)
			created = true;
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		if (fd < 0) {
			log_warn("archive: %s: %s", path, strerror(errno));
			set_error(a, strerror(errno));
			continue;
		}
		while (left > 0) {
			ssize_t w = write(fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				log_warn("archive: %s: write: %s", path,
				    strerror(errno));
				set_error(a, strerror(errno));
				break;
			}
			p += w;
			left -= (size_t)w;
		}
		if (fdatasync(fd) != 0)
			log_warn("archive: %s: fdatasync: %s", path,
			    strerror(errno));
		close(fd);
	}
	if (created)
		fsync_dir(a->dir);
}

/* One file of the folder. */
struct afile {
	int64_t hour;
	bool sealed, encrypted;
	uint64_t size;
	char name[ARCHIVE_NAME_MAX];
};

static int
afile_cmp(const void *x, const void *y)
{
	const struct afile *p = x, *q = y;

	if (p->hour != q->hour)
		return p->hour < q->hour ? -1 : 1;
	return (int)p->sealed - (int)q->sealed;
}

/*
 * List the folder: hour files and sealed hours, sorted by hour; leftover
 * temporary files are removed.  Return the count or -1.
 */
static ssize_t
scan(const char *dir, struct afile **ret)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct afile *v = NULL;
	size_t n = 0, cap = 0;

	*ret = NULL;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name, *rest = nm + 10;
		struct afile f = { 0 };
		struct stat sb;

		if (nm[0] == '.' || strlen(nm) >= ARCHIVE_NAME_MAX)
			continue;
		if (strstr(nm, ".tmp") != NULL) {
			(void)unlinkat(dirfd(d), nm, 0);
			continue;
		}
		if (strlen(nm) < 10 || archive_parse_stem(nm, &f.hour) != 0)
			continue;
		if (strcmp(rest, ".ndjson") == 0) {
		} else if (strcmp(rest, ".ndjson.gz") == 0) {
			f.sealed = true;
		} else if (strcmp(rest, ".ndjson.gz.vgl") == 0) {
			f.sealed = f.encrypted = true;
		} else {
			continue;
		}
		if (fstatat(dirfd(d), nm, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
			continue;
		f.size = (uint64_t)sb.st_size;
		memcpy(f.name, nm, strlen(nm) + 1); /* checked above */
		if (n == cap) {
			struct afile *nv;

			cap = cap ? cap * 2 : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = f;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), afile_cmp);
	*ret = v;
	return (ssize_t)n;
}

/* Seal the hour files whose grace is over (the module gzips, encrypts). */
static void
seal_due(struct archive *a, const struct archive_conf *ac, int64_t now)
{
	const struct plugin_module *pm = NULL;
	struct afile *v;
	ssize_t n = scan(a->dir, &v);

	for (ssize_t i = 0; i < n; i++) {
		char in[4096], out[4096];
		struct ag_err err = { "" };

		if (v[i].sealed ||
		    (v[i].hour + 1) * ARCHIVE_HOUR_MS + ac->grace_ms > now)
			continue;
		if (pm == NULL && (pm = plugin_module_get(&err)) == NULL) {
			log_warn("archive: %s", err.msg);
			set_error(a, err.msg);
			break;
		}
		snprintf(in, sizeof(in), "%s/%s", a->dir, v[i].name);
		snprintf(out, sizeof(out), "%s/%.10s.ndjson.gz%s", a->dir,
		    v[i].name, ac->key_file != NULL ? ".vgl" : "");
		if (pm->archive_seal(in, out, ac->key_file, v[i].hour, &err) !=
		    0) {
			log_warn("archive: sealing %s: %s", v[i].name,
			    err.msg);
			set_error(a, err.msg);
			continue;
		}
		if (unlink(in) != 0)
			log_warn("archive: %s: %s", in, strerror(errno));
		fsync_dir(a->dir);
	}
	free(v);
}

/*
 * Keep the folder within spool_max: drop the oldest sealed hours (never the
 * hours being written).  Then count what is left.
 */
static void
bound(struct archive *a, const struct archive_conf *ac)
{
	struct afile *v;
	ssize_t n = scan(a->dir, &v);
	uint64_t total = 0, waiting = 0;

	for (ssize_t i = 0; i < n; i++)
		total += v[i].size;
	for (ssize_t i = 0; i < n && total > ac->spool_max; i++) {
		char path[4096];

		if (!v[i].sealed)
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->dir, v[i].name);
		if (unlink(path) != 0)
			continue;
		total -= v[i].size;
		log_warn("archive: %s dropped (%" PRIu64 " bytes): the folder "
			 "is over spool_max (%" PRIu64 " bytes)",
		    v[i].name, v[i].size, ac->spool_max);
		pthread_mutex_lock(&a->mu);
		a->st.dropped_bytes += v[i].size;
		a->st.dropped_hours++;
		pthread_mutex_unlock(&a->mu);
		v[i].size = 0;
		v[i].sealed = false;
		v[i].hour = INT64_MIN;
	}
	for (ssize_t i = 0; i < n; i++)
		if (v[i].sealed)
			waiting++;
	pthread_mutex_lock(&a->mu);
	a->st.spool_bytes = total;
	a->st.hours_waiting = waiting;
	pthread_mutex_unlock(&a->mu);
	free(v);
}

/* Upload the sealed hours, oldest first, until one fails. */
static void
upload(struct archive *a, struct runconf *rc, const struct archive_conf *ac)
{
	const struct plugin_module *pm = NULL;
	struct afile *v;
	ssize_t n;

	if (clock_mono_ms() < a->next_try_mono)
		return;
	n = scan(a->dir, &v);
	for (ssize_t i = 0; i < n; i++) {
		char path[4096], key[1024];
		struct ag_err err = { "" };
		int r;

		if (!v[i].sealed)
			continue;
		if (pm == NULL && (pm = plugin_module_get(&err)) == NULL)
			r = -1;
		else if (archive_hour_key(ac->prefix, a->host, v[i].hour,
			     v[i].encrypted, key, sizeof(key)) != 0)
			r = ag_err_set(&err, "%s: object key too long",
			    v[i].name);
		else {
			snprintf(path, sizeof(path), "%s/%s", a->dir,
			    v[i].name);
			r = pm->archive_put(rc->conf, ac->storage, key, path,
			    &err);
		}
		if (r != 0) {
			unsigned k;

			a->attempt++;
			a->next_try_mono = clock_mono_ms() +
			    backoff_delay_ms(&archive_retry, a->attempt);
			pthread_mutex_lock(&a->mu);
			k = (unsigned)++a->st.failures;
			snprintf(a->st.last_error, sizeof(a->st.last_error),
			    "%s", err.msg);
			pthread_mutex_unlock(&a->mu);
			/* The 1st, 2nd, 4th, 8th ... failure in a row. */
			if ((k & (k - 1)) == 0)
				log_warn("archive: upload of %s: %s (failure "
					 "%u in a row; the hour waits on disk)",
				    v[i].name, err.msg, k);
			break;
		}
		if (unlink(path) != 0)
			log_warn("archive: %s: %s", path, strerror(errno));
		a->attempt = 0;
		pthread_mutex_lock(&a->mu);
		if (a->st.failures > 0)
			log_info("archive: uploads work again (%s)", key);
		a->st.failures = 0;
		a->st.last_error[0] = '\0';
		a->st.uploaded++;
		a->st.uploaded_bytes += v[i].size;
		a->st.last_upload_ms = clock_wall_ms();
		a->st.spool_bytes -= a->st.spool_bytes >= v[i].size ?
		    v[i].size :
		    0;
		if (a->st.hours_waiting > 0)
			a->st.hours_waiting--;
		pthread_mutex_unlock(&a->mu);
	}
	free(v);
}

/* Take what archive_add() queued (under the mutex). */
static struct pending *
take(struct archive *a, size_t *ret_n)
{
	struct pending *v = a->pend;

	*ret_n = a->npend;
	a->pend = NULL;
	a->npend = 0;
	a->pend_bytes = 0;
	return v;
}

static void
free_pending(struct pending *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_free(&v[i].b);
	free(v);
}

static void *
worker(void *arg)
{
	struct archive *a = arg;

	cancel_bind(&a->cancel);
	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct archive_conf ac;
		struct runconf *rc;
		struct pending *v;
		uint64_t fr;
		size_t n;
		int64_t now;

		if (!a->stop && a->npend == 0 &&
		    a->flush_req == a->flush_done) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += ARCHIVE_TICK_MS / 1000;
			(void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
		/*
		 * The time is read before the lines are taken: a reading
		 * archive_add() let in after it is not of an hour sealed
		 * below (archive.c's opening comment).
		 */
		now = clock_wall_ms();
		v = take(a, &n);
		fr = a->flush_req;
		rc = runconf_ref(a->rc);
		ac = a->ac;
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			write_pending(a, v, n);
			free_pending(v, n);
			runconf_free(rc);
			cancel_bind(NULL);
			return NULL;
		}
		pthread_mutex_unlock(&a->mu);
		write_pending(a, v, n);
		free_pending(v, n);
		seal_due(a, &ac, now);
		bound(a, &ac);
		upload(a, rc, &ac);
		runconf_free(rc);
		pthread_mutex_lock(&a->mu);
		a->flush_done = fr;
		pthread_cond_broadcast(&a->done_cv);
	}
}

/* Cut torn lines off the hour files a crash left. */
static void
recover(struct archive *a)
{
	struct afile *v;
	ssize_t n = scan(a->dir, &v);

	for (ssize_t i = 0; i < n; i++) {
		char path[4096];
		struct ag_err err = { "" };
		uint64_t size;

		if (v[i].sealed)
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->dir, v[i].name);
		if (archive_recover_file(path, &size, &err) != 0)
			log_warn("archive: %s", err.msg);
	}
	free(v);
}

struct archive *
archive_start(struct runconf *rc, const char *state_dir, const char *host,
    struct ag_err *err)
{
	struct archive *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;
	int r;

	if (a == NULL || asprintf(&a->dir, "%s/archive", state_dir) < 0 ||
	    (a->host = strdup(host)) == NULL) {
		if (a != NULL)
			free(a->dir);
		free(a);
		ag_err_set(err, "archive: out of memory");
		return NULL;
	}
	if (conf_of(rc, &a->ac) != 0 || ag_mkdir_p(a->dir, 0700, 0700) != 0) {
		ag_err_set(err, "archive: %s: %s", a->dir, strerror(errno));
		goto fail;
	}
	recover(a);
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->done_cv, NULL);
	a->rc = runconf_ref(rc);
	{
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r = pthread_create(&a->th, NULL, worker, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r != 0) {
		ag_err_set(err, "archive: thread: %s", strerror(r));
		runconf_free(a->rc);
		pthread_cond_destroy(&a->cv);
		pthread_cond_destroy(&a->done_cv);
		pthread_mutex_destroy(&a->mu);
		goto fail;
	}
	return a;
fail:
	free(a->dir);
	free(a->host);
	free(a);
	return NULL;
}

void
archive_reconfigure(struct archive *a, struct runconf *rc)
{
	struct archive_conf ac;
	struct runconf *old;

	if (conf_of(rc, &ac) != 0)
		return;
	pthread_mutex_lock(&a->mu);
	old = a->rc;
	a->rc = runconf_ref(rc);
	a->ac = ac;
	a->next_try_mono = 0; /* a fixed target is tried at once */
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	runconf_free(old);
}

void
archive_flush(struct archive *a)
{
	uint64_t want;

	pthread_mutex_lock(&a->mu);
	want = ++a->flush_req;
	pthread_cond_signal(&a->cv);
	while (a->flush_done < want)
		pthread_cond_wait(&a->done_cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

void
archive_stats(struct archive *a, struct archive_stats *ret)
{
	pthread_mutex_lock(&a->mu);
	*ret = a->st;
	pthread_mutex_unlock(&a->mu);
}

void
archive_metrics(struct archive *a, struct metric_batch *b)
{
	struct archive_stats st;

	archive_stats(a, &st);
	(void)metric_add(b, (double)st.dropped_bytes, "archive.dropped_bytes");
	(void)metric_add(b, (double)st.spool_bytes, "archive.spool_bytes");
	(void)metric_add(b, (double)st.hours_waiting, "archive.hours_waiting");
	(void)metric_add(b, (double)st.failures, "archive.upload_failures");
}

void
archive_stop(struct archive *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	atomic_store(&a->cancel, true); /* an upload in flight gives up */
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	free_pending(a->pend, a->npend);
	runconf_free(a->rc);
	pthread_cond_destroy(&a->cv);
	pthread_cond_destroy(&a->done_cv);
	pthread_mutex_destroy(&a->mu);
	free(a->dir);
	free(a->host);
	free(a);
}
