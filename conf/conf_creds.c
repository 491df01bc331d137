/*
 * conf_creds.c: named and inline cloud credentials (see conf_creds.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_creds.h"

static const char *const aws_keys[] = { "type", "region", "profile",
	"access_key_id", "secret_access_key", "secret_access_key_file",
	"secret_access_key_env", NULL };

/* Copy the optional string ${name} of ${g} into ${ret}; 0 or -1. */
static int
dup_str(struct conf_errs *e, const conf_node *g, const char *name, char **ret)
{
	const char *s = NULL;

	if (conf_get_str(e, g, name, false, &s) == -1)
		return -1;
	if (s != NULL && (*ret = strdup(s)) == NULL)
		return conf_error(e, g, "out of memory");
	return 0;
}

/* access_key_id with secret_access_key of ${g}, both or neither. */
static int
read_keys(struct conf_errs *e, const conf_node *g, struct conf_aws *a)
{
	int bad = 0;

	if (dup_str(e, g, "access_key_id", &a->access_key_id) != 0 ||
	    conf_get_secret(e, g, "secret_access_key", false,
		&a->secret_access_key) == -1)
		bad = -1;
	if ((a->access_key_id == NULL) != (a->secret_access_key == NULL))
		bad = conf_error(e, g,
		    "access_key_id and secret_access_key go together (or "
		    "neither, to take them from the credential chain)");
	return bad;
}

int
conf_aws_read(struct conf_errs *e, const conf_node *group,
    struct conf_aws *ret)
{
	const conf_node *root = group, *sec, *g;
	const char *name = NULL, *type = NULL;
	int bad = 0;

	memset(ret, 0, sizeof(*ret));
	if (conf_get_str(e, group, "credentials", false, &name) == -1)
		return -1;
	if (name == NULL)
		return read_keys(e, group, ret);
	if (conf_member(group, "access_key_id") != NULL ||
	    conf_member(group, "secret_access_key") != NULL)
		return conf_error_at(e, group, "credentials",
		    "give either credentials or access_key_id and "
		    "secret_access_key, not both");
	while (conf_parent(root) != NULL)
		root = conf_parent(root);
	sec = conf_member(root, "credentials");
	if ((g = conf_member(sec, name)) == NULL || !conf_is_group(g))
		return conf_error_at(e, group, "credentials",
		    "\"%s\" is not defined in the credentials section", name);
	if ((ret->name = strdup(name)) == NULL)
		return conf_error(e, group, "out of memory");
	if (conf_check_keys(e, g, aws_keys) > 0)
		bad = -1;
	if (conf_get_str(e, g, "type", true, &type) != 1)
		bad = -1;
	else if (strcmp(type, "aws") != 0)
		return conf_error_at(e, group, "credentials",
		    "\"%s\" is of type \"%s\"; this needs \"aws\"", name,
		    type);
	if (dup_str(e, g, "region", &ret->region) != 0 ||
	    dup_str(e, g, "profile", &ret->profile) != 0 ||
	    read_keys(e, g, ret) != 0)
		bad = -1;
	return bad;
}

void
conf_aws_free(struct conf_aws *a)
{
	free(a->access_key_id);
	conf_secret_free(a->secret_access_key);
	free(a->profile);
	free(a->region);
	free(a->name);
	memset(a, 0, sizeof(*a));
}
