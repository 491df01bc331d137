/*
 * ntf_email_internal.h: the message builder of the "email" notifier
 * (ntf_email.c), for its unit test.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_EMAIL_INTERNAL_H
#define VIGIL_NTF_EMAIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "agent/notify.h"

/* RFC 5322: a line is at most 998 bytes, and should be at most 78. */
#define EMAIL_LINE_MAX 998
#define EMAIL_LINE_SOFT 78

/**
 * email_date(ms, buf, len):
 * The RFC 5322 date-time of ${ms} since the epoch, in UTC, with English
 * names whatever the locale: "Thu, 03 Dec 2026 13:30:06 +0000".
 */
void email_date(int64_t ms, char *buf, size_t len);

/**
 * email_valid_address(a):
 * Whether ${a} is a plain addr-spec "local@domain" of printable ASCII
 * without blanks, quotes, angle brackets, commas or parentheses.
 */
int email_valid_address(const char *a);

/**
 * email_message(from, to, n, ret_len):
 * The RFC 5322 message for notification ${n} from ${from} to the
 * NULL-terminated addresses ${to}: CRLF lines of at most EMAIL_LINE_MAX
 * bytes, headers Date (the notification's time), From, To, Subject (the
 * one-line summary, RFC 2047-encoded when not ASCII, folded), Message-ID
 * "<id@host>" (a retried send carries the same one), MIME-Version,
 * Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding 8bit,
 * Auto-Submitted and X-Vigil-Id, then the plain-text body.  Lines are not
 * dot-stuffed (libcurl does that).  Return a malloc'd string (its length
 * in ${ret_len}) or NULL.
 */
char *email_message(const char *from, const char *const *to,
    const struct notification *n, size_t *ret_len);

#endif
