/*
 * storage.c: storage config parsing and the wrappers every caller goes
 * through.
 *
 * Backends are lines of the plug-in table (agent/plugins.c, found through
 * lib/plugin.h); the config picks one by its "type".  The wrappers check keys
 * and prefixes (so no backend ever sees a key that could escape its namespace),
 * enforce part sizes, count bytes per instance (atomically: restore workers
 * read in parallel) and sort listings, so each backend stays a thin translation
 * of the verbs.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/plugin.h"
#include "providers/storage_backend.h"
#include "providers/storage.h"

struct storage {
	const struct storage_ops *ops;
	void *ctx;
	char *name;
	unsigned upload_parallel; /* settings, 0: not set */
	size_t upload_memory;
	_Atomic uint64_t bytes_read;
	_Atomic uint64_t bytes_written;
	_Atomic uint64_t gets;
	_Atomic uint64_t puts;
};

struct storage_upload {
	struct storage *st;
	void *up;
	char *key;
	pthread_mutex_t mu; /* the bookkeeping below */
	uint64_t parts;	    /* stored */
	uint64_t next;	    /* storage_put_part()'s next index */
	uint64_t hi;	    /* highest index stored */
	uint64_t short_idx; /* a part under the minimum, or UINT64_MAX */
	size_t short_len;
};

/* A target name: letters, digits, '-', '_', '.'; not empty. */
static int
name_valid(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return (0);
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.'))
			return (0);
	return (1);
}

/**
 * storage_conf_parse(group, ret, errs):
 * Read the storage target ${group} (a member of the "storage" section; its
 * name is the target's name): "type" and the type's settings.  Unknown
 * settings and bad values are recorded in ${errs}.  Return 0 with a new
 * conf in ${ret}, or -1.
 */
int
storage_conf_parse(const conf_node *group, struct storage_conf **ret,
    struct conf_errs *errs)
{
	static const char *const common[] = { "type", "upload_parallel",
		"upload_memory", NULL };
	const struct storage_ops *ops;
	const void *found;
	struct storage_conf *c;
	const char *name, *type = NULL;
	struct ag_err err = { "" };
	int64_t par = 0;
	uint64_t mem = 0;

	name = conf_name(group);
	if (!conf_is_group(group))
		return (conf_error(errs, group,
		    "a storage target must be a group { type = ...; }"));
	if (!name_valid(name))
		return (conf_error(errs, group,
		    "invalid storage name \"%s\" "
		    "(use letters, digits, '-', '_' and '.')",
		    name != NULL ? name : ""));
	if (conf_get_str(errs, group, "type", true, &type) != 1)
		return (-1);
	if (plugin_find(PLUGIN_STORAGE, type, &found, &err) != 0)
		return (conf_error_at(errs, group, "type", "%s", err.msg));
	ops = found;

	/* The common settings plus the backend's own. */
	if (conf_check_keys2(errs, group, common, ops->settings) != 0)
		return (-1);
	if (conf_get_int(errs, group, "upload_parallel", false, 1,
		STORAGE_PARALLEL_MAX, &par) < 0 ||
	    conf_get_size(errs, group, "upload_memory", false, &mem) < 0)
		return (-1);
	if (par > 1 && !(ops->caps & STORAGE_CAP_PARALLEL))
		return (conf_error_at(errs, group, "upload_parallel",
		    "type \"%s\" takes parts one at a time: leave "
		    "upload_parallel out",
		    type));
	if (mem != 0 && (mem < STORAGE_MEMORY_MIN || mem > STORAGE_MEMORY_MAX))
		return (conf_error_at(errs, group, "upload_memory",
		    "must be between 1MiB and 4GiB"));

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto oom0;
	c->ops = ops;
	c->upload_parallel = (unsigned)par;
	c->upload_memory = (size_t)mem;
	if ((c->name = strdup(name)) == NULL ||
	    (c->type = strdup(type)) == NULL)
		goto oom1;
	if (ops->conf_parse(group, c->name, &c->tconf, errs) != 0)
		goto err1;
	*ret = c;
	return (0);

oom1:
	(void)conf_error(errs, group, "out of memory");
err1:
	storage_conf_free(c);
	return (-1);
oom0:
	return (conf_error(errs, group, "out of memory"));
}

