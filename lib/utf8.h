/*
 * utf8.h: reading UTF-8 a character at a time, for the code that must send
 * or store only well-formed text (notification JSON, webhook bodies, SNS
 * subjects).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_UTF8_H
#define VIGIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/**
 * utf8_seq(p, cp):
 * The length (1 to 4) of the well-formed UTF-8 sequence at ${p}, its code
 * point in ${cp} unless NULL; or 0 if the byte at ${p} does not start one
 * (a stray continuation byte, an overlong form, a surrogate, beyond
 * U+10FFFF, or a sequence cut short, by a NUL among others).
 */
size_t utf8_seq(const unsigned char *p, uint32_t *cp);

#endif
