/*
 * blob_xml.c: the XML that Azure Blob storage speaks (see
 * blob_internal.h), parsed by lib/cloud/cloud_xml.c (libxml2, no network,
 * no entities).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/cloud/cloud_xml.h"
#include "lib/crypto/crypto.h"
#include "providers/azure/blob_internal.h"

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
	xmlDocPtr doc = cloud_xml_parse(body, len);
	xmlNodePtr root;

	code[0] = msg[0] = '\0';
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "Error") != 0) {
		xmlFreeDoc(doc);
		return -1;
	}
	cloud_xml_copy(code, codelen, cloud_xml_child(root, "Code"));
	cloud_xml_copy(msg, msglen, cloud_xml_child(root, "Message"));
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
	xmlDocPtr doc = cloud_xml_parse(body, len);
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
	for (b = cloud_xml_child(root, "Blobs") != NULL ?
		 cloud_xml_child(root, "Blobs")->children :
		 NULL;
	     b != NULL; b = b->next) {
		if (b->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)b->name, "Blob") != 0)
			continue; /* BlobPrefix: none without delimiter */
		props = cloud_xml_child(b, "Properties");
		if ((name = xmlNodeGetContent(cloud_xml_child(b, "Name"))) ==
		    NULL)
			goto out;
		cloud_xml_copy(num, sizeof(num),
		    cloud_xml_child(props, "Content-Length"));
		cloud_xml_copy(when, sizeof(when),
		    cloud_xml_child(props, "Last-Modified"));
		size = strtoull(num, &end, 10);
		if (num[0] == '\0' || *end != '\0' ||
		    objlist_add(out, (const char *)name, size, http_time(when),
			NULL) != 0) {
			xmlFree(name);
			goto out;
		}
		xmlFree(name);
	}
	if ((name = xmlNodeGetContent(cloud_xml_child(root, "NextMarker"))) !=
	    NULL) {
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
