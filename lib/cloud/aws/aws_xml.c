/*
 * aws_xml.c: see aws_xml.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "lib/civil.h"
#include "lib/cloud/aws/aws_xml.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

xmlDocPtr
aws_xml_parse(const char *body, size_t len)
{

	if (body == NULL || len == 0 || len > INT32_MAX)
		return (NULL);
	return (xmlReadMemory(body, (int)len, "aws.xml", NULL, XML_OPTS));
}

int
aws_xml_is(xmlNodePtr n, const char *name)
{

	return (n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0);
}

xmlNodePtr
aws_xml_child(xmlNodePtr n, const char *name)
{

	for (xmlNodePtr c = n != NULL ? n->children : NULL; c != NULL;
	     c = c->next)
		if (aws_xml_is(c, name))
			return (c);
	return (NULL);
}

char *
aws_xml_node_text(xmlNodePtr n)
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

/* find(n, name): the first element called ${name} at or below ${n}. */
static xmlNodePtr
find(xmlNodePtr n, const char *name)
{
	xmlNodePtr r;

	for (; n != NULL; n = n->next) {
		if (aws_xml_is(n, name))
			return (n);
		if ((r = find(n->children, name)) != NULL)
			return (r);
	}
	return (NULL);
}

char *
aws_xml_text(const char *body, size_t len, const char *name)
{
	xmlDocPtr d = aws_xml_parse(body, len);
	char *r;

	if (d == NULL)
		return (NULL);
	r = aws_xml_node_text(find(xmlDocGetRootElement(d), name));
	xmlFreeDoc(d);
	return (r);
}

int
aws_parse_time(const char *s, time_t *ret)
{
	int y, mo, d, h, mi, sec, n = 0;

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		&n) != 6 ||
	    n != 19)
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > civil_days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return (-1);
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (strcmp(s, "Z") != 0 && strcmp(s, "+00:00") != 0)
		return (-1);
	*ret = (time_t)(civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec);
	return (0);
}
