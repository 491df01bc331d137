/*
 * blob_internal.h: what the parts of the Azure Blob backend share, and
 * what tests/unit/test_azure_blob.c drives directly: the XML of Azure's
 * answers (blob_xml.c, the one file that includes libxml2) and the block
 * ids.  No other file may include it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AZURE_BLOB_INTERNAL_H
#define VIGIL_AZURE_BLOB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "providers/storage.h"

/* The most blocks of one blob (Azure's limit). */
#define AZBLOB_MAX_BLOCKS 50000
/* The largest block (and Put Blob) of service version 2019-12-12 on. */
#define AZBLOB_BLOCK_MAX ((size_t)4000 << 20)
/* A block id: base64 of a fixed-width decimal, the same length for all. */
#define AZBLOB_BLOCKID_LEN 24

/**
 * azblob_block_id(n, out):
 * The id of block ${n} (base64 of "vigil-block-%06u", 24 characters, no
 * '+' or '/') into ${out} (AZBLOB_BLOCKID_LEN + 1 bytes).
 */
void azblob_block_id(unsigned n, char out[AZBLOB_BLOCKID_LEN + 1]);

/**
 * azblob_xml_error(body, len, code, codelen, msg, msglen):
 * Azure's <Error><Code>..</Code><Message>..</Message></Error> answer:
 * the code into ${code}, the message's first line into ${msg} (the lines
 * after it are a request id and a time).  Return 0, or -1 if ${body} is
 * no such document (${code} and ${msg} are then empty).
 */
int azblob_xml_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen);

/**
 * azblob_xml_list(body, len, out, marker):
 * Append the blobs of one List Blobs answer (EnumerationResults) to
 * ${out}: name, Content-Length, Last-Modified.  The NextMarker, empty on
 * the last page, goes into ${marker} (reset first).  Return 0, or -1 if
 * the document is not a listing or an entry cannot be added.
 */
int azblob_xml_list(const char *body, size_t len, struct objlist *out,
    struct buf *marker);

/**
 * azblob_xml_blocklist(ids, n, out):
 * The body of Put Block List naming blocks 0 .. ${n} - 1 as "Latest",
 * appended to ${out}.  Return 0 or -1.
 */
int azblob_xml_blocklist(unsigned n, struct buf *out);

#endif
