/*
 * conf_src.h: the text of a configuration, read by us rather than by
 * libconfig: the file and every file it @includes, each checked (a regular
 * file, a size cap, whether it may hold inline secrets), spliced into one
 * text that libconfig parses from memory, with a map from the lines of that
 * text back to the file and line each came from.  Internal to conf/.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CONF_SRC_H
#define VIGIL_CONF_SRC_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

struct conf_errs;
struct conf_src;

/* The most bytes one configuration file (main or included) may have. */
#define CONF_FILE_MAX (1u << 20)
/* The most bytes of a configuration and all its includes together. */
#define CONF_TEXT_MAX (4u << 20)
/* How deep includes may nest (libconfig's own limit). */
#define CONF_INCLUDE_DEPTH 10

/**
 * conf_src_load(path, ret, errs):
 * Read the configuration file ${path} and, recursively, the files its
 * @include directives name: a relative name is taken in the folder of
 * ${path} (as libconfig's include_dir), an absolute one as it is.  Every
 * problem (a file that cannot be read, is not a regular file, is too large,
 * holds a NUL byte, includes itself) goes to ${errs} as "FILE:LINE: ...",
 * the line being that of the @include directive.  On success store the
 * spliced text in ${ret} and return 0; else return -1.  Never blocks on a
 * FIFO or a device.
 */
int conf_src_load(const char *path, struct conf_src **ret,
    struct conf_errs *errs);

/**
 * conf_src_new_text(name, text):
 * A source holding ${text} (copied) as one file called ${name}, which may
 * hold inline secrets (the embedded default).  Return it or NULL.
 */
struct conf_src *conf_src_new_text(const char *name, const char *text);

/* conf_src_text(src): the spliced text, NUL-terminated. */
const char *conf_src_text(const struct conf_src *src);

/**
 * conf_src_where(src, line, ret_file, ret_line, ret_private):
 * Map ${line} of the spliced text to the file it came from (stored in
 * ${ret_file}, valid as long as ${src}) and the line there (${ret_line}),
 * and whether that file may hold inline secrets (${ret_private}: it has no
 * group or other permissions).  A line outside the text maps to the main
 * file and line 0.
 */
void conf_src_where(const struct conf_src *src, int line,
    const char **ret_file, int *ret_line, bool *ret_private);

/* conf_src_free(src): free ${src}; NULL does nothing. */
void conf_src_free(struct conf_src *src);

/**
 * conf_read_regular(path, max, ret, ret_len, ret_st, why, whylen):
 * Read the whole regular file ${path} (symbolic links are followed) of at
 * most ${max} bytes into a malloc'd NUL-terminated buffer stored in ${ret}
 * with its length in ${ret_len} and the file's status in ${ret_st}.  A FIFO,
 * device, socket or directory is refused without reading (or blocking on)
 * it.  Buffers given up while growing are wiped, so the function suits
 * secrets.  Return 0; or -1 with the reason ("cannot read: Permission
 * denied", "is a directory, not a file", "is larger than 1 MiB") in ${why}.
 */
int conf_read_regular(const char *path, size_t max, char **ret,
    size_t *ret_len, struct stat *ret_st, char *why, size_t whylen);

#endif /* !VIGIL_CONF_SRC_H */
