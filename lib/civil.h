/*
 * civil.h: the proleptic Gregorian calendar as plain arithmetic (Howard
 * Hinnant's algorithms), exact for any year and independent of the time
 * zone and of how the C library normalises out-of-range fields.  For
 * schedules (lib/schedule.c) and backup ids (backup/backup_id.c).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CIVIL_H
#define VIGIL_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/**
 * civil_to_days(y, m, d):
 * Days from 1970-01-01 to the date ${y}-${m}-${d} (${m} 1-12, ${d} 1-31;
 * negative before 1970).
 */
int64_t civil_to_days(int64_t y, int m, int d);

/**
 * civil_from_days(z, ret_y, ret_m, ret_d):
 * The date ${z} days after 1970-01-01 (the inverse of civil_to_days()).
 */
void civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d);

/* civil_is_leap(y): whether ${y} has a February 29th. */
bool civil_is_leap(int y);

/* civil_days_in_month(y, m): 28 to 31 (${m} 1-12). */
int civil_days_in_month(int y, int m);

#endif
