/*
 * aws_xml.h: reading AWS's XML answers (S3, STS, SNS, CloudWatch's query
 * protocol) with libxml2: no network access, no entity expansion, element
 * names matched without their namespace.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUD_AWS_XML_H
#define VIGIL_CLOUD_AWS_XML_H

#include <stddef.h>
#include <time.h>

#include <libxml/tree.h>

/* aws_xml_parse(body, len): the document (xmlFreeDoc()), or NULL. */
xmlDocPtr aws_xml_parse(const char *body, size_t len);

/* aws_xml_is(n, name): whether ${n} is an element called ${name}. */
int aws_xml_is(xmlNodePtr n, const char *name);

/* aws_xml_child(n, name): the first child element ${name} of ${n}. */
xmlNodePtr aws_xml_child(xmlNodePtr n, const char *name);

/* aws_xml_node_text(n): the text of ${n}, malloc'd; NULL for no node. */
char *aws_xml_node_text(xmlNodePtr n);

/**
 * aws_xml_text(body, len, name):
 * The text of the first element called ${name} anywhere in ${body},
 * malloc'd, or NULL if there is none or the XML does not parse.
 */
char *aws_xml_text(const char *body, size_t len, const char *name);

/**
 * aws_parse_time(s, ret):
 * Parse an ISO 8601 UTC time as AWS writes it ("2026-11-22T03:00:00.000Z",
 * fraction optional, or "+00:00") into ${ret}.  Return 0 or -1.
 */
int aws_parse_time(const char *s, time_t *ret);

#endif
