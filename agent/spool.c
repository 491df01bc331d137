/*
 * spool.c: the durable notification queue (see spool.h).
 *
 * Layout: one file per entry in the spool directory, named by its sequence
 * number as 16 hex digits ("000000000000002a.json"), holding
 *
 *     {"notifier":"oncall","notification":{...docs/WEBHOOK.md schema...}}
 *
 * A put writes "<name>.tmp", fsyncs it, renames it over "<name>" and fsyncs
 * the directory, so after a crash a file is either complete or absent (a
 * leftover .tmp is removed on open).  Done unlinks the file and fsyncs the
 * directory, so a delivered entry does not come back after a restart.
 * spool_open() loads the files in sequence order and numbers new entries
 * after the highest; a file that cannot be decoded is moved to bad/ so that
 * it neither blocks the queue nor disappears unseen.  An exclusive flock on
 * the directory keeps a second daemon off the same spool.
 *
 * In memory the entries sit in an array of pointers sorted by sequence
 * number (removing one moves pointers, not entries), at most ${max} of them.  Delivery is first-in first-out per notifier: spool_next()
 * returns the oldest entry that heads its notifier's queue and is due, so a
 * notifier that is backing off delays only its own entries, and a receiver
 * never gets "recovered" before "firing".  Retry times live in memory only.
 * One mutex guards everything; file writes happen under it (they are small).
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
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/spool.h"

/* A spool file is small; anything larger is damaged. */
#define SPOOL_FILE_MAX (64 * 1024)
/* "%016llx.json" plus ".tmp", "bad/" and the NUL. */
#define SPOOL_NAME_LEN 32

struct spool {
	pthread_mutex_t mu;
	char *dir;
	int dirfd;
	size_t max;
	struct spool_entry **v;		/* sorted by seq */
	size_t n, cap;
	const char **seen;		/* spool_next() scratch */
	uint64_t next_seq;
	uint64_t dropped;
};

static void
entry_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64 ".json", seq);
}

/* Is ${name} an entry's file name?  Store its sequence number if so. */
static int
parse_name(const char *name, uint64_t *ret)
{
	uint64_t seq = 0;

	if (strlen(name) != 21 || strcmp(name + 16, ".json") != 0)
		return 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return 0;
		seq = seq << 4 | d;
	}
	*ret = seq;
	return 1;
}