/**
 * storage_conf_find(section, name, ret, errs):
 * Parse the target called ${name} in the "storage" ${section}.  Return 0
 * with the conf in ${ret}; -1 with an error in ${errs} if absent or bad.
 */
int
storage_conf_find(const conf_node *section, const char *name,
    struct storage_conf **ret, struct conf_errs *errs)
{
	const conf_node *g;

	if (section == NULL)
		return (conf_error(errs, NULL,
		    "storage \"%s\" is not defined (no storage section)",
		    name));
	if ((g = conf_member(section, name)) == NULL)
		return (conf_error(errs, section,
		    "storage \"%s\" is not defined", name));
	return (storage_conf_parse(g, ret, errs));
}

/**
 * storage_conf_local(name, path):
 * A local-folder target without a config file (tests, "vigil restore
 * --from DIR").  Return it, or NULL if out of memory or ${path} is not
 * absolute.
 */
struct storage_conf *
storage_conf_local(const char *name, const char *path)
{
	struct storage_local_conf *lc;
	struct storage_conf *c;

	if (path == NULL || path[0] != '/' || !name_valid(name))
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->ops = &storage_local_ops;
	if ((c->name = strdup(name)) == NULL ||
	    (c->type = strdup("local")) == NULL)
		goto fail;
	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		goto fail;
	c->tconf = lc;
	if ((lc->path = strdup(path)) == NULL)
		goto fail;
	return (c);

fail:
	storage_conf_free(c);
	return (NULL);
}

/* storage_conf_free(c): free ${c}; NULL does nothing. */
void
storage_conf_free(struct storage_conf *c)
{

	if (c == NULL)
		return;
	if (c->tconf != NULL)
		c->ops->conf_free(c->tconf);
	free(c->type);
	free(c->name);
	free(c);
}

/**
 * storage_open(conf, ret, err):
 * Open an instance of ${conf} (which may be freed afterwards): for local,
 * check or create the folder.  Return 0 with the instance in ${ret}, or -1
 * (AG_RETRY for a transient failure) with a message.
 */
int
storage_open(const struct storage_conf *conf, struct storage **ret,
    struct ag_err *err)
{
	struct storage *st;
	int rc;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto oom0;
	st->upload_parallel = conf->upload_parallel;
	st->upload_memory = conf->upload_memory;
	if ((st->name = strdup(conf->name)) == NULL)
		goto oom1;
	st->ops = conf->ops;
	if ((rc = st->ops->open(&st->ctx, conf, err)) != 0)
		goto err2;
	*ret = st;
	return (0);

err2:
	free(st->name);
	free(st);
	return (rc);
oom1:
	free(st);
oom0:
	return (ag_err_set(err, "%s[%s]: out of memory", conf->type,
	    conf->name));
}

/* storage_close(st): close ${st}; NULL does nothing. */
void
storage_close(struct storage *st)
{

	if (st == NULL)
		return;
	st->ops->close(st->ctx);
	free(st->name);
	free(st);
}

/* storage_name(st): the instance's name. */
const char *
storage_name(const struct storage *st)
{

	return (st->name);
}

/* storage_caps(st): STORAGE_CAP_* bits of the backend. */
unsigned
storage_caps(const struct storage *st)
{

	return (st->ops->caps);
}

/**
 * storage_part_size(st, want):
 * The part size to use for uploads to ${st}, given the caller's wish
 * ${want}: raised to the backend's minimum and rounded up to its alignment.
 */
size_t
storage_part_size(const struct storage *st, size_t want)
{
	size_t align = st->ops->part_align;

	if (want < st->ops->part_min)
		want = st->ops->part_min;
	if (want == 0)
		want = 1;
	if (align > 1 && want % align != 0)
		want += align - want % align;
	return (want);
}

/* storage_part_max(st): the largest part a backend takes, 0 if no limit. */
size_t
storage_part_max(const struct storage *st)
{

	return (st->ops->part_max);
}

/*
 * storage_upload_parallel(st), storage_upload_memory(st): the target's
 * upload_parallel and upload_memory settings, 0 where not set.
 */
