/*
 * index_stream.c: the array-of-objects splitter (see index_stream.h).
 *
 * A state machine over bytes.  Between pieces it expects exactly the
 * structure of the root object: '{', then "key" ':' value pairs separated
 * by ',', then '}', with JSON whitespace anywhere between tokens.  A
 * value, an array element or a root key is copied into a buffer while its
 * end is found: for an object or an array by counting '{'/'[' against
 * '}'/']' outside strings (a mismatch such as "{]" makes a piece that
 * jansson refuses), for a string by its closing quote (a backslash skips
 * the next byte), for a number or a literal by the first delimiter, which
 * is then read again as structure.  Every buffer has a maximum.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "backup/index_stream.h"

#define KEY_MAX 1024   /* a root key's JSON text */
#define MEMBERS_MAX 64 /* root members */

enum state {
	S_ROOT,	      /* before '{' */
	S_KEY_OR_END, /* after '{': a key or '}' */
	S_KEY,	      /* after ',': a key */
	S_COLON,
	S_VALUE,
	S_ARRAY_FIRST, /* after '[': an element or ']' */
	S_ARRAY_NEXT,  /* after an element: ',' or ']' */
	S_ELEMENT,     /* after ',' in the array */
	S_NEXT,	       /* after a member: ',' or '}' */
	S_DONE,	       /* after the root's '}' */
	S_CAPTURE      /* inside a piece */
};

/* What the piece being captured is. */
enum piece { P_KEY, P_MEMBER, P_ELEMENT };

struct index_stream {
	struct index_stream_conf c;
	enum state st;
	uint64_t pos; /* bytes consumed */
	int failed;

	/* The piece being captured. */
	enum piece piece;
	struct buf buf; /* its JSON text */
	size_t max;	/* ... at most */
	unsigned depth; /* open '{' and '[' */
	bool in_str, esc, scalar;

	char *key; /* the member whose value comes */
	bool array_seen, in_array;
	char *keys[MEMBERS_MAX]; /* root keys seen */
	size_t nkeys;
};

static int sfail(struct index_stream *, struct ag_err *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
sfail(struct index_stream *s, struct ag_err *err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	s->failed = 1;
	return ag_err_set(err, "not valid JSON at byte %llu: %s",
	    (unsigned long long)s->pos, what);
}

/**
 * index_stream_new(conf):
 * A splitter with the settings ${conf} (copied; array_key must outlive
 * it).  Return it, or NULL (out of memory).
 */
struct index_stream *
index_stream_new(const struct index_stream_conf *conf)
{
	struct index_stream *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->c = *conf;
	s->st = S_ROOT;
	/* Each piece has its own maximum (capture_start()): the largest. */
	buf_init(&s->buf, KEY_MAX);
	if (s->buf.max < conf->element_max)
		buf_init(&s->buf, conf->element_max);
	if (s->buf.max < conf->member_max)
		buf_init(&s->buf, conf->member_max);
	return s;
}

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Start capturing a piece of kind ${p} whose first byte is ${c}. */
static int
capture_start(struct index_stream *s, enum piece p, uint8_t c,
    struct ag_err *err)
{
	s->piece = p;
	buf_reset(&s->buf);
	s->depth = 0;
	s->in_str = s->esc = s->scalar = false;
	s->max = p == P_KEY ? KEY_MAX :
	    p == P_ELEMENT  ? s->c.element_max :
			      s->c.member_max;
	if (c == '{' || c == '[')
		s->depth = 1;
	else if (c == '"')
		s->in_str = true;
	else if (p == P_KEY)
		return sfail(s, err, "a key must be a string");
	else if (c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))
		s->scalar = true;
	else
		return sfail(s, err, "unexpected '%c'",
		    c >= 0x20 && c < 0x7f ? c : '?');
	s->st = S_CAPTURE;
	return 0;
}

static int
capture_put(struct index_stream *s, const uint8_t *p, size_t n,
    struct ag_err *err)
{
	if (n > s->max - s->buf.len)
		return sfail(s, err, "%s of more than %zu bytes",
		    s->piece == P_KEY	      ? "a key" :
			s->piece == P_ELEMENT ? "an array element" :
						"a value",
		    s->max);
	if (buf_append(&s->buf, p, n) != 0) {
		s->failed = 1;
		return ag_err_set(err, "out of memory");
	}
	return 0;
}

/* The key's JSON text is complete: decode it, refuse a duplicate. */
static int
key_done(struct index_stream *s, struct ag_err *err)
{
	json_t *v;
	size_t i;

	v = json_loadb(s->buf.p, s->buf.len, JSON_DECODE_ANY, NULL);
	if (v == NULL || !json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		json_decref(v);
		return sfail(s, err, "a bad key");
	}
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i], json_string_value(v)) == 0) {
			json_decref(v);
			return sfail(s, err, "duplicate key \"%.40s\"",
			    s->keys[i]);
		}
	if (s->nkeys >= MEMBERS_MAX) {
		json_decref(v);
		return sfail(s, err, "more than %d members", MEMBERS_MAX);
	}
	if ((s->keys[s->nkeys] = strdup(json_string_value(v))) == NULL) {
		json_decref(v);
		s->failed = 1;
		return ag_err_set(err, "out of memory");
	}
	s->key = s->keys[s->nkeys++];
	json_decref(v);
	s->st = S_COLON;
	return 0;
}