/* mkdir -p ${dir}, new directories 0700. */
static int
mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return errno = ENAMETOOLONG, -1;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Make room for one more entry (the array never exceeds ${max}). */
static int
reserve(struct spool *sp)
{
	struct spool_entry **nv;
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

		if (sp->v[mid]->seq == seq)
			return (ssize_t)mid;
		if (sp->v[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void
remove_at(struct spool *sp, size_t i)
{
	free(sp->v[i]);
	memmove(&sp->v[i], &sp->v[i + 1], (sp->n - i - 1) * sizeof(sp->v[0]));
	sp->n--;
}

/* Unlink entry ${i}'s file and forget the entry.  0 or -1 (logged). */
static int
unlink_at(struct spool *sp, size_t i)
{
	char name[SPOOL_NAME_LEN];
	int rc = 0;

	entry_name(sp->v[i]->seq, name, sizeof(name));
	if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT) {
		log_warn("spool: cannot remove %s/%s: %s", sp->dir, name,
		    strerror(errno));
		rc = -1;
	}
	remove_at(sp, i);
	return rc;
}

/* Drop the oldest entry because the spool is full. */
static void
drop_oldest(struct spool *sp)
{
	char summary[512];

	notification_summary(&sp->v[0]->n, summary, sizeof(summary));
	log_warn("spool full (%zu entries): dropped oldest notification "
	    "for %s: %s", sp->max, sp->v[0]->notifier, summary);
	(void)unlink_at(sp, 0);
	sp->dropped++;
}

/* Move an undecodable file out of the way, into bad/. */
static void
move_aside(struct spool *sp, const char *name, const char *why)
{
	char to[SPOOL_NAME_LEN + 8];

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

	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0) {
		*why = "cannot open";
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto done;
	}
	if (st.st_size > SPOOL_FILE_MAX) {
		*why = "too large";
		goto done;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		*why = "out of memory";
		goto done;
	}
	while (len < (size_t)st.st_size &&
	    (k = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)k;
	buf[len] = '\0';
	*why = "not a spooled notification";
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto done;
	nf = json_object_get(o, "notifier");
	nt = json_object_get(o, "notification");
	if (!json_is_string(nf) || json_string_length(nf) == 0 ||
	    json_string_length(nf) >= sizeof(e->notifier) ||
	    !json_is_object(nt))
		goto done;
	if ((ntext = json_dumps(nt, JSON_COMPACT)) == NULL)
		goto done;
	memset(e, 0, sizeof(*e));
	if (notification_from_json(ntext, &e->n) != 0)
		goto done;
	snprintf(e->notifier, sizeof(e->notifier), "%s",
	    json_string_value(nf));
	rc = 0;
done:
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

/* Load the entries found in the directory.  0 or -1 (logged). */
static int
scan(struct spool *sp)
{
	uint64_t *seqs = NULL, *ns, seq;
	size_t nseq = 0, capseq = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(sp->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_err("spool: cannot read %s: %s", sp->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);

		/* Half-written entries of a crashed put. */
		if (nl == 25 && strcmp(de->d_name + 16, ".json.tmp") == 0) {
			(void)unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, &seq))
			continue;
		if (nseq == capseq) {
			capseq = capseq == 0 ? 64 : capseq * 2;
			if ((ns = realloc(seqs, capseq * sizeof(*ns))) ==
			    NULL) {
				log_err("spool: %s: out of memory", sp->dir);
				free(seqs);
				closedir(d);
				return -1;
			}
			seqs = ns;
		}
		seqs[nseq++] = seq;
	}
	closedir(d);
	if (nseq > 1)
		qsort(seqs, nseq, sizeof(*seqs), cmp_seq);

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
		    (sp->v[sp->n] = malloc(sizeof(e))) == NULL) {
			log_err("spool: %s: out of memory", sp->dir);
			free(seqs);
			return -1;
		}
		*sp->v[sp->n++] = e;
	}
	free(seqs);
	return 0;
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
	if (mkdir_p(dir) != 0 || (sp->dirfd = open(dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(sp->dirfd, &st) != 0) {
		log_err("spool: cannot open %s: %s", dir, strerror(errno));
		goto err;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("spool: %s is accessible to group or others (mode "
		    "%04o); notifications may contain host details",
		    dir, (unsigned)(st.st_mode & 07777));
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		log_err("spool: %s is in use by another process%s", dir,
		    errno == EWOULDBLOCK ? " (is another vigild running?)" :
		    "");
		goto err;
	}
	if (scan(sp) != 0)
		goto err;
	*ret = sp;
	return 0;
err:
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
	if ((fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -1;
	while (off < len) {
		if ((k = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto err;
		}
		off += (size_t)k;
	}
	if (fsync(fd) != 0)
		goto err;
	if (close(fd) != 0) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
		goto err;
	if (fsync(sp->dirfd) != 0)
		return -1;
	return 0;
err:
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

int
spool_put(struct spool *sp, const char *notifier,
    const struct notification *n)
{
	struct spool_entry *e;
	char name[SPOOL_NAME_LEN];
	char *text;
	uint64_t seq;
	int rc = -1;

	if (notifier[0] == '\0' || strlen(notifier) >= sizeof(e->notifier)) {
		log_err("spool: notifier name \"%.64s\" is empty or too long",
		    notifier);
		return -1;
	}
	if ((text = encode(notifier, n)) == NULL) {
		log_err("spool: cannot encode the notification for %s "
		    "(rule %s)", notifier, n->rule);
		return -1;
	}
	pthread_mutex_lock(&sp->mu);
	seq = sp->next_seq++;
	entry_name(seq, name, sizeof(name));
	if (write_file(sp, name, text) != 0) {
		log_err("spool: cannot write %s/%s: %s", sp->dir, name,
		    strerror(errno));
		goto done;
	}
	if (sp->n == sp->max)
		drop_oldest(sp);
	if (reserve(sp) != 0 || (e = malloc(sizeof(*e))) == NULL) {
		log_err("spool: %s: out of memory", sp->dir);
		(void)unlinkat(sp->dirfd, name, 0);
		goto done;
	}
	sp->v[sp->n++] = e;
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	snprintf(e->notifier, sizeof(e->notifier), "%s", notifier);
	e->n = *n;
	e->attempts = 0;
	e->next_ms = 0;
	rc = 0;
done:
	pthread_mutex_unlock(&sp->mu);
	free(text);
	return rc;
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
		struct spool_entry *e = sp->v[i];

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
		rc = unlink_at(sp, (size_t)i);
		/* So that a delivered entry does not return after a crash. */
		if (rc == 0)
			(void)fsync(sp->dirfd);
	}
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

int64_t
spool_backoff_ms(unsigned attempts)
{
	int64_t base = SPOOL_BACKOFF_MIN_MS, d;
	uint32_t r = UINT32_MAX / 2;

	for (unsigned i = 1; i < attempts && base < SPOOL_BACKOFF_MAX_MS; i++)
		base *= 2;
	if (base > SPOOL_BACKOFF_MAX_MS)
		base = SPOOL_BACKOFF_MAX_MS;
	/*
	 * +-20%, uniformly; without randomness, no jitter.  getrandom(2), not
	 * crypto_random(): the core needs no OpenSSL.
	 */
	(void)getrandom(&r, sizeof(r), GRND_NONBLOCK);
	d = base * 8 / 10 + (int64_t)((double)base * 0.4 * ((double)r /
	    (double)UINT32_MAX));
	return d > SPOOL_BACKOFF_MAX_MS ? SPOOL_BACKOFF_MAX_MS : d;
}

void
spool_retry(struct spool *sp, uint64_t seq, int64_t now_ms)
{
	ssize_t i;

	pthread_mutex_lock(&sp->mu);
	if ((i = find(sp, seq)) >= 0) {
		struct spool_entry *e = sp->v[i];

		if (e->attempts < UINT_MAX)
			e->attempts++;
		e->next_ms = now_ms + spool_backoff_ms(e->attempts);
	}
	pthread_mutex_unlock(&sp->mu);
}

void
spool_retry_now(struct spool *sp, const char *notifier)
{
	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		if (notifier == NULL ||
		    strcmp(sp->v[i]->notifier, notifier) == 0)
			sp->v[i]->next_ms = 0;
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

size_t
spool_depth_for(struct spool *sp, const char *notifier)
{
	size_t n = 0;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->v[i]->notifier, notifier) == 0)
			n++;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

uint64_t
spool_dropped(struct spool *sp)
{
	uint64_t n;

	pthread_mutex_lock(&sp->mu);
	n = sp->dropped;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->dirfd >= 0)
		close(sp->dirfd);	/* releases the flock */
	pthread_mutex_destroy(&sp->mu);
	for (size_t i = 0; i < sp->n; i++)
		free(sp->v[i]);
	free(sp->v);
	free(sp->seen);
	free(sp->dir);
	free(sp);
}