unsigned
storage_upload_parallel(const struct storage *st)
{

	return (st->upload_parallel);
}

size_t
storage_upload_memory(const struct storage *st)
{

	return (st->upload_memory);
}

/* storage_max_parts(st): the most parts an upload may have, 0 if no limit. */
unsigned
storage_max_parts(const struct storage *st)
{

	return (st->ops->max_parts);
}

/* storage_stats(st, ret): a snapshot of the counters of ${st}. */
void
storage_stats(const struct storage *st, struct storage_stats *ret)
{

	ret->bytes_read = atomic_load(&st->bytes_read);
	ret->bytes_written = atomic_load(&st->bytes_written);
	ret->gets = atomic_load(&st->gets);
	ret->puts = atomic_load(&st->puts);
}

/*
 * Check the '/'-separated segments of ${s}: none empty, "." or "..", no
 * control characters.  With ${partial_last}, the last segment may be
 * empty (a prefix ending in '/').
 */
static int
segments_valid(const char *s, int partial_last)
{
	const char *p, *seg;
	size_t len;

	for (seg = s;; seg = p + 1) {
		for (p = seg; *p != '\0' && *p != '/'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return (0);
		len = (size_t)(p - seg);
		if (len == 0 && !(partial_last && *p == '\0'))
			return (0);
		if ((len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return (0);
		if (*p == '\0')
			return (1);
	}
}

/**
 * storage_key_valid(key):
 * 1 if ${key} is a valid object key (see above), else 0.
 */
int
storage_key_valid(const char *key)
{
	size_t len;

	if (key == NULL || (len = strlen(key)) == 0 || len > STORAGE_KEY_MAX)
		return (0);
	if (key[0] == '/' || key[len - 1] == '/')
		return (0);
	return (segments_valid(key, 0));
}

/* A listing prefix: "" or a key, possibly ending in '/'. */
static int
prefix_valid(const char *prefix)
{
	size_t len = strlen(prefix);

	if (len == 0)
		return (1);
	if (len > STORAGE_KEY_MAX || prefix[0] == '/')
		return (0);
	return (segments_valid(prefix, 1));
}

static int
bad_key(const struct storage *st, const char *key, struct ag_err *err)
{

	return (ag_err_set(err, "%s[%s]: invalid object key \"%.200s\"",
	    st->ops->name, st->name, key != NULL ? key : "(null)"));
}

/**
 * storage_put_begin(st, key, ret_up, err):
 * Start uploading ${key}.  On success store a handle in ${ret_up}, which the
 * caller ends with storage_put_commit() or storage_put_abort().  An existing
 * object ${key} stays visible, unchanged, until the commit replaces it.
 * Return 0, AG_RETRY, or -1.
 */
int
storage_put_begin(struct storage *st, const char *key,
    struct storage_upload **ret_up, struct ag_err *err)
{
	struct storage_upload *up = NULL;
	int rc;

	if (!storage_key_valid(key))
		return (bad_key(st, key, err));
	if ((up = calloc(1, sizeof(*up))) == NULL)
		goto oom0;
	if ((up->key = strdup(key)) == NULL)
		goto oom1;
	up->st = st;
	up->short_idx = UINT64_MAX;
	if (pthread_mutex_init(&up->mu, NULL) != 0)
		goto oom2;
	if ((rc = st->ops->put_begin(st->ctx, key, &up->up, err)) != 0)
		goto err3;
	*ret_up = up;
	return (0);

err3:
	pthread_mutex_destroy(&up->mu);
	free(up->key);
	free(up);
	return (rc);
oom2:
	free(up->key);
oom1:
	free(up);
oom0:
	return (ag_err_set(err, "%s[%s]: out of memory", st->ops->name,
	    st->name));
}

/* upload_free(up): free the handle of storage_put_begin(). */
static void
upload_free(struct storage_upload *up)
{

	pthread_mutex_destroy(&up->mu);
	free(up->key);
	free(up);
}

/**
 * storage_put_part_at(up, idx, buf, len, err):
 * Store ${buf} as part ${idx} (0, 1, ...) of the upload.  On a backend with
 * STORAGE_CAP_PARALLEL, several threads may call this at once for
 * different parts, in any order; elsewhere parts go in order, one at a
 * time.  The commit checks that parts 0 to the highest all arrived and
 * that only the highest is short of the minimum.  Returns as
 * storage_put_part().  Do not mix with storage_put_part().
 */
int
storage_put_part_at(struct storage_upload *up, uint64_t idx,
    const uint8_t *buf, size_t len, struct ag_err *err)
{
	const struct storage_ops *ops = up->st->ops;
	uint64_t stored;
	int rc;

	if (ops->max_parts != 0 && idx >= ops->max_parts)
		return (ag_err_set(err, "%s[%s]: put %s: more than %u parts",
		    ops->name, up->st->name, up->key, ops->max_parts));
	if (ops->part_max != 0 && len > ops->part_max)
		return (ag_err_set(err,
		    "%s[%s]: put %s: part %ju has %zu bytes, more than the "
		    "maximum %zu",
		    ops->name, up->st->name, up->key, (uintmax_t)idx + 1, len,
		    ops->part_max));
	if (!(ops->caps & STORAGE_CAP_PARALLEL)) {
		pthread_mutex_lock(&up->mu);
		stored = up->parts;
		pthread_mutex_unlock(&up->mu);
		if (idx != stored)
			return (ag_err_set(err,
			    "%s[%s]: put %s: part %ju sent before part %ju",
			    ops->name, up->st->name, up->key,
			    (uintmax_t)idx + 1, (uintmax_t)stored + 1));
	}
	if ((rc = ops->put_part(up->up, idx, buf, len, err)) != 0)
		return (rc);
	pthread_mutex_lock(&up->mu);
	up->parts++;
	if (idx > up->hi)
		up->hi = idx;
	if (len < ops->part_min &&
	    (up->short_idx == UINT64_MAX || idx > up->short_idx)) {
		up->short_idx = idx;
		up->short_len = len;
	}
	pthread_mutex_unlock(&up->mu);
	atomic_fetch_add(&up->st->bytes_written, len);
	return (0);
}

/* short_part(up, err): -1, "a part but the last is short". */
static int
short_part(const struct storage_upload *up, struct ag_err *err)
{
	const struct storage_ops *ops = up->st->ops;

	return (ag_err_set(err,
	    "%s[%s]: put %s: part %ju has %zu bytes, less than the minimum %zu",
	    ops->name, up->st->name, up->key, (uintmax_t)up->short_idx + 1,
	    up->short_len, ops->part_min));
}

/**
 * storage_put_part(up, buf, len, err):
 * Append ${len} bytes of ${buf} to the upload.  Every part but the last
 * must be at least the backend's minimum (use storage_part_size()).  On
 * AG_RETRY the part was not stored and may be sent again; on -1 the upload
 * is dead and must be aborted.  Blocks while the data is written.
 */
int
storage_put_part(struct storage_upload *up, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	int rc;

	if (len == 0)
		return (0);
	if (up->short_idx != UINT64_MAX)
		return (short_part(up, err));
	if ((rc = storage_put_part_at(up, up->next, buf, len, err)) == 0)
		up->next++;
	return (rc);
}

/*
 * parts_check(up, err): 0 if parts 0 .. hi all arrived and only the last
 * is short, else -1 with a message.
 */
static int
parts_check(struct storage_upload *up, struct ag_err *err)
{
	const struct storage_ops *ops = up->st->ops;

	if (up->parts > 0 && up->parts != up->hi + 1)
		return (ag_err_set(err,
		    "%s[%s]: put %s: %ju of %ju parts arrived", ops->name,
		    up->st->name, up->key, (uintmax_t)up->parts,
		    (uintmax_t)up->hi + 1));
	if (up->short_idx != UINT64_MAX && up->short_idx != up->hi)
		return (short_part(up, err));
	return (0);
}

/**
 * storage_put_commit(up, err):
 * Make the uploaded object visible, durably.  On 0 and -1 the handle is
 * freed; on AG_RETRY it is kept and the commit may be tried again (or the
 * upload aborted).
 */
int
storage_put_commit(struct storage_upload *up, struct ag_err *err)
{
	int rc;

	if ((rc = parts_check(up, err)) != 0) {
		storage_put_abort(up);
		return (rc);
	}
	rc = up->st->ops->put_commit(up->up, err);
	if (rc == AG_RETRY)
		return (rc);
	if (rc == 0)
		atomic_fetch_add(&up->st->puts, 1);
	upload_free(up);
	return (rc);
}

/* storage_put_abort(up): drop the upload and free it; NULL does nothing. */
void
storage_put_abort(struct storage_upload *up)
{

	if (up == NULL)
		return;
	up->st->ops->put_abort(up->up);
	upload_free(up);
}

/**
 * storage_put(st, key, buf, len, err):
 * Upload a whole object, in one request where the backend can (the object
 * must fit in one part: storage_part_max()).  Return 0, AG_RETRY or -1.
 */
int
storage_put(struct storage *st, const char *key, const uint8_t *buf,
    size_t len, struct ag_err *err)
{
	struct storage_upload *up = NULL;
	int rc;

	if (st->ops->put != NULL) {
		if (!storage_key_valid(key))
			return (bad_key(st, key, err));
		if (st->ops->part_max != 0 && len > st->ops->part_max)
			return (ag_err_set(err,
			    "%s[%s]: put %s: %zu bytes, more than one "
			    "request takes (%zu)",
			    st->ops->name, st->name, key, len,
			    st->ops->part_max));
		if ((rc = st->ops->put(st->ctx, key, buf, len, err)) != 0)
			return (rc);
		atomic_fetch_add(&st->bytes_written, len);
		atomic_fetch_add(&st->puts, 1);
		return (0);
	}
	if ((rc = storage_put_begin(st, key, &up, err)) != 0)
		return (rc);
	if ((rc = storage_put_part(up, buf, len, err)) != 0) {
		storage_put_abort(up);
		return (rc);
	}
	if ((rc = storage_put_commit(up, err)) == AG_RETRY)
		storage_put_abort(up);
	return (rc);
}

/* What the counting sink wraps. */
struct count_sink {
	struct storage *st;
	storage_sink_fn *sink;
	void *cookie;
	uint64_t want; /* UINT64_MAX: to the end */
	uint64_t got;
	int over; /* the backend sent too much */
};

static int
count_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct count_sink *cs = cookie;

	if (cs->want != UINT64_MAX && len > cs->want - cs->got) {
		cs->over = 1;
		return (-1);
	}
	cs->got += len;
	atomic_fetch_add(&cs->st->bytes_read, len);
	return (cs->sink(cs->cookie, buf, len));
}

/**
 * storage_get(st, key, off, len, sink, cookie, err):
 * Read bytes [${off}, ${off} + ${len}) of ${key} and pass them in order to
 * ${sink} in pieces of at most 1 MiB; ${len} = UINT64_MAX reads to the end.
 * The range must lie inside the object.  Return 0 when all of it was
 * delivered; STORAGE_ABSENT if there is no such object; -1 if the range is
 * outside the object, on a read error or when the sink returned nonzero
 * (${err} then says "stopped by reader"); AG_RETRY if transient (the sink
 * may have seen part of the range: the caller restarts where it stopped).
 */
int
storage_get(struct storage *st, const char *key, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct count_sink cs = { .st = st,
		.sink = sink,
		.cookie = cookie,
		.want = len };
	int rc;

	if (!storage_key_valid(key))
		return (bad_key(st, key, err));
	if (len != UINT64_MAX && off > UINT64_MAX - len)
		return (ag_err_set(err, "%s[%s]: get %s: bad range",
		    st->ops->name, st->name, key));
	atomic_fetch_add(&st->gets, 1);
	rc = st->ops->get(st->ctx, key, off, len, count_sink, &cs, err);
	if (cs.over)
		return (ag_err_set(err,
		    "%s[%s]: get %s: backend returned "
		    "more than the %ju bytes asked for",
		    st->ops->name, st->name, key, (uintmax_t)len));
	if (rc != 0)
		return (rc);
	if (len != UINT64_MAX && cs.got != len)
		return (ag_err_set(err,
		    "%s[%s]: get %s: short read: %ju of "
		    "%ju bytes",
		    st->ops->name, st->name, key, (uintmax_t)cs.got,
		    (uintmax_t)len));
	return (0);
}

/* storage_get_buf()'s sink: append to the struct buf ${cookie}. */
static int
buf_sink(void *cookie, const uint8_t *data, size_t len)
{
	return (buf_append(cookie, data, len));
}

/**
 * storage_get_buf(st, key, max, ret_buf, ret_len, err):
 * Read all of ${key}, at most ${max} bytes, into a malloc'd buffer stored
 * in ${ret_buf} (the caller frees it) with its length in ${ret_len}.
 * Return 0, STORAGE_ABSENT, AG_RETRY or -1 (also if larger than ${max}).
 */
int
storage_get_buf(struct storage *st, const char *key, size_t max,
    uint8_t **ret_buf, size_t *ret_len, struct ag_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b, max);
	rc = storage_get(st, key, 0, UINT64_MAX, buf_sink, &b, err);
	if (b.err == E2BIG) {
		buf_free(&b);
		return (ag_err_set(err,
		    "%s[%s]: get %s: larger than %zu bytes", st->ops->name,
		    st->name, key, max));
	}
	if (rc != 0) {
		buf_free(&b);
		return (rc);
	}
	*ret_len = b.len;
	if ((*ret_buf = (uint8_t *)buf_take(&b)) == NULL &&
	    (*ret_buf = malloc(1)) == NULL)
		return (ag_err_set(err, "%s[%s]: out of memory", st->ops->name,
		    st->name));
	return (0);
}

static int
objent_cmp(const void *a, const void *b)
{
	const struct objent *x = a, *y = b;

	return (strcmp(x->name, y->name));
}

/**
 * storage_list(st, prefix, flags, out, err):
 * Append to ${out} every object whose key starts with ${prefix} (a string
 * prefix, as in S3: "a/b" matches "a/b/c" and "a/bc"; "" lists all), sorted
 * by key.  With STORAGE_LIST_INCOMPLETE, list unfinished uploads instead
 * (needs STORAGE_CAP_INCOMPLETE; none otherwise).  ${out} must have been
 * zeroed or emptied.  Return 0, AG_RETRY or -1 (on failure ${out} is
 * emptied).
 */
int
storage_list(struct storage *st, const char *prefix, unsigned flags,
    struct objlist *out, struct ag_err *err)
{
	int rc;

	if (prefix == NULL)
		prefix = "";
	if (!prefix_valid(prefix))
		return (ag_err_set(err, "%s[%s]: invalid prefix \"%.200s\"",
		    st->ops->name, st->name, prefix));
	if ((flags & STORAGE_LIST_INCOMPLETE) &&
	    !(st->ops->caps & STORAGE_CAP_INCOMPLETE))
		return (0);
	if ((rc = st->ops->list(st->ctx, prefix, flags, out, err)) != 0) {
		objlist_free(out);
		return (rc);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), objent_cmp);
	return (0);
}

