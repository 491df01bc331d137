/*
 * ntf_sms_internal.h: what the "sms" notifier (ntf_sms.c) exposes to its
 * unit test: segmenting, the rate, the filter and the answers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_SMS_INTERNAL_H
#define VIGIL_NTF_SMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "agent/notify.h"

/* One SMS segment: 160 GSM-7 septets, or 70 UCS-2 code units. */
#define SMS_GSM7_MAX 160
#define SMS_UCS2_MAX 70
/* The most a rate may allow per period. */
#define SMS_RATE_MAX 100

/**
 * sms_gsm7_cost(cp):
 * The septets code point ${cp} takes in the GSM 03.38 default alphabet: 1
 * for the basic table, 2 for the extension table (^ { } \ [ ~ ] | and the
 * euro sign), 0 if it cannot be written in GSM-7.
 */
int sms_gsm7_cost(uint32_t cp);

/**
 * sms_segment(text, out, len, ret_gsm7):
 * ${text} (UTF-8) cut to one SMS segment into ${out} (${len} bytes): at
 * most SMS_GSM7_MAX septets if every character is GSM-7 (*${ret_gsm7}
 * true), else SMS_UCS2_MAX UTF-16 code units (a character beyond the BMP
 * takes two).  A text that does not fit is cut on a character boundary
 * and ends in "..." (GSM-7) or U+2026 (UCS-2), within the limit.
 * Control characters become blanks, broken UTF-8 '?'.
 */
void sms_segment(const char *text, char *out, size_t len, bool *ret_gsm7);

/**
 * sms_rate_parse(s, ret_n, ret_period_ms):
 * "N/s", "N/m", "N/h" or "N/d" (N from 1 to SMS_RATE_MAX).  Return 0 or
 * -1.
 */
int sms_rate_parse(const char *s, unsigned *ret_n, int64_t *ret_period_ms);

/**
 * sms_rate_take(number, n, period_ms, now_ms, ret_dropped):
 * May one more message go to ${number} at ${now_ms}, when at most ${n}
 * may go per ${period_ms}?  The history is kept per number for the whole
 * process (several notifiers to one phone share it; a reload keeps it).
 * Return 1 and count the message, or 0 and count a drop; *${ret_dropped}
 * is how many were dropped for ${number} so far.
 */
int sms_rate_take(const char *number, unsigned n, int64_t period_ms,
    int64_t now_ms, uint64_t *ret_dropped);

/**
 * sms_rate_give_back(number, now_ms):
 * Undo the last sms_rate_take() of ${number} at ${now_ms}: the message was
 * not accepted (a retry will take again).
 */
void sms_rate_give_back(const char *number, int64_t now_ms);

/**
 * sms_wanted(n, states, reminders):
 * Is ${n} for SMS, when ${states} is the bit set (1 << state) of the
 * states that page?  A change into such a state, or out of one (the
 * recovery, or a fall to a state that does not page); reminders only if
 * ${reminders}.
 */
bool sms_wanted(const struct notification *n, unsigned states, bool reminders);

/**
 * sms_classify(status, body, len, err):
 * Twilio's answer: 2xx accepted (0); 429 and 5xx retried (AG_RETRY); the
 * rest dropped (-1); failures with Twilio's "code" and "message" from the
 * JSON body, 401 said to be an authentication failure.
 */
int sms_classify(long status, const char *body, size_t len,
    struct ag_err *err);

#endif
