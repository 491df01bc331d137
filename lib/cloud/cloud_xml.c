/*
 * cloud_xml.c: see cloud_xml.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "lib/cloud/cloud_xml.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2's one-time set-up, before threads use it. */
static void
xml_init(void)
{

	xmlInitParser();
}

xmlDocPtr
cloud_xml_parse(const char *body, size_t len)
{

	(void)pthread_once(&xml_once, xml_init);
	if (body == NULL || len == 0 || len > INT32_MAX)
		return (NULL);
	return (xmlReadMemory(body, (int)len, "cloud.xml", NULL, XML_OPTS));
}

int
cloud_xml_is(xmlNodePtr n, const char *name)
{

	return (n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0);
}

xmlNodePtr
cloud_xml_child(xmlNodePtr n, const char *name)
{

	for (xmlNodePtr c = n != NULL ? n->children : NULL; c != NULL;
	     c = c->next)
		if (cloud_xml_is(c, name))
			return (c);
	return (NULL);
}

char *
cloud_xml_node_text(xmlNodePtr n)
{
	xmlChar *t;
	char *r;

	if (n == NULL)
		return (NULL);
	if ((t = xmlNodeGetContent(n)) == NULL)
		return (strdup(""));
	r = strdup((const char *)t);
	xmlFree(t);
	return (r);
}

void
cloud_xml_copy(char *dst, size_t size, xmlNodePtr n)
{
	char *t = cloud_xml_node_text(n);

	snprintf(dst, size, "%s", t != NULL ? t : "");
	free(t);
}

/* find(n, name): the first element called ${name} at or below ${n}. */
static xmlNodePtr
find(xmlNodePtr n, const char *name)
{
	xmlNodePtr r;

	for (; n != NULL; n = n->next) {
		if (cloud_xml_is(n, name))
			return (n);
		if ((r = find(n->children, name)) != NULL)
			return (r);
	}
	return (NULL);
}

char *
cloud_xml_text(const char *body, size_t len, const char *name)
{
	xmlDocPtr d = cloud_xml_parse(body, len);
	char *r;

	if (d == NULL)
		return (NULL);
	r = cloud_xml_node_text(find(xmlDocGetRootElement(d), name));
	xmlFreeDoc(d);
	return (r);
}
