/*
 * conf_src.c: the text of a configuration, the file and its @includes.
 *
 * libconfig 1.5 opens included files itself with fopen(): a directory there
 * makes its scanner call exit(2) (a reload killed the daemon), a FIFO blocks
 * forever, a long line read from a file takes quadratic time, and version
 * 1.5 has no hook to stop any of it (config_set_include_func() came with
 * 1.7).  So we read every file ourselves: opened without blocking, it must
 * be a regular file of at most CONF_FILE_MAX bytes with no NUL byte.  The
 * @include directives are found exactly where libconfig's scanner
 * (scanner.l) takes them: "^[ \t]*@include[ \t]+\"" at the start of a line,
 * outside block comments, line comments and strings, with "\\" and "\""
 * escapes in the name.  Each is replaced by the included text, which ends
 * with a newline, and the rest of the directive's line follows on a line of
 * its own.  libconfig parses the spliced text from memory (linear time), and
 * a table of segments maps each line of it back to its file and line, so
 * that every error names the file the user edits.
 *
 * A relative include is taken in the folder of the main file (what
 * config_set_include_dir() did), also inside included files; an absolute
 * one as it is (libconfig 1.5 glued it to the folder; 1.7 does as we do).
 * No globs: neither version has them by default.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

#include "conf/conf_src.h"

/* libconfig's scanner states that matter for finding directives. */
enum lex {
	LEX_INITIAL,
	LEX_COMMENT, /* inside slash-star ... star-slash */
	LEX_STRING   /* inside "..." */
};

struct src_file {
	char *name;   /* as errors show it */
	bool private; /* no group or other permissions */
	dev_t dev;
	ino_t ino;
};

/* From line ${out_line} of the text on, lines come from ${file} at ${line}. */
struct src_seg {
	int out_line;
	size_t file;
	int line;
};

struct conf_src {
	char *text; /* the spliced text */
	size_t len, cap;
	int out_line;		/* the line the end of text is on */
	size_t read;		/* bytes of all files read */
	struct src_file *files; /* [0] is the main file */
	size_t nfiles;
	struct src_seg *segs;
	size_t nsegs, segcap;
	char *dir;    /* where relative includes are; or NULL */
	enum lex lex; /* the scanner's state at the end of text */
	bool bad;     /* an error was recorded */
};

static const char *
kind(mode_t m)
{
	if (S_ISDIR(m))
		return "is a directory, not a file";
	if (S_ISFIFO(m))
		return "is a FIFO, not a regular file";
	if (S_ISSOCK(m))
		return "is a socket, not a regular file";
	if (S_ISCHR(m))
		return "is a character device, not a regular file";
	if (S_ISBLK(m))
		return "is a block device, not a regular file";
	return "is not a regular file";
}

static void
too_large(size_t max, char *why, size_t whylen)
{
	if (max % (1u << 20) == 0)
		snprintf(why, whylen, "is larger than %zu MiB", max >> 20);
	else if (max % 1024 == 0)
		snprintf(why, whylen, "is larger than %zu KiB", max >> 10);
	else
		snprintf(why, whylen, "is larger than %zu bytes", max);
}

/*
 * Replace the buffer ${*buf} of ${len} used bytes by one of ${cap} bytes,
 * wiping the old one.  Return 0 or -1.
 */
static int
regrow(char **buf, size_t len, size_t cap)
{
	char *nb;

	if ((nb = malloc(cap)) == NULL)
		return -1;
	if (*buf != NULL) {
		memcpy(nb, *buf, len);
		explicit_bzero(*buf, len);
		free(*buf);
	}
	*buf = nb;
	return 0;
}

