/*
 * azure_sb.c: Service Bus connection strings and their shared access
 * signatures, as Service Bus, Event Hubs and Notification Hubs take them
 * (see azure_auth.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"

#define SB_TOKEN_MAX 4096

void
azure_sb_conn_free(struct azure_sb_conn *c)
{
	if (c == NULL)
		return;
	if (c->key != NULL)
		crypto_wipe(c->key, strlen(c->key));
	free(c->host);
	free(c->key_name);
	free(c->key);
	free(c->entity);
	memset(c, 0, sizeof(*c));
}

/* A copy of ${n} bytes of ${s}; NULL on OOM. */
static char *
dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int
azure_sb_conn_parse(const char *s, struct azure_sb_conn *ret, char *why,
    size_t whylen)
{
	const char *p = s, *host = NULL, *end;
	size_t hostlen = 0;

	memset(ret, 0, sizeof(*ret));
	while (*p != '\0') {
		size_t len = strcspn(p, ";"), klen;
		const char *eq = memchr(p, '=', len), *v;
		char **slot = NULL;

		if (len == 0) {
			p++;
			continue;
		}
		if (eq == NULL) {
			snprintf(why, whylen,
			    "a part without '=' (want Endpoint=sb://...;"
			    "SharedAccessKeyName=...;SharedAccessKey=...)");
			goto fail;
		}
		klen = (size_t)(eq - p);
		v = eq + 1;
		if (klen == 8 && strncasecmp(p, "Endpoint", 8) == 0) {
			static const char sb[] = "sb://";

			if (strncasecmp(v, sb, sizeof(sb) - 1) != 0) {
				snprintf(why, whylen,
				    "Endpoint must be sb://NAMESPACE."
				    "servicebus.windows.net/");
				goto fail;
			}
			host = v + sizeof(sb) - 1;
			end = p + len;
			hostlen = strcspn(host, "/;");
			if (host + hostlen > end)
				hostlen = (size_t)(end - host);
		} else if (klen == 19 &&
		    strncasecmp(p, "SharedAccessKeyName", 19) == 0) {
			slot = &ret->key_name;
		} else if (klen == 15 &&
		    strncasecmp(p, "SharedAccessKey", 15) == 0) {
			slot = &ret->key;
		} else if (klen == 10 &&
		    strncasecmp(p, "EntityPath", 10) == 0) {
			slot = &ret->entity;
		}
		if (slot != NULL) {
			free(*slot);
			if ((*slot = dupn(v, len - klen - 1)) == NULL) {
				snprintf(why, whylen, "out of memory");
				goto fail;
			}
		}
		p += len;
	}
	if (host == NULL || hostlen == 0) {
		snprintf(why, whylen, "no Endpoint=sb://NAMESPACE...");
		goto fail;
	}
	for (size_t i = 0; i < hostlen; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.' && host[i] != ':') {
			snprintf(why, whylen,
			    "the Endpoint's host is not a name");
			goto fail;
		}
	if ((ret->host = dupn(host, hostlen)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (ret->key_name == NULL || ret->key_name[0] == '\0') {
		snprintf(why, whylen, "no SharedAccessKeyName");
		goto fail;
	}
	if (ret->key == NULL || ret->key[0] == '\0') {
		snprintf(why, whylen, "no SharedAccessKey");
		goto fail;
	}
	return 0;
fail:
	azure_sb_conn_free(ret);
	return -1;
}

/* ${s} with A-Z made a-z, in place. */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

char *
azure_sb_sas_token(const char *uri, const char *key_name, const char *key,
    int64_t expiry)
{
	char sig[AZURE_SIG_LEN], *low = NULL, *sr = NULL, *esig = NULL;
	char *sts = NULL, *skn = NULL, *tok = NULL;
	struct buf b;

	if ((low = strdup(uri)) == NULL)
		goto out;
	lower(low);
	if ((sr = http_urlencode(low, strlen(low))) == NULL)
		goto out;
	lower(sr);
	if (asprintf(&sts, "%s\n%" PRId64, sr, expiry) < 0) {
		sts = NULL;
		goto out;
	}
	if (azure_hmac_b64((const uint8_t *)key, strlen(key), sts, sig) != 0 ||
	    (esig = http_urlencode(sig, strlen(sig))) == NULL ||
	    (skn = http_urlencode(key_name, strlen(key_name))) == NULL)
		goto out;
	buf_init(&b, SB_TOKEN_MAX);
	buf_puts(&b, "SharedAccessSignature sr=");
	buf_puts(&b, sr);
	buf_puts(&b, "&sig=");
	buf_puts(&b, esig);
	buf_puts(&b, "&se=");
	buf_puts(&b, sts + strlen(sr) + 1);
	buf_puts(&b, "&skn=");
	buf_puts(&b, skn);
	if (b.err)
		buf_free(&b);
	else
		tok = buf_take(&b);
out:
	crypto_wipe(sig, sizeof(sig));
	free(low);
	free(sr);
	free(esig);
	free(sts);
	free(skn);
	return tok;
}
