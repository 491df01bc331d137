/*
 * mk_azure_sas.c: print a SAS token made by vigil's own signer
 * (lib/cloud/azure/), so that it_azure.sh can show Azurite accepting it.
 *
 *   mk_azure_sas account ACCOUNT KEY EXPIRY
 *	an account SAS: blob service, all resource types, racwdl
 *   mk_azure_sas container ACCOUNT KEY EXPIRY CONTAINER [PERMISSIONS]
 *	a service SAS for one container, racwdl or PERMISSIONS (e.g.
 *	"racwl", no delete)
 *
 * EXPIRY is ISO 8601 UTC ("2030-01-01T00:00:00Z"); KEY the base64 account
 * key.  Signed version 2020-12-06.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/azure/azure_auth.h"

int
main(int argc, char **argv)
{
	struct azure_sas sas = { .version = "2020-12-06",
		.permissions = "racwdl",
		.protocol = "https,http" };
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen;
	char *tok, path[300];

	if (argc < 5 ||
	    (strcmp(argv[1], "container") == 0 && argc != 6 && argc != 7) ||
	    azure_key_decode(argv[3], key, &keylen) != 0) {
		fprintf(stderr,
		    "usage: mk_azure_sas account|container "
		    "ACCOUNT KEY EXPIRY [CONTAINER [PERMISSIONS]]\n");
		return 2;
	}
	sas.expiry = argv[4];
	if (strcmp(argv[1], "account") == 0) {
		sas.services = "b";
		sas.resource_types = "sco";
		tok = azure_sas_account_token(argv[2], key, keylen, &sas);
	} else {
		sas.resource = "c";
		if (argc == 7)
			sas.permissions = argv[6];
		snprintf(path, sizeof(path), "/%s", argv[5]);
		tok = azure_sas_service_token(argv[2], key, keylen, "blob",
		    path, &sas);
	}
	if (tok == NULL) {
		fprintf(stderr, "mk_azure_sas: out of memory\n");
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}