/* objlist_free(l): free the entries of ${l} and zero it (not ${l} itself). */
void
objlist_free(struct objlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].upload_id);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/**
 * objlist_add(l, name, size, mtime, upload_id):
 * Append a copy of an entry to ${l} (for backends).  Return 0, or -1 if out
 * of memory or over STORAGE_LIST_MAX.
 */
int
objlist_add(struct objlist *l, const char *name, uint64_t size, time_t mtime,
    const char *upload_id)
{
	struct objent *nv, *e;
	size_t ncap;

	if (l->n >= STORAGE_LIST_MAX) {
		errno = EOVERFLOW;
		return (-1);
	}
	if (l->n == l->cap) {
		ncap = l->cap == 0 ? 64 : l->cap * 2;
		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return (-1);
		l->v = nv;
		l->cap = ncap;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	if ((e->name = strdup(name)) == NULL)
		return (-1);
	if (upload_id != NULL && (e->upload_id = strdup(upload_id)) == NULL) {
		free(e->name);
		return (-1);
	}
	e->size = size;
	e->mtime = mtime;
	l->n++;
	return (0);
}

/**
 * storage_remove(st, key, err):
 * Delete ${key}.  Return 0 (also if it did not exist), AG_RETRY or -1.
 */
int
storage_remove(struct storage *st, const char *key, struct ag_err *err)
{

	if (!storage_key_valid(key))
		return (bad_key(st, key, err));
	return (st->ops->remove(st->ctx, key, err));
}

/**
 * storage_remove_many(st, keys, n, err):
 * Delete ${keys}: in batches if the backend has them, else one by one, in
 * order, stopping at the first failure.  Return 0, AG_RETRY or -1.
 */
int
storage_remove_many(struct storage *st, const char *const *keys, size_t n,
    struct ag_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (!storage_key_valid(keys[i]))
			return (bad_key(st, keys[i], err));
	if (n == 0)
		return (0);
	if (st->ops->remove_many != NULL)
		return (st->ops->remove_many(st->ctx, keys, n, err));
	for (i = 0; i < n; i++)
		if ((rc = st->ops->remove(st->ctx, keys[i], err)) != 0)
			return (rc);
	return (0);
}

/* storage_lock_name(st): see storage.h. */
const char *
storage_lock_name(const struct storage *st)
{

	if (st->ops->lock_name == NULL)
		return (NULL);
	return (st->ops->lock_name(st->ctx));
}

/**
 * storage_retention(st, key, ret_until, err):
 * The retain-until time of ${key}, 0 if no lock holds it.  Return 0,
 * STORAGE_ABSENT, AG_RETRY or -1.
 */
int
storage_retention(struct storage *st, const char *key, time_t *ret_until,
    struct ag_err *err)
{

	*ret_until = 0;
	if (!storage_key_valid(key))
		return (bad_key(st, key, err));
	if (storage_lock_name(st) == NULL || st->ops->retention == NULL)
		return (0);
	return (st->ops->retention(st->ctx, key, ret_until, err));
}

/**
 * storage_abort_incomplete(st, ent, err):
 * Drop the unfinished upload ${ent} from a STORAGE_LIST_INCOMPLETE listing
 * (a crashed run's leftovers).  Return 0, AG_RETRY or -1.
 */
int
storage_abort_incomplete(struct storage *st, const struct objent *ent,
    struct ag_err *err)
{

	if (!storage_key_valid(ent->name))
		return (bad_key(st, ent->name, err));
	if (st->ops->abort_incomplete == NULL)
		return (ag_err_set(err, "%s[%s]: cannot abort uploads",
		    st->ops->name, st->name));
	return (st->ops->abort_incomplete(st->ctx, ent, err));
}

struct resume {
	storage_sink_fn *sink;
	void *cookie;
	uint64_t taken; /* bytes the sink accepted */
	int stopped;
};

static int
resume_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct resume *r = cookie;

	if (r->sink(r->cookie, buf, len) != 0) {
		r->stopped = 1;
		return 1;
	}
	r->taken += len;
	return 0;
}

