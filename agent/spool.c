/*
 * spool.c: the durable notification queue (see spool.h).
 *
 * Layout: one file per entry in the spool directory, named by its sequence
 * number as 16 lowercase hex digits ("000000000000002a.json"), holding
 *
 *     {"notifier":"oncall","notification":{...docs/WEBHOOK.md schema...}}
 *
 * A put writes "<name>.tmp", fsyncs it, renames it over "<name>" and fsyncs
 * the directory, so after a crash a file is either complete or absent (a
 * leftover .tmp is removed on open).  Done unlinks the file and fsyncs the
 * directory, so a delivered entry does not come back after a restart.
 * spool_open() loads the files in sequence order and numbers new entries
 * after the highest; a file that cannot be decoded, or a "*.json" whose name
 * is not exactly 16 lowercase hex digits below SPOOL_SEQ_LIMIT, is moved to
 * bad/ so that it neither blocks the queue nor disappears unseen.  An
 * exclusive flock on the directory keeps a second daemon (and `vigil queue`
 * while a daemon runs) off the same spool.
 *
 * Sequence numbers never wrap: names at or above 2^62 are refused, and when
 * the highest entry found on open is at or above 2^61 the entries are
 * renumbered from 0 in ascending order.  Each rename goes to a number below
 * every entry not yet renamed and above every entry already renamed, so the
 * target name is free and a crash half-way leaves the order intact.  After
 * that, 2^61 puts would be needed in one run to reach the limit (where a put
 * is refused, not wrapped).
 *
 * In memory the entries sit in an array of pointers sorted by sequence
 * number (removing one moves pointers, not entries), at most ${max} of them.
 * Delivery is first-in first-out per notifier: spool_next() returns the
 * oldest entry that heads its notifier's queue and is due, so a notifier
 * that is backing off delays only its own entries, and a receiver never gets
 * "recovered" before "firing".  Retry times live in memory only.
 *
 * An entry whose file cannot be written stays in the array all the same,
 * marked not on disk: the memory queue is the same bounded array, so the
 * sender delivers it in order like any other.  Every put, and spool_tick()
 * once a second, writes such entries oldest first until one fails.
 *
 * Drops are counted by reason and by (rule, series); the automatic ones are
 * logged in one summary line at most every SPOOL_DROP_LOG_MS.
 * One mutex guards everything; file writes happen under it (they are small).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/spool.h"

/* A spool file is small; anything larger is damaged. */
#define SPOOL_FILE_MAX (64 * 1024)
/* "%016llx.json" plus ".tmp" and the NUL. */
#define SPOOL_NAME_LEN 32
/* Distinct (rule, series) pairs whose drops are counted one by one. */
#define SPOOL_DROP_KEYS 256
/* How often spool_tick() tries to write entries held in memory. */
#define SPOOL_FLUSH_MS 1000

enum drop_reason {
	DROP_FULL = 0,	/* spool_max reached: the oldest went */
	DROP_ERROR,	/* could not be queued at all */
	DROP_OPERATOR,	/* vigil queue drop */
	DROP_UNWRITTEN, /* held in memory at exit, disk still failing */
	DROP_NREASONS
};

static const char *const drop_names[DROP_NREASONS] = { "spool_full", "error",
	"operator", "unwritten_at_exit" };

struct slot {
	struct spool_entry e;
	bool on_disk;
	bool aside; /* its notifier is not configured */
};

struct drop_key {
	char rule[sizeof(((struct notification *)0)->rule)];
	char series[METRIC_NAME_MAX];
	uint64_t n;
};

struct spool {
	pthread_mutex_t mu;
	char *dir;
	int dirfd;
	size_t max;
	struct slot **v; /* sorted by seq */
	size_t n, cap;
	const char **seen; /* spool_next() scratch */
	uint64_t next_seq;
	char **known; /* configured notifiers */
	size_t nknown;
	bool have_known;
	/* Disk health. */
	size_t unwritten;      /* entries not on disk */
	uint64_t write_errors; /* failed writes in a row */
	int64_t next_flush_ms;
	/* Drops. */
	uint64_t dropped[DROP_NREASONS];
	struct drop_key *keys;
	size_t nkeys;
	uint64_t other_drops;		 /* beyond SPOOL_DROP_KEYS pairs */
	uint64_t pending[DROP_NREASONS]; /* not yet in a log line */
	char pending_first[METRIC_NAME_MAX +
	    160]; /* rule/series of the first of them */
	int64_t last_drop_log_ms;
	bool drop_logged;
};

static void
entry_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64 ".json", seq);
}

