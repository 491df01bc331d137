/*
 * backup_id.c: making and checking backup ids (see backup_id.h).
 *
 * The calendar arithmetic is lib/civil.c's rather than gmtime_r() and
 * timegm() so that parsing is exact and independent of the time zone and
 * of how the C library normalises out-of-range fields: "2026-02-30" is an
 * error, not March 2nd.  The suffix only separates two backups started in
 * the same second, so getrandom(2) is enough: this file is core code (no
 * OpenSSL), so that the daemon names a run before the heavy module runs it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/random.h>

#include <stdio.h>
#include <string.h>

#include "lib/civil.h"

#include "lib/backup_id.h"

#define DAY_S 86400LL

int
backup_id_format(int64_t start_s, unsigned suffix, char out[BACKUP_ID_SIZE])
{
	char tmp[64];
	int64_t days, rem;
	int y, m, d;

	out[0] = '\0';
	if (start_s < 0 || start_s > BACKUP_ID_TIME_MAX || suffix > 0xffff)
		return -1;
	days = start_s / DAY_S;
	rem = start_s % DAY_S;
	civil_from_days(days, &y, &m, &d);
	/* The ranges above make it 23 characters; the compiler cannot tell. */
	if (snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d%02d%02dZ-%04x", y,
		m, d, (int)(rem / 3600), (int)(rem % 3600 / 60),
		(int)(rem % 60), suffix) != BACKUP_ID_LEN)
		return -1;
	memcpy(out, tmp, BACKUP_ID_LEN + 1);
	return 0;
}

int
backup_id_make(int64_t start_s, char out[BACKUP_ID_SIZE])
{
	uint8_t r[2];

	out[0] = '\0';
	if (start_s < 0 || start_s > BACKUP_ID_TIME_MAX)
		return -1;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	return backup_id_format(start_s, (unsigned)r[0] << 8 | r[1], out);
}

/* ${n} decimal digits at ${s} into ${ret}.  0 or -1. */
static int
digits(const char *s, int n, int *ret)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

int
backup_id_parse(const char *id, int64_t *ret_time_s)
{
	int y, mo, d, h, mi, sec, i;

	/* 0123456789012345678901 2
	 * 2026-11-22T030000Z-3f9a */
	if (id == NULL || strlen(id) != BACKUP_ID_LEN)
		return -1;
	if (digits(id, 4, &y) || id[4] != '-' || digits(id + 5, 2, &mo) ||
	    id[7] != '-' || digits(id + 8, 2, &d) || id[10] != 'T' ||
	    digits(id + 11, 2, &h) || digits(id + 13, 2, &mi) ||
	    digits(id + 15, 2, &sec) || id[17] != 'Z' || id[18] != '-')
		return -1;
	for (i = 19; i < BACKUP_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
			(id[i] >= 'a' && id[i] <= 'f')))
			return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > civil_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (ret_time_s != NULL)
		*ret_time_s = civil_to_days(y, mo, d) * DAY_S + h * 3600LL +
		    mi * 60LL + sec;
	return 0;
}
