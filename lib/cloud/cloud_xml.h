/*
 * cloud_xml.h: reading the clouds' XML answers (AWS S3, STS, SNS,
 * CloudWatch's query protocol; Azure Blob storage) with libxml2: no network
 * access, no entity expansion, element names matched without their
 * namespace; libxml2 set up once before any thread parses.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUD_XML_H
#define VIGIL_CLOUD_XML_H

#include <stddef.h>
#include <time.h>

#include <libxml/tree.h>

/* cloud_xml_parse(body, len): the document (xmlFreeDoc()), or NULL. */
xmlDocPtr cloud_xml_parse(const char *body, size_t len);

/* cloud_xml_is(n, name): whether ${n} is an element called ${name}. */
int cloud_xml_is(xmlNodePtr n, const char *name);

/* cloud_xml_child(n, name): the first child element ${name} of ${n}. */
xmlNodePtr cloud_xml_child(xmlNodePtr n, const char *name);

/* cloud_xml_node_text(n): the text of ${n}, malloc'd; NULL for no node. */
char *cloud_xml_node_text(xmlNodePtr n);

/* cloud_xml_copy(dst, size, n): the text of ${n} ("" if none), cut to fit. */
void cloud_xml_copy(char *dst, size_t size, xmlNodePtr n);

/**
 * cloud_xml_text(body, len, name):
 * The text of the first element called ${name} anywhere in ${body},
 * malloc'd, or NULL if there is none or the XML does not parse.
 */
char *cloud_xml_text(const char *body, size_t len, const char *name);

#endif