/*
 * Is ${name} an entry's file name?  Exactly 16 lowercase hex digits, no
 * sign or space, then ".json", and a value below SPOOL_SEQ_LIMIT.  Return 1
 * with the sequence number in ${ret}, 0 if the name is not an entry name,
 * -1 if it looks like one ("*.json") but is not valid.
 */
static int
parse_name(const char *name, uint64_t *ret)
{
	size_t len = strlen(name);
	uint64_t seq = 0;

	if (len < 5 || strcmp(name + len - 5, ".json") != 0)
		return 0;
	if (len != 21)
		return -1;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		/* 16 digits cannot overflow 64 bits; the limit is lower. */
		seq = seq << 4 | d;
	}
	if (seq >= SPOOL_SEQ_LIMIT)
		return -1;
	*ret = seq;
	return 1;
}

/* Is ${name} a configured notifier (or is no set known yet)? */
static bool
is_known(const struct spool *sp, const char *name)
{
	if (!sp->have_known)
		return true;
	for (size_t i = 0; i < sp->nknown; i++)
		if (strcmp(sp->known[i], name) == 0)
			return true;
	return false;
}

/* Make room for one more entry (the array never exceeds ${max}). */
static int
reserve(struct spool *sp)
{
	struct slot **nv;
	const char **ns;
	size_t ncap;

	if (sp->n < sp->cap)
		return 0;
	ncap = sp->cap == 0 ? 16 : sp->cap * 2;
	if (ncap > sp->max)
		ncap = sp->max;
	if (ncap <= sp->n)
		return -1;
	if ((nv = realloc(sp->v, ncap * sizeof(*nv))) == NULL)
		return -1;
	sp->v = nv;
	if ((ns = realloc(sp->seen, ncap * sizeof(*ns))) == NULL)
		return -1;
	sp->seen = ns;
	sp->cap = ncap;
	return 0;
}

