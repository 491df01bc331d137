/*
 * blob_xml.c: the XML that Azure Blob storage speaks (see
 * blob_internal.h).  The one file of the backend that includes libxml2.
 * Documents are parsed without network access, entity expansion or DTD
 * loading.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/crypto/crypto.h"
#include "providers/azure/blob_internal.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2's one-time set-up, before threads use it. */
static void
xml_init(void)
{
	xmlInitParser();
}

/* Parse ${len} bytes of ${body}; NULL if they are not XML. */
static xmlDocPtr
parse(const char *body, size_t len)
{
	(void)pthread_once(&xml_once, xml_init);
	if (body == NULL || len == 0 || len > INT32_MAX)
		return NULL;
	return xmlReadMemory(body, (int)len, "azure.xml", NULL, XML_OPTS);
}

/* The first element child of ${n} called ${name}, or NULL. */
static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
	xmlNodePtr c;

	for (c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The text of ${n} into ${out} (${len} bytes), cut to fit; "" if none. */
static void
text(xmlNodePtr n, char *out, size_t len)
{
	xmlChar *s = n != NULL ? xmlNodeGetContent(n) : NULL;

	snprintf(out, len, "%s", s != NULL ? (const char *)s : "");
	xmlFree(s);
}

void
azblob_block_id(unsigned n, char out[AZBLOB_BLOCKID_LEN + 1])
{
	char raw[32];

	/* 18 bytes (n < AZBLOB_MAX_BLOCKS): base64 without padding. */
	snprintf(raw, sizeof(raw), "vigil-block-%06u", n % 1000000u);
	(void)crypto_base64((const uint8_t *)raw, 18, out,
	    AZBLOB_BLOCKID_LEN + 1);
}

int
azblob_xml_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root;

	code[0] = msg[0] = '\0';
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "Error") != 0) {
		xmlFreeDoc(doc);
		return -1;
	}
	text(child(root, "Code"), code, codelen);
	text(child(root, "Message"), msg, msglen);
	msg[strcspn(msg, "\r\n")] = '\0';
	xmlFreeDoc(doc);
	return code[0] != '\0' ? 0 : -1;
}

/* "Thu, 09 May 2019 00:57:54 GMT" as a time_t; 0 if it is not one. */
static time_t
http_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

int
azblob_xml_list(const char *body, size_t len, struct objlist *out,
    struct buf *marker)
{
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root, b, props;
	xmlChar *name;
	char num[32], when[64], *end;
	unsigned long long size;
	int rc = -1;

	buf_reset(marker);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL ||
	    strcmp((const char *)root->name, "EnumerationResults") != 0)
		goto out;
	for (b = child(root, "Blobs") != NULL ?
		 child(root, "Blobs")->children :
		 NULL;
	     b != NULL; b = b->next) {
		if (b->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)b->name, "Blob") != 0)
			continue; /* BlobPrefix: none without delimiter */
		props = child(b, "Properties");
		if ((name = xmlNodeGetContent(child(b, "Name"))) == NULL)
			goto out;
		text(child(props, "Content-Length"), num, sizeof(num));
		text(child(props, "Last-Modified"), when, sizeof(when));
		size = strtoull(num, &end, 10);
		if (num[0] == '\0' || *end != '\0' ||
		    objlist_add(out, (const char *)name, size, http_time(when),
			NULL) != 0) {
			xmlFree(name);
			goto out;
		}
		xmlFree(name);
	}
	if ((name = xmlNodeGetContent(child(root, "NextMarker"))) != NULL) {
		buf_puts(marker, (const char *)name);
		xmlFree(name);
	}
	rc = marker->err ? -1 : 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

int
azblob_xml_blocklist(unsigned n, struct buf *out)
{
	char id[AZBLOB_BLOCKID_LEN + 1];
	unsigned i;

	buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (i = 0; i < n; i++) {
		azblob_block_id(i, id);
		buf_puts(out, "<Latest>");
		buf_puts(out, id);
		buf_puts(out, "</Latest>");
	}
	buf_puts(out, "</BlockList>");
	return out->err ? -1 : 0;
}
