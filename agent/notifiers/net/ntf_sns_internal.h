/*
 * ntf_sns_internal.h: what the "sns" notifier (ntf_sns.c) puts on the wire
 * and how it reads SNS's answers, as pure functions, for ntf_sns.c and
 * tests/unit/test_sns.c only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_SNS_INTERNAL_H
#define VIGIL_NTF_SNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ag.h"
#include "agent/notify.h"

/* SNS's limits: Subject characters, FIFO id length, region length. */
#define SNS_SUBJECT_MAX 100
#define SNS_FIFO_ID_MAX 128
#define SNS_REGION_MAX 32
/* The largest Publish body we build (SNS takes 256 KiB of Message). */
#define SNS_BODY_MAX (512 * 1024)

/* A topic ARN, taken apart. */
struct sns_topic {
	char region[SNS_REGION_MAX + 1]; /* "eu-west-1" */
	char partition[16];		 /* "aws", "aws-cn", ... */
	bool fifo;			 /* the name ends in ".fifo" */
};

/**
 * sns_topic_parse(arn, ret):
 * Check that ${arn} is arn:PARTITION:sns:REGION:ACCOUNT:NAME (a 12-digit
 * account, a name of letters, digits, '-' and '_', at most 256 with an
 * optional ".fifo") and fill ${ret}.  Return 0 or -1.
 */
int sns_topic_parse(const char *arn, struct sns_topic *ret);

/**
 * sns_subject(n, out, len):
 * The Subject for ${n}: notification_summary() with control characters
 * (line breaks included) made spaces and bytes that are not UTF-8 made
 * '?', cut to SNS_SUBJECT_MAX characters on a character boundary (the last
 * one then "\u2026").  ${len} must be at least 4 * SNS_SUBJECT_MAX + 1.
 */
void sns_subject(const struct notification *n, char *out, size_t len);

/**
 * sns_text(n):
 * The plain-text Message for ${n} (email subscribers read it): the summary,
 * then state, rule, host, metric, resource, value, threshold, times and id,
 * one per line, valid UTF-8.  Return a malloc'd string, or NULL.
 */
char *sns_text(const struct notification *n);

/**
 * sns_resource(n, out, len):
 * The resource ${n} is about: the labels between the braces of its metric
 * ("ec2.CPUUtilization{InstanceId=i-0abc}" -> "InstanceId=i-0abc"), or ""
 * for a metric without labels.
 */
void sns_resource(const struct notification *n, char *out, size_t len);

/**
 * sns_fifo_id(s, out):
 * ${s} as a FIFO MessageGroupId / MessageDeduplicationId: itself if it has
 * 1 to 128 characters of the allowed set (letters, digits, ASCII
 * punctuation), else the hex SHA-256 of ${s} (64 characters).
 */
void sns_fifo_id(const char *s, char out[SNS_FIFO_ID_MAX + 1]);

/* How a Publish is built. */
struct sns_publish {
	const char *topic_arn;
	bool fifo;	     /* MessageGroupId and MessageDeduplicationId */
	bool json_structure; /* MessageStructure=json */
};

/**
 * sns_publish_body(p, n):
 * The form body of the Publish of ${n} (Action=Publish&Version=2010-03-31
 * &TopicArn=..&Message=..&Subject=..[&MessageStructure=json]
 * &MessageAttributes.entry.N.Name=..&...Value.DataType=String
 * &...Value.StringValue=..[&MessageDeduplicationId=..&MessageGroupId=..]),
 * in the order of botocore's serializer,
 * every key and value form-encoded as botocore encodes them (a space as
 * '+', bytes outside A-Z a-z 0-9 - . _ ~ as %XX).  Return a malloc'd
 * string, or NULL (out of memory, too big).
 */
char *sns_publish_body(const struct sns_publish *p,
    const struct notification *n);

/**
 * sns_message_id(body, len, out, size):
 * The MessageId of a PublishResponse.  Return 0, or -1 if there is none.
 */
int sns_message_id(const char *body, size_t len, char *out, size_t size);

/**
 * sns_error_parse(body, len, code, csize, msg, msize):
 * The Code and Message of an <ErrorResponse> (query protocol); "" for a
 * missing element.  moto wraps Error in Errors, as EC2 does; both are
 * read.  Return 1 if ${body} is one, else 0 (both "").
 */
int sns_error_parse(const char *body, size_t len, char *code, size_t csize,
    char *msg, size_t msize);

/**
 * sns_classify(what, status, body, len, err):
 * What a Publish answer means: 0 for 2xx; AG_RETRY for 408, 429, 5xx, a
 * throttling or internal code, and for credential, signature, clock and
 * permission refusals (a fixed configuration delivers what is queued);
 * -1 for the other refusals.  ${err} gets "${what}: HTTP 403
 * SignatureDoesNotMatch: <what to fix> SNS says: <Message>".
 */
int sns_classify(const char *what, long status, const char *body, size_t len,
    struct ag_err *err);

#endif