/* Index of ${seq}, or -1. */
static ssize_t
find(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->v[mid]->e.seq == seq)
			return (ssize_t)mid;
		if (sp->v[mid]->e.seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void
remove_at(struct spool *sp, size_t i)
{
	if (!sp->v[i]->on_disk)
		sp->unwritten--;
	free(sp->v[i]);
	memmove(&sp->v[i], &sp->v[i + 1], (sp->n - i - 1) * sizeof(sp->v[0]));
	sp->n--;
}

/* Unlink entry ${i}'s file (if it has one) and forget the entry. */
static int
unlink_at(struct spool *sp, size_t i)
{
	char name[SPOOL_NAME_LEN];
	int rc = 0;

	entry_name(sp->v[i]->e.seq, name, sizeof(name));
	if (sp->v[i]->on_disk && unlinkat(sp->dirfd, name, 0) != 0 &&
	    errno != ENOENT) {
		log_warn("spool: cannot remove %s/%s: %s", sp->dir, name,
		    strerror(errno));
		rc = -1;
	}
	remove_at(sp, i);
	return rc;
}

/* Log what was dropped since the last summary line. */
static void
log_drops(struct spool *sp, int64_t now_ms)
{
	uint64_t total = 0;
	char parts[256];
	size_t off = 0;

	for (int r = 0; r < DROP_NREASONS; r++)
		total += sp->pending[r];
	if (total == 0)
		return;
	parts[0] = '\0';
	for (int r = 0; r < DROP_NREASONS; r++) {
		if (sp->pending[r] == 0)
			continue;
		off += (size_t)snprintf(parts + off, sizeof(parts) - off,
		    "%s%s %" PRIu64, off > 0 ? ", " : "", drop_names[r],
		    sp->pending[r]);
		if (off >= sizeof(parts))
			break;
	}
	log_warn("spool %s: dropped %" PRIu64 " notification%s (%s), the "
		 "first for %s; totals by rule and series in `vigil status`",
	    sp->dir, total, total == 1 ? "" : "s", parts, sp->pending_first);
	memset(sp->pending, 0, sizeof(sp->pending));
	sp->pending_first[0] = '\0';
	sp->last_drop_log_ms = now_ms;
	sp->drop_logged = true;
}

/*
 * Count one dropped notification ${n} for ${reason}.  Automatic drops are
 * logged in a summary line at most every SPOOL_DROP_LOG_MS.
 */
static void
count_drop(struct spool *sp, const struct notification *n,
    enum drop_reason reason)
{
	int64_t now = clock_mono_ms();
	size_t i;

	sp->dropped[reason]++;
	for (i = 0; i < sp->nkeys; i++)
		if (strcmp(sp->keys[i].rule, n->rule) == 0 &&
		    strcmp(sp->keys[i].series, n->metric) == 0)
			break;
	if (i == sp->nkeys && sp->nkeys < SPOOL_DROP_KEYS) {
		struct drop_key *nk = realloc(sp->keys,
		    (sp->nkeys + 1) * sizeof(*nk));

		if (nk != NULL) {
			sp->keys = nk;
			memset(&nk[i], 0, sizeof(nk[i]));
			snprintf(nk[i].rule, sizeof(nk[i].rule), "%s",
			    n->rule);
			snprintf(nk[i].series, sizeof(nk[i].series), "%s",
			    n->metric);
			sp->nkeys++;
		}
	}
	if (i < sp->nkeys)
		sp->keys[i].n++;
	else
		sp->other_drops++;
	if (reason == DROP_OPERATOR)
		return; /* spool_drop() logs the command */
	if (sp->pending_first[0] == '\0')
		snprintf(sp->pending_first, sizeof(sp->pending_first),
		    "rule %s, series %s", n->rule, n->metric);
	sp->pending[reason]++;
	if (!sp->drop_logged ||
	    now - sp->last_drop_log_ms >= SPOOL_DROP_LOG_MS)
		log_drops(sp, now);
}

/* Drop the oldest entry because the spool is full. */
static void
drop_oldest(struct spool *sp)
{
	count_drop(sp, &sp->v[0]->e.n, DROP_FULL);
	(void)unlink_at(sp, 0);
}

/* Move ${name}, which is not a usable entry, out of the way into bad/. */
static void
move_aside(struct spool *sp, const char *name, const char *why)
{
	char to[NAME_MAX + 8];

	snprintf(to, sizeof(to), "bad/%s", name);
	if ((mkdirat(sp->dirfd, "bad", 0700) != 0 && errno != EEXIST) ||
	    renameat(sp->dirfd, name, sp->dirfd, to) != 0) {
		log_warn("spool: %s/%s: %s; cannot move it to %s/bad/: %s",
		    sp->dir, name, why, sp->dir, strerror(errno));
		return;
	}
	log_warn("spool: %s/%s: %s; moved to %s/bad/", sp->dir, name, why,
	    sp->dir);
}

/*
 * Read and decode file ${name} into ${e}.  Return 0, or -1 with the reason
 * in ${why}.
 */
static int
load_file(struct spool *sp, const char *name, struct spool_entry *e,
    const char **why)
{
	struct stat st;
	json_t *o = NULL, *nf, *nt;
	char *buf = NULL, *ntext = NULL;
	size_t len = 0;
	ssize_t k;
	int fd, rc = -1;

	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) <
	    0) {
		*why = "cannot open";
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto out;
	}
	if (st.st_size > SPOOL_FILE_MAX) {
		*why = "too large";
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	while (len < (size_t)st.st_size &&
	    (k = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)k;
	buf[len] = '\0';
	*why = "not a spooled notification";
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	nf = json_object_get(o, "notifier");
	nt = json_object_get(o, "notification");
	if (!json_is_string(nf) || json_string_length(nf) == 0 ||
	    json_string_length(nf) >= sizeof(e->notifier) ||
	    !json_is_object(nt))
		goto out;
	if ((ntext = json_dumps(nt, JSON_COMPACT)) == NULL)
		goto out;
	memset(e, 0, sizeof(*e));
	if (notification_from_json(ntext, &e->n) != 0)
		goto out;
	snprintf(e->notifier, sizeof(e->notifier), "%s",
	    json_string_value(nf));
	rc = 0;
out:
	free(ntext);
	json_decref(o);
	free(buf);
	close(fd);
	return rc;
}

static int
cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Append a copy of ${s} to the list ${v} of ${n} strings.  0 or -1. */
static int
add_name(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Renumber the ${n} sorted entries ${seqs} from 0 (see the top of the
 * file).  Stop at the first rename that fails, which keeps the order.
 */
static void
renumber(struct spool *sp, uint64_t *seqs, size_t n)
{
	char from[SPOOL_NAME_LEN], to[SPOOL_NAME_LEN];

	log_info("spool %s: renumbering %zu entries from 0 (the highest was "
		 "%016" PRIx64 ")",
	    sp->dir, n, seqs[n - 1]);
	for (size_t i = 0; i < n; i++) {
		if (seqs[i] == i)
			continue;
		entry_name(seqs[i], from, sizeof(from));
		entry_name(i, to, sizeof(to));
		if (renameat2(sp->dirfd, from, sp->dirfd, to,
			RENAME_NOREPLACE) != 0) {
			log_warn("spool: cannot rename %s/%s to %s: %s",
			    sp->dir, from, to, strerror(errno));
			return;
		}
		seqs[i] = i;
	}
	(void)fsync(sp->dirfd);
}

/* Load the entries found in the directory.  0 or -1 (logged). */
static int
scan(struct spool *sp)
{
	uint64_t *seqs = NULL, *ns, seq;
	size_t nseq = 0, capseq = 0, nbad = 0;
	char **bad = NULL;
	struct dirent *de;
	DIR *d;
	int fd, rc = -1;

	if ((fd = dup(sp->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_err("spool: cannot read %s: %s", sp->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		int k;

		/* Half-written entries of a crashed put. */
		if (nl == 25 && strcmp(de->d_name + 16, ".json.tmp") == 0) {
			(void)unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if ((k = parse_name(de->d_name, &seq)) == 0)
			continue;
		if (k < 0) {
			/* Moved after the walk, not while readdir() runs. */
			if (add_name(&bad, &nbad, de->d_name) != 0)
				goto oom;
			continue;
		}
		if (nseq == capseq) {
			capseq = capseq == 0 ? 64 : capseq * 2;
			if ((ns = realloc(seqs, capseq * sizeof(*ns))) == NULL)
				goto oom;
			seqs = ns;
		}
		seqs[nseq++] = seq;
	}
	closedir(d);
	d = NULL;
	for (size_t i = 0; i < nbad; i++)
		move_aside(sp, bad[i],
		    "not an entry name (16 lowercase hex "
		    "digits below 4000000000000000, then .json)");
	if (nseq > 1)
		qsort(seqs, nseq, sizeof(*seqs), cmp_seq);
	if (nseq > 0 && seqs[nseq - 1] >= SPOOL_SEQ_RENUMBER)
		renumber(sp, seqs, nseq);

	for (size_t i = 0; i < nseq; i++) {
		struct spool_entry e;
		char name[SPOOL_NAME_LEN];
		const char *why = NULL;

		if (seqs[i] >= sp->next_seq)
			sp->next_seq = seqs[i] + 1;
		entry_name(seqs[i], name, sizeof(name));
		if (load_file(sp, name, &e, &why) != 0) {
			move_aside(sp, name, why);
			continue;
		}
		e.seq = seqs[i];
		e.attempts = 0;
		e.next_ms = 0;
		if (sp->n == sp->max)
			drop_oldest(sp);
		if (reserve(sp) != 0 ||
		    (sp->v[sp->n] = calloc(1, sizeof(struct slot))) == NULL)
			goto oom;
		sp->v[sp->n]->e = e;
		sp->v[sp->n]->on_disk = true;
		sp->n++;
	}
	rc = 0;
	goto out;
oom:
	log_err("spool: %s: out of memory", sp->dir);
out:
	if (d != NULL)
		closedir(d);
	free(seqs);
	free_names(bad, nbad);
	return rc;
}

int
spool_open(const char *dir, size_t max, struct spool **ret)
{
	struct spool *sp;
	struct stat st;

	if (max == 0) {
		log_err("spool: %s: the spool must hold at least one entry",
		    dir);
		return -1;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->dir = strdup(dir)) == NULL) {
		free(sp);
		log_err("spool: %s: out of memory", dir);
		return -1;
	}
	sp->dirfd = -1;
	sp->max = max;
	if (pthread_mutex_init(&sp->mu, NULL) != 0) {
		free(sp->dir);
		free(sp);
		log_err("spool: %s: cannot create a mutex", dir);
		return -1;
	}
	if (ag_mkdir_p(dir, 0700, 0700) != 0 ||
	    (sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(sp->dirfd, &st) != 0) {
		log_err("spool: cannot open %s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("spool: %s is accessible to group or others (mode "
			 "%04o); notifications may contain host details",
		    dir, (unsigned)(st.st_mode & 07777));
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		log_err("spool: %s is in use by another process%s", dir,
		    errno == EWOULDBLOCK ? " (is another vigild running?)" :
					   "");
		goto fail;
	}
	if (scan(sp) != 0)
		goto fail;
	*ret = sp;
	return 0;
fail:
	spool_close(sp);
	return -1;
}

/* Write ${text} durably as file ${name}.  0 or -1 with errno. */
static int
write_file(struct spool *sp, const char *name, const char *text)
{
	char tmp[SPOOL_NAME_LEN + 8];
	size_t len = strlen(text), off = 0;
	ssize_t k;
	int fd, saved;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if ((fd = openat(sp->dirfd, tmp,
		 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		 0600)) < 0)
		return -1;
	while (off < len) {
		if ((k = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)k;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
		goto fail;
	if (fsync(sp->dirfd) != 0)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	(void)unlinkat(sp->dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/* The file text of an entry, or NULL. */
static char *
encode(const char *notifier, const struct notification *n)
{
	json_t *o, *nt = NULL;
	char *text, *out = NULL;

	if ((text = notification_to_json(n)) == NULL)
		return NULL;
	nt = json_loads(text, 0, NULL);
	free(text);
	if (nt == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		json_decref(nt);
		return NULL;
	}
	if (json_object_set_new(o, "notifier", json_string(notifier)) == 0 &&
	    json_object_set_new(o, "notification", nt) == 0)
		out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	return out;
}

/*
 * Write entry ${sl}'s file, with the text ${text} if not NULL.  Keep count
 * of failures in a row; log the 1st, 2nd, 4th, 8th ... of them, and once
 * when writing works again.  0 or -1.
 */
static int
store(struct spool *sp, struct slot *sl, const char *text)
{
	char name[SPOOL_NAME_LEN];
	char *own = NULL;
	int rc = -1, e = ENOMEM;

	entry_name(sl->e.seq, name, sizeof(name));
	if (text != NULL ||
	    (text = own = encode(sl->e.notifier, &sl->e.n)) != NULL) {
		rc = write_file(sp, name, text);
		e = errno;
		free(own);
	}
	if (rc != 0) {
		sp->write_errors++;
		if ((sp->write_errors & (sp->write_errors - 1)) == 0)
			log_err(
			    "spool: cannot write %s/%s: %s; notifications "
			    "are held in memory (%zu now) and delivered, and "
			    "written once the disk takes them (failure %" PRIu64
			    " in a row)",
			    sp->dir, name, strerror(e),
			    sp->unwritten + (sl->on_disk ? 0 : 1),
			    sp->write_errors);
		return -1;
	}
	if (sp->write_errors > 0)
		log_info("spool %s: writing works again after %" PRIu64
			 " failures",
		    sp->dir, sp->write_errors);
	sp->write_errors = 0;
	return 0;
}

/*
 * Write the entries held in memory, oldest first, until one fails.  With
 * none held but the last write failed, probe the disk with a scratch file,
 * so that the write error reading clears when the disk is fine again.
 */
static void
flush(struct spool *sp)
{
	for (size_t i = 0; i < sp->n && sp->unwritten > 0; i++) {
		struct slot *sl = sp->v[i];

		if (sl->on_disk)
			continue;
		if (store(sp, sl, NULL) != 0)
			return;
		sl->on_disk = true;
		sp->unwritten--;
	}
	if (sp->unwritten == 0 && sp->write_errors > 0) {
		char name[] = "probe.json.tmp";

		if (write_file(sp, name, "{}") == 0) {
			(void)unlinkat(sp->dirfd, name, 0);
			log_info("spool %s: writing works again after %" PRIu64
				 " failures",
			    sp->dir, sp->write_errors);
			sp->write_errors = 0;
		}
	}
}

int
spool_put(struct spool *sp, const char *notifier, const struct notification *n)
{
	struct slot *sl;
	char *text = NULL;
	int rc = -1;

	pthread_mutex_lock(&sp->mu);
	if (notifier[0] == '\0' ||
	    strlen(notifier) >= sizeof(sl->e.notifier)) {
		log_err("spool: notifier name \"%.64s\" is empty or too long",
		    notifier);
		goto fail;
	}
	if ((text = encode(notifier, n)) == NULL) {
		log_err("spool: cannot encode the notification for %s "
			"(rule %s)",
		    notifier, n->rule);
		goto fail;
	}
	if (sp->next_seq >= SPOOL_SEQ_LIMIT) {
		log_err("spool %s: sequence numbers exhausted; restart vigild "
			"to renumber",
		    sp->dir);
		goto fail;
	}
	if ((sl = calloc(1, sizeof(*sl))) == NULL) {
		log_err("spool: %s: out of memory", sp->dir);
		goto fail;
	}
	sl->e.seq = sp->next_seq++;
	snprintf(sl->e.notifier, sizeof(sl->e.notifier), "%s", notifier);
	sl->e.n = *n;
	sl->aside = !is_known(sp, notifier);
	/* Older entries held in memory go first. */
	if (sp->unwritten > 0)
		flush(sp);
	sl->on_disk = store(sp, sl, text) == 0;
	if (sp->n == sp->max)
		drop_oldest(sp);
	if (reserve(sp) != 0) {
		char name[SPOOL_NAME_LEN];

		log_err("spool: %s: out of memory", sp->dir);
		entry_name(sl->e.seq, name, sizeof(name));
		if (sl->on_disk)
			(void)unlinkat(sp->dirfd, name, 0);
		free(sl);
		goto fail;
	}
	sp->v[sp->n++] = sl;
	if (!sl->on_disk)
		sp->unwritten++;
	rc = 0;
	goto out;
fail:
	count_drop(sp, n, DROP_ERROR);
out:
	pthread_mutex_unlock(&sp->mu);
	free(text);
	return rc;
}

int64_t
spool_tick(struct spool *sp, int64_t now_ms)
{
	int64_t next = INT64_MAX;
	bool pending = false;

	pthread_mutex_lock(&sp->mu);
	if ((sp->unwritten > 0 || sp->write_errors > 0) &&
	    now_ms >= sp->next_flush_ms) {
		flush(sp);
		sp->next_flush_ms = now_ms + SPOOL_FLUSH_MS;
	}
	if (sp->unwritten > 0 || sp->write_errors > 0)
		next = sp->next_flush_ms;
	if (!sp->drop_logged ||
	    now_ms - sp->last_drop_log_ms >= SPOOL_DROP_LOG_MS)
		log_drops(sp, now_ms);
	for (int r = 0; r < DROP_NREASONS; r++)
		pending = pending || sp->pending[r] > 0;
	if (pending && sp->last_drop_log_ms + SPOOL_DROP_LOG_MS < next)
		next = sp->last_drop_log_ms + SPOOL_DROP_LOG_MS;
	pthread_mutex_unlock(&sp->mu);
	return next;
}

int
spool_set_notifiers(struct spool *sp, struct notifier *const *nf, size_t n)
{
	char **known = NULL;
	size_t nknown = 0, newly = 0;

	for (size_t i = 0; i < n; i++)
		if (add_name(&known, &nknown, nf[i]->name) != 0) {
			free_names(known, nknown);
			log_err("spool: %s: out of memory", sp->dir);
			return -1;
		}
	pthread_mutex_lock(&sp->mu);
	free_names(sp->known, sp->nknown);
	sp->known = known;
	sp->nknown = nknown;
	sp->have_known = true;
	for (size_t i = 0; i < sp->n; i++) {
		struct slot *sl = sp->v[i];
		bool aside = !is_known(sp, sl->e.notifier);

		if (aside && !sl->aside)
			newly++;
		sl->aside = aside;
		if (!aside)
			continue;
		/* A later retry --to starts its backoff afresh. */
		sl->e.attempts = 0;
		sl->e.next_ms = 0;
	}
	pthread_mutex_unlock(&sp->mu);
	if (newly > 0)
		log_warn("spool %s: %zu notification%s kept aside: their "
			 "notifier is no longer configured (`vigil queue list` "
			 "shows them, `vigil queue retry --to` re-routes them)",
		    sp->dir, newly, newly == 1 ? "" : "s");
	return 0;
}

int
spool_next_skip(struct spool *sp, int64_t now_ms,
    bool (*skip)(void *cookie, const char *notifier), void *cookie,
    struct spool_entry *ret, int64_t *ret_wait_ms)
{
	int64_t wait = INT64_MAX;
	size_t nseen = 0, j;
	int rc = 0;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++) {
		struct slot *sl = sp->v[i];
		struct spool_entry *e = &sl->e;

		if (sl->aside)
			continue;
		/* Only the oldest entry of each notifier may go. */
		for (j = 0; j < nseen; j++)
			if (strcmp(sp->seen[j], e->notifier) == 0)
				break;
		if (j < nseen)
			continue;
		sp->seen[nseen++] = e->notifier;
		if (skip != NULL && skip(cookie, e->notifier))
			continue;
		if (e->next_ms <= now_ms) {
			*ret = *e;
			rc = 1;
			break;
		}
		if (e->next_ms - now_ms < wait)
			wait = e->next_ms - now_ms;
	}
	if (rc == 0)
		*ret_wait_ms = wait == INT64_MAX ? -1 : wait;
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

int
spool_next(struct spool *sp, int64_t now_ms, struct spool_entry *ret,
    int64_t *ret_wait_ms)
{
	return spool_next_skip(sp, now_ms, NULL, NULL, ret, ret_wait_ms);
}

int
spool_done(struct spool *sp, uint64_t seq)
{
	ssize_t i;
	int rc = -1;

	pthread_mutex_lock(&sp->mu);
	if ((i = find(sp, seq)) >= 0) {
		bool on_disk = sp->v[i]->on_disk;

		rc = unlink_at(sp, (size_t)i);
		/* So that a delivered entry does not return after a crash. */
		if (rc == 0 && on_disk)
			(void)fsync(sp->dirfd);
	}
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

int64_t
spool_backoff_ms(unsigned attempts)
{
	static const struct backoff policy = {
		.base_ms = SPOOL_BACKOFF_MIN_MS,
		.cap_ms = SPOOL_BACKOFF_MAX_MS,
	};

	return backoff_delay_ms(&policy, attempts);
}

void
spool_retry(struct spool *sp, uint64_t seq, int64_t now_ms)
{
	ssize_t i;

	pthread_mutex_lock(&sp->mu);
	if ((i = find(sp, seq)) >= 0) {
		struct spool_entry *e = &sp->v[i]->e;

		if (e->attempts < UINT_MAX)
			e->attempts++;
		e->next_ms = now_ms + spool_backoff_ms(e->attempts);
	}
	pthread_mutex_unlock(&sp->mu);
}

void
spool_orphan(struct spool *sp, uint64_t seq, int64_t now_ms)
{
	ssize_t i;

	pthread_mutex_lock(&sp->mu);
	if ((i = find(sp, seq)) >= 0) {
		struct slot *sl = sp->v[i];

		if (is_known(sp, sl->e.notifier))
			sl->e.next_ms = now_ms + SPOOL_BACKOFF_MIN_MS;
		else
			sl->aside = true;
	}
	pthread_mutex_unlock(&sp->mu);
}

void
spool_retry_now(struct spool *sp, const char *notifier)
{
	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		if (notifier == NULL ||
		    strcmp(sp->v[i]->e.notifier, notifier) == 0)
			sp->v[i]->e.next_ms = 0;
	pthread_mutex_unlock(&sp->mu);
}

size_t
spool_depth(struct spool *sp)
{
	size_t n;

	pthread_mutex_lock(&sp->mu);
	n = sp->n;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

int64_t
spool_oldest_ms(struct spool *sp)
{
	int64_t t = 0;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		if (t == 0 || sp->v[i]->e.n.ts_ms < t)
			t = sp->v[i]->e.n.ts_ms;
	pthread_mutex_unlock(&sp->mu);
	return t;
}

size_t
spool_depth_for(struct spool *sp, const char *notifier)
{
	size_t n = 0;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->v[i]->e.notifier, notifier) == 0)
			n++;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

uint64_t
spool_dropped(struct spool *sp)
{
	uint64_t n = 0;

	pthread_mutex_lock(&sp->mu);
	for (int r = 0; r < DROP_NREASONS; r++)
		n += sp->dropped[r];
	pthread_mutex_unlock(&sp->mu);
	return n;
}

uint64_t
spool_write_errors(struct spool *sp)
{
	uint64_t n;

	pthread_mutex_lock(&sp->mu);
	n = sp->write_errors;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

json_t *
spool_status_json(struct spool *sp)
{
	json_t *o, *by, *drops, *aside;
	uint64_t total = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	by = json_object();
	drops = json_array();
	aside = json_object();
	pthread_mutex_lock(&sp->mu);
	for (int r = 0; r < DROP_NREASONS; r++) {
		total += sp->dropped[r];
		(void)json_object_set_new(by, drop_names[r],
		    json_integer((json_int_t)sp->dropped[r]));
	}
	for (size_t i = 0; i < sp->nkeys; i++)
		(void)json_array_append_new(drops,
		    json_pack("{s:s, s:s, s:I}", "rule", sp->keys[i].rule,
			"series", sp->keys[i].series, "count",
			(json_int_t)sp->keys[i].n));
	if (sp->other_drops > 0)
		(void)json_array_append_new(drops,
		    json_pack("{s:s, s:s, s:I}", "rule", "(other)", "series",
			"(other)", "count", (json_int_t)sp->other_drops));
	for (size_t i = 0; i < sp->n; i++) {
		const char *nf = sp->v[i]->e.notifier;

		if (sp->v[i]->aside)
			(void)json_object_set_new(aside, nf,
			    json_integer(json_integer_value(
					     json_object_get(aside, nf)) +
				1));
	}
	(void)json_object_set_new(o, "depth", json_integer((json_int_t)sp->n));
	(void)json_object_set_new(o, "unspooled",
	    json_integer((json_int_t)sp->unwritten));
	(void)json_object_set_new(o, "write_errors",
	    json_integer((json_int_t)sp->write_errors));
	(void)json_object_set_new(o, "max", json_integer((json_int_t)sp->max));
	pthread_mutex_unlock(&sp->mu);
	(void)json_object_set_new(o, "dropped",
	    json_integer((json_int_t)total));
	(void)json_object_set_new(o, "dropped_by_reason", by);
	(void)json_object_set_new(o, "drops", drops);
	(void)json_object_set_new(o, "aside", aside);
	return o;
}

/* Does slot ${sl} belong to selection ${sel}? */
static bool
selected(const struct slot *sl, const struct spool_sel *sel)
{
	if (sel->all)
		return true;
	if (sel->notifier != NULL)
		return strcmp(sl->e.notifier, sel->notifier) == 0;
	return sl->e.seq == sel->seq;
}

int
spool_list(struct spool *sp, const char *notifier, int64_t now_ms,
    struct spool_info **ret, size_t *ret_n)
{
	struct spool_info *v;
	size_t n = 0;

	pthread_mutex_lock(&sp->mu);
	if ((v = calloc(sp->n + 1, sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&sp->mu);
		return -1;
	}
	for (size_t i = 0; i < sp->n; i++) {
		const struct slot *sl = sp->v[i];

		if (notifier != NULL && strcmp(sl->e.notifier, notifier) != 0)
			continue;
		v[n].e = sl->e;
		v[n].on_disk = sl->on_disk;
		v[n].state = sl->aside	   ? SPOOL_ASIDE :
		    sl->e.next_ms > now_ms ? SPOOL_BACKOFF :
					     SPOOL_DUE;
		n++;
	}
	pthread_mutex_unlock(&sp->mu);
	*ret = v;
	*ret_n = n;
	return 0;
}

int
spool_reroute(struct spool *sp, const struct spool_sel *sel, const char *to,
    size_t *ret_n, struct ag_err *err)
{
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&sp->mu);
	if (to != NULL &&
	    (!is_known(sp, to) || to[0] == '\0' ||
		strlen(to) >= sizeof(sp->v[0]->e.notifier))) {
		rc = ag_err_set(err, "no notifier \"%s\" in the configuration",
		    to);
		goto out;
	}
	for (size_t i = 0; i < sp->n; i++) {
		struct slot *sl = sp->v[i];

		if (!selected(sl, sel))
			continue;
		if (to == NULL) {
			/* An entry kept aside has nowhere to go. */
			if (sl->aside) {
				if (sel->all || sel->notifier != NULL)
					continue;
				rc = ag_err_set(err,
				    "entry %" PRIu64 " is "
				    "kept aside: its notifier %s is not "
				    "configured; give --to NOTIFIER",
				    sl->e.seq, sl->e.notifier);
				goto out;
			}
		} else {
			snprintf(sl->e.notifier, sizeof(sl->e.notifier), "%s",
			    to);
			sl->aside = false;
			sl->e.attempts = 0;
			if (sl->on_disk && store(sp, sl, NULL) != 0) {
				/*
				 * The file still names the old notifier:
				 * remove it and hold the entry in memory, to
				 * be written later under its new notifier.
				 */
				char name[SPOOL_NAME_LEN];

				entry_name(sl->e.seq, name, sizeof(name));
				(void)unlinkat(sp->dirfd, name, 0);
				sl->on_disk = false;
				sp->unwritten++;
			}
		}
		sl->e.next_ms = 0;
		n++;
	}
	if (n == 0)
		rc = ag_err_set(err, "no queued notification matches");
	else if (to != NULL)
		log_info("spool %s: %zu notification%s re-routed to %s by the "
			 "operator",
		    sp->dir, n, n == 1 ? "" : "s", to);
out:
	pthread_mutex_unlock(&sp->mu);
	if (rc == 0)
		*ret_n = n;
	return rc;
}

int
spool_drop(struct spool *sp, const struct spool_sel *sel, size_t *ret_n,
    struct ag_err *err)
{
	char summary[NOTIFICATION_SUMMARY_MAX] = "";
	size_t n = 0;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n;) {
		struct slot *sl = sp->v[i];

		if (!selected(sl, sel)) {
			i++;
			continue;
		}
		if (n++ == 0)
			notification_summary(&sl->e.n, summary,
			    sizeof(summary));
		count_drop(sp, &sl->e.n, DROP_OPERATOR);
		(void)unlink_at(sp, i);
	}
	if (n > 0)
		(void)fsync(sp->dirfd);
	pthread_mutex_unlock(&sp->mu);
	if (n == 0)
		return ag_err_set(err, "no queued notification matches");
	log_warn("spool %s: %zu notification%s discarded by the operator "
		 "(vigil queue drop), the first: %s",
	    sp->dir, n, n == 1 ? "" : "s", summary);
	*ret_n = n;
	return 0;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->unwritten > 0) {
		flush(sp);
		for (size_t i = 0; i < sp->n; i++)
			if (!sp->v[i]->on_disk)
				count_drop(sp, &sp->v[i]->e.n, DROP_UNWRITTEN);
		log_drops(sp, clock_mono_ms());
	}
	if (sp->dirfd >= 0)
		close(sp->dirfd); /* releases the flock */
	pthread_mutex_destroy(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		free(sp->v[i]);
	free(sp->v);
	free(sp->seen);
	free(sp->keys);
	free_names(sp->known, sp->nknown);
	free(sp->dir);
	free(sp);
}