const struct backoff storage_retry = {
	.base_ms = 500,
	.cap_ms = 30000,
	.retries = STORAGE_GET_RETRIES,
};

int
storage_get_retry(struct storage *st, const char *key, uint64_t off,
    uint64_t len, storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct resume r = { .sink = sink, .cookie = cookie };
	unsigned attempt = 0;
	int rc;

	do
		rc = storage_get(st, key, off + r.taken,
		    len == UINT64_MAX ? UINT64_MAX : len - r.taken,
		    resume_sink, &r, err);
	while (rc == AG_RETRY && !r.stopped &&
	    backoff_retry(&storage_retry, &attempt));
	return r.stopped ? -1 : rc;
}

const char *
storage_range_header(char *buf, size_t size, const char *name, uint64_t off,
    uint64_t len)
{

	if (off == 0 && len == UINT64_MAX)
		return (NULL);
	if (len == UINT64_MAX)
		(void)snprintf(buf, size, "%s: bytes=%ju-", name,
		    (uintmax_t)off);
	else
		(void)snprintf(buf, size, "%s: bytes=%ju-%ju", name,
		    (uintmax_t)off, (uintmax_t)(off + len - 1));
	return (buf);
}

int
storage_get_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct storage_get_sink *g = cookie;

	if (g->sink(g->cookie, buf, len) != 0) {
		g->stopped = true;
		return -1;
	}
	return 0;
}