int
conf_read_regular(const char *path, size_t max, char **ret, size_t *ret_len,
    struct stat *ret_st, char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd;

	/*
	 * Look before opening, so that a device is never opened; open with
	 * O_NONBLOCK, so that a FIFO put in the file's place meanwhile cannot
	 * block us, and look again at what was opened.
	 */
	if (stat(path, &st) != 0)
		goto errno0;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s", kind(st.st_mode));
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		too_large(max, why, whylen);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) <
	    0)
		goto errno0;
	if (fstat(fd, &st) != 0)
		goto errno1;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s", kind(st.st_mode));
		goto err1;
	}
	/* Room for the bytes stat() saw, one more to see growth, the NUL. */
	cap = (size_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
	if (regrow(&buf, 0, cap) != 0)
		goto errno1;
	for (;;) {
		if (len == cap - 1) {
			if (len > max) {
				too_large(max, why, whylen);
				goto err2;
			}
			if (regrow(&buf, len,
				cap * 2 < max + 2 ? cap * 2 : max + 2) != 0)
				goto errno2;
			cap = cap * 2 < max + 2 ? cap * 2 : max + 2;
		}
		if ((n = read(fd, buf + len, cap - 1 - len)) < 0) {
			if (errno == EINTR)
				continue;
			goto errno2;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	*ret_st = st;
	return 0;

errno2:
	snprintf(why, whylen, "cannot read: %s", strerror(errno));
err2:
	explicit_bzero(buf, cap);
	free(buf);
	close(fd);
	return -1;
errno1:
	snprintf(why, whylen, "cannot read: %s", strerror(errno));
err1:
	close(fd);
	return -1;
errno0:
	snprintf(why, whylen, "cannot read: %s", strerror(errno));
	return -1;
}

/* Append ${n} bytes at ${p} to the text, counting its lines. */
static int
emit(struct conf_src *src, const char *p, size_t n)
{
	if (src->cap - src->len <= n) {
		size_t cap = src->cap == 0 ? 4096 : src->cap;

		while (cap - src->len <= n)
			cap *= 2;
		if (regrow(&src->text, src->len, cap) != 0)
			return -1;
		src->cap = cap;
	}
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			src->out_line++;
	return 0;
}

/* From the current line of the text on, lines are ${line}... of ${file}. */
static int
seg(struct conf_src *src, size_t file, int line)
{
	struct src_seg *v;

	if (src->nsegs > 0 &&
	    src->segs[src->nsegs - 1].out_line == src->out_line) {
		src->nsegs--; /* an empty segment */
	} else if (src->nsegs == src->segcap) {
		size_t cap = src->segcap == 0 ? 8 : src->segcap * 2;

		if ((v = realloc(src->segs, cap * sizeof(*v))) == NULL)
			return -1;
		src->segs = v;
		src->segcap = cap;
	}
	src->segs[src->nsegs++] = (struct src_seg){ .out_line = src->out_line,
		.file = file,
		.line = line };
	return 0;
}

static int
add_file(struct conf_src *src, const char *name, const struct stat *st)
{
	struct src_file *v;

	if ((v = realloc(src->files, (src->nfiles + 1) * sizeof(*v))) == NULL)
		return -1;
	src->files = v;
	if ((v[src->nfiles].name = strdup(name)) == NULL)
		return -1;
	v[src->nfiles].private = (st->st_mode & 077) == 0;
	v[src->nfiles].dev = st->st_dev;
	v[src->nfiles].ino = st->st_ino;
	src->nfiles++;
	return 0;
}

/*
 * If an @include directive starts at ${i}, the start of a line, return the
 * offset of the first byte of its name (after the quote); else 0.
 */
static size_t
directive_at(const char *t, size_t len, size_t i)
{
	static const char word[] = "@include";
	size_t j = i;

	while (j < len && (t[j] == ' ' || t[j] == '\t'))
		j++;
	if (len - j < sizeof(word) - 1 ||
	    memcmp(t + j, word, sizeof(word) - 1) != 0)
		return 0;
	j += sizeof(word) - 1;
	if (j >= len || (t[j] != ' ' && t[j] != '\t'))
		return 0;
	while (j < len && (t[j] == ' ' || t[j] == '\t'))
		j++;
	if (j >= len || t[j] != '"')
		return 0;
	return j + 1;
}

static int splice_text(struct conf_src *src, struct conf_errs *e, size_t fi,
    const char *t, size_t len, size_t *chain, size_t depth);

/*
 * Read the file ${path} for the directive naming it ${name} on line
 * ${line} of file ${fi}, check it and splice it in.  Problems are recorded
 * at the directive.  Return 0, or -1 if out of memory.
 */
static int
include(struct conf_src *src, struct conf_errs *e, size_t fi, int line,
    const char *name, size_t *chain, size_t depth)
{
	const char *from = src->files[fi].name;
	char *path = NULL, *t = NULL, why[160], shown[PATH_MAX + 8];
	size_t len = 0;
	struct stat st;
	int rc = 0;

	if (name[0] == '/' || src->dir == NULL)
		path = strdup(name);
	else if (asprintf(&path, "%s/%s", src->dir, name) < 0)
		path = NULL;
	if (path == NULL)
		return -1;
	/* Say where a relative name was looked for. */
	if (strcmp(path, name) != 0)
		snprintf(shown, sizeof(shown), " (%s)", path);
	else
		shown[0] = '\0';
	if (depth + 1 > CONF_INCLUDE_DEPTH) {
		snprintf(why, sizeof(why), "includes nest more than %d deep",
		    CONF_INCLUDE_DEPTH);
		goto fail;
	}
	if (conf_read_regular(path, CONF_FILE_MAX, &t, &len, &st, why,
		sizeof(why)) != 0)
		goto fail;
	for (size_t k = 0; k <= depth; k++) {
		if (src->files[chain[k]].dev == st.st_dev &&
		    src->files[chain[k]].ino == st.st_ino) {
			snprintf(why, sizeof(why),
			    "includes itself (a loop of "
			    "includes)");
			goto fail;
		}
	}
	if (len > CONF_TEXT_MAX - src->read) {
		snprintf(why, sizeof(why),
		    "the configuration and its "
		    "includes exceed %u MiB",
		    CONF_TEXT_MAX >> 20);
		goto fail;
	}
	src->read += len;
	if (add_file(src, path, &st) != 0) {
		rc = -1;
		goto out;
	}
	chain[depth + 1] = src->nfiles - 1;
	/* libconfig scans the included file from its start, as code. */
	src->lex = LEX_INITIAL;
	rc = splice_text(src, e, src->nfiles - 1, t, len, chain, depth + 1);
	goto out;

fail:
	src->bad = true;
	(void)conf_error_line(e, from, line, "@include \"%s\"%s: %s", name,
	    shown, why);
out:
	if (t != NULL) {
		explicit_bzero(t, len);
		free(t);
	}
	free(path);
	return rc;
}

/*
 * Parse the name of the directive whose name starts at ${*pos} in ${t}
 * (libconfig's INCLUDE state: "\\" and "\"" are escapes, any other
 * backslash is dropped).  Store a malloc'd copy in ${ret}, move ${*pos}
 * past the closing quote and count newlines in ${*line}.  Return 0, 1 if
 * the quote is missing, -1 if out of memory.
 */
static int
directive_name(const char *t, size_t len, size_t *pos, int *line, char **ret)
{
	size_t k = *pos, n = 0;
	char *name;

	if ((name = malloc(len - k + 1)) == NULL)
		return -1;
	for (;;) {
		if (k >= len) {
			free(name);
			return 1;
		}
		if (t[k] == '"')
			break;
		if (t[k] == '\\') {
			if (t[k + 1] == '\\' || t[k + 1] == '"')
				name[n++] = t[++k];
			k++;
			continue;
		}
		if (t[k] == '\n')
			(*line)++;
		name[n++] = t[k++];
	}
	name[n] = '\0';
	*pos = k + 1;
	*ret = name;
	return 0;
}

/*
 * Append the text ${t} of file ${fi} with its includes spliced in; ${chain}
 * holds the files being included, ${depth} + 1 of them.  Return 0, or -1
 * if out of memory.
 */
static int
splice_text(struct conf_src *src, struct conf_errs *e, size_t fi,
    const char *t, size_t len, size_t *chain, size_t depth)
{
	size_t i = 0, from = 0, k;
	int line = 1, dline, r;
	bool bol = true;
	char *name;

	if (memchr(t, '\0', len) != NULL) {
		for (const char *p = t; *p != '\0'; p++)
			if (*p == '\n')
				line++;
		src->bad = true;
		(void)conf_error_line(e, src->files[fi].name, line,
		    "holds a "
		    "NUL byte: not a text file");
		return 0;
	}
	if (seg(src, fi, 1) != 0)
		return -1;
	while (i < len) {
		switch (src->lex) {
		case LEX_COMMENT:
			if (t[i] == '*' && t[i + 1] == '/') {
				src->lex = LEX_INITIAL;
				i += 2;
				bol = false;
				continue;
			}
			break;
		case LEX_STRING:
			if (t[i] == '\\' &&
			    (t[i + 1] == '"' || t[i + 1] == '\\')) {
				i += 2;
				bol = false;
				continue;
			}
			if (t[i] == '"') {
				src->lex = LEX_INITIAL;
				i++;
				bol = false;
				continue;
			}
			break;
		case LEX_INITIAL:
			if (bol && (k = directive_at(t, len, i)) != 0) {
				dline = line;
				if ((r = directive_name(t, len, &k, &line,
					 &name)) < 0)
					return -1;
				if (r > 0) {
					src->bad = true;
					(void)conf_error_line(e,
					    src->files[fi].name, dline,
					    "@include without its closing "
					    "quote");
					return 0;
				}
				if (emit(src, t + from, i - from) != 0 ||
				    include(src, e, fi, dline, name, chain,
					depth) != 0) {
					free(name);
					return -1;
				}
				free(name);
				/* The rest of the line, on a line of its own. */
				if (src->len > 0 &&
				    src->text[src->len - 1] != '\n' &&
				    emit(src, "\n", 1) != 0)
					return -1;
				if (seg(src, fi, line) != 0)
					return -1;
				from = i = k;
				bol = false;
				continue;
			}
			if (t[i] == '/' && t[i + 1] == '*') {
				src->lex = LEX_COMMENT;
				i += 2;
				bol = false;
				continue;
			}
			if (t[i] == '"') {
				src->lex = LEX_STRING;
				i++;
				bol = false;
				continue;
			}
			if (t[i] == '#' || (t[i] == '/' && t[i + 1] == '/')) {
				while (i < len && t[i] != '\n')
					i++;
				bol = false;
				continue;
			}
			break;
		}
		if (t[i] == '\n')
			line++;
		bol = t[i] == '\n';
		i++;
	}
	if (emit(src, t + from, len - from) != 0)
		return -1;
	/*
	 * End every file with a newline: libconfig 1.5 takes a comment on a
	 * last line without one for garbage, and the including file goes on
	 * on a line of its own.
	 */
	if (len > 0 && t[len - 1] != '\n' && emit(src, "\n", 1) != 0)
		return -1;
	return 0;
}

static struct conf_src *
src_new(void)
{
	struct conf_src *src;

	if ((src = calloc(1, sizeof(*src))) == NULL)
		return NULL;
	src->out_line = 1;
	if (emit(src, "", 0) != 0) {
		free(src);
		return NULL;
	}
	return src;
}

int
conf_src_load(const char *path, struct conf_src **ret, struct conf_errs *errs)
{
	struct conf_src *src = NULL;
	size_t chain[CONF_INCLUDE_DEPTH + 1];
	char *t = NULL, *slash, why[160];
	size_t len = 0;
	struct stat st;

	if (conf_read_regular(path, CONF_FILE_MAX, &t, &len, &st, why,
		sizeof(why)) != 0)
		return conf_error_line(errs, path, 0, "%s", why);
	if ((src = src_new()) == NULL || add_file(src, path, &st) != 0)
		goto oom;
	/* Relative includes are in the main file's folder. */
	if ((slash = strrchr(path, '/')) != NULL) {
		if ((src->dir = strdup(path)) == NULL)
			goto oom;
		src->dir[slash - path] = '\0';
		if (src->dir[0] == '\0')
			strcpy(src->dir, "/");
	}
	src->read = len;
	chain[0] = 0;
	if (splice_text(src, errs, 0, t, len, chain, 0) != 0)
		goto oom;
	explicit_bzero(t, len);
	free(t);
	if (src->bad) {
		conf_src_free(src);
		return -1;
	}
	*ret = src;
	return 0;

oom:
	explicit_bzero(t, len);
	free(t);
	conf_src_free(src);
	return conf_error_line(errs, path, 0, "out of memory");
}

struct conf_src *
conf_src_new_text(const char *name, const char *text)
{
	struct stat st = { .st_mode = S_IFREG | 0600 };
	struct conf_src *src;

	if ((src = src_new()) == NULL)
		return NULL;
	if (add_file(src, name, &st) != 0 || seg(src, 0, 1) != 0 ||
	    emit(src, text, strlen(text)) != 0) {
		conf_src_free(src);
		return NULL;
	}
	return src;
}

const char *
conf_src_text(const struct conf_src *src)
{
	return src->text;
}

void
conf_src_where(const struct conf_src *src, int line, const char **ret_file,
    int *ret_line, bool *ret_private)
{
	size_t lo = 0, hi = src->nsegs;
	const struct src_seg *s;

	/* The last segment that starts at or before ${line}. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->segs[mid].out_line <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (line < 1 || lo == 0) {
		*ret_file = src->files[0].name;
		*ret_line = 0;
		*ret_private = src->files[0].private;
		return;
	}
	s = &src->segs[lo - 1];
	*ret_file = src->files[s->file].name;
	*ret_line = s->line + (line - s->out_line);
	*ret_private = src->files[s->file].private;
}

void
conf_src_free(struct conf_src *src)
{
	if (src == NULL)
		return;
	/* Inline secrets were in the text. */
	if (src->text != NULL)
		explicit_bzero(src->text, src->len);
	free(src->text);
	for (size_t i = 0; i < src->nfiles; i++)
		free(src->files[i].name);
	free(src->files);
	free(src->segs);
	free(src->dir);
	free(src);
}