/* A piece is complete. */
static int
capture_done(struct index_stream *s, struct ag_err *err)
{
	int rc;

	switch (s->piece) {
	case P_KEY:
		return key_done(s, err);
	case P_MEMBER:
		s->st = S_NEXT;
		rc = s->c.on_member(s->c.cookie, s->key, s->buf.p, s->buf.len);
		break;
	case P_ELEMENT:
	default:
		s->st = S_ARRAY_NEXT;
		rc = s->c.on_element(s->c.cookie, s->buf.p, s->buf.len);
		break;
	}
	if (rc != 0)
		s->failed = 1;
	return rc != 0 ? -1 : 0;
}

/*
 * Capture from ${buf}: store the bytes consumed in ${ret_used}; a scalar
 * leaves its delimiter unconsumed.
 */
static int
capture(struct index_stream *s, const uint8_t *buf, size_t len,
    size_t *ret_used, struct ag_err *err)
{
	size_t i = 0;
	bool done = false;
	uint8_t c;

	if (s->buf.len == 0) {
		/* The first byte was classified by capture_start(). */
		i = 1;
	}
	for (; i < len && !done; i++) {
		c = buf[i];
		if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"') {
				s->in_str = false;
				done = s->depth == 0;
			}
		} else if (s->scalar) {
			if (is_ws(c) || c == ',' || c == ']' || c == '}') {
				/* The delimiter is structure: not ours. */
				if (capture_put(s, buf, i, err) != 0)
					return -1;
				*ret_used = i;
				return capture_done(s, err);
			}
		} else if (c == '"') {
			s->in_str = true;
		} else if (c == '{' || c == '[') {
			if (++s->depth > 10000)
				return sfail(s, err, "nested too deep");
		} else if (c == '}' || c == ']') {
			done = --s->depth == 0;
		}
	}
	if (capture_put(s, buf, i, err) != 0)
		return -1;
	*ret_used = i;
	return done ? capture_done(s, err) : 0;
}

/* One structural byte ${c} outside any piece. */
static int
structure(struct index_stream *s, uint8_t c, struct ag_err *err)
{
	switch (s->st) {
	case S_ROOT:
		if (c != '{')
			return sfail(s, err, "the index is not a JSON object");
		s->st = S_KEY_OR_END;
		return 0;
	case S_KEY_OR_END:
		if (c == '}') {
			s->st = S_DONE;
			return 0;
		}
		/* FALLTHROUGH */
	case S_KEY:
		return capture_start(s, P_KEY, c, err);
	case S_COLON:
		if (c != ':')
			return sfail(s, err, "':' expected");
		s->st = S_VALUE;
		return 0;
	case S_VALUE:
		if (strcmp(s->key, s->c.array_key) != 0)
			return capture_start(s, P_MEMBER, c, err);
		if (c != '[')
			return sfail(s, err, "\"%s\" is not a list",
			    s->c.array_key);
		s->array_seen = s->in_array = true;
		s->st = S_ARRAY_FIRST;
		return 0;
	case S_ARRAY_FIRST:
		if (c == ']') {
			s->in_array = false;
			s->st = S_NEXT;
			return 0;
		}
		/* FALLTHROUGH */
	case S_ELEMENT:
		return capture_start(s, P_ELEMENT, c, err);
	case S_ARRAY_NEXT:
		if (c == ',') {
			s->st = S_ELEMENT;
			return 0;
		}
		if (c != ']')
			return sfail(s, err, "',' or ']' expected");
		s->in_array = false;
		s->st = S_NEXT;
		return 0;
	case S_NEXT:
		if (c == ',') {
			s->st = S_KEY;
			return 0;
		}
		if (c != '}')
			return sfail(s, err, "',' or '}' expected");
		s->st = S_DONE;
		return 0;
	case S_DONE:
	default:
		return sfail(s, err, "text after the end of the object");
	}
}

/**
 * index_stream_feed(s, buf, len, err):
 * Feed the next ${len} bytes of JSON; the callbacks run from here.  Return
 * 0, or -1 with a message or when a callback returned nonzero.  A failure
 * is sticky.
 */
int
index_stream_feed(struct index_stream *s, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	size_t used;

	if (s->failed)
		return ag_err_set(err, "stopped by an earlier failure");
	while (len > 0) {
		if (s->st == S_CAPTURE) {
			if (capture(s, buf, len, &used, err) != 0)
				return -1;
		} else {
			used = 1;
			if (!is_ws(buf[0])) {
				if (structure(s, buf[0], err) != 0)
					return -1;
				/* A piece starts with this byte. */
				if (s->st == S_CAPTURE) {
					if (capture(s, buf, len, &used, err) !=
					    0)
						return -1;
				}
			}
		}
		s->pos += used;
		buf += used;
		len -= used;
	}
	return 0;
}

/**
 * index_stream_end(s, err):
 * The text ended: return 0 if it held one whole root object with the
 * array, else -1 with a message.
 */
int
index_stream_end(struct index_stream *s, struct ag_err *err)
{
	if (s->failed)
		return ag_err_set(err, "stopped by an earlier failure");
	/* A number at the very end has no delimiter: the root is open. */
	if (s->st != S_DONE)
		return sfail(s, err, "the text ends inside the object");
	if (!s->array_seen)
		return sfail(s, err, "no \"%s\" list", s->c.array_key);
	return 0;
}

/* index_stream_free(s): free ${s}; NULL is a no-op. */
void
index_stream_free(struct index_stream *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	buf_free(&s->buf);
	free(s);
}
