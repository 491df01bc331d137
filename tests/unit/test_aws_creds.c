/*
 * test_aws_creds.c: lib/cloud/aws/aws_creds.c, one test per link of the
 * chain, each proving which link won (the "source" it reports):
 *
 *  - config beats the environment, which beats the shared files;
 *  - the shared credentials file's profile (AWS_PROFILE, or the one the
 *    caller names), then the config file's "[profile NAME]"; a file that
 *    group or others may read is refused with the chmod to run;
 *  - web identity: the token file and role exchanged at a fake STS
 *    (AssumeRoleWithWebIdentity, form-encoded, unsigned), the temporary
 *    credentials cached until five minutes before they expire, then
 *    fetched again; STS's error answered with its code;
 *  - the container endpoint: the relative URI below the configured
 *    endpoint, its Authorization token sent; credentials a server refused
 *    as expired (aws_creds_refused()) fetched again, though they said
 *    they were valid for years, while refused keys of the configuration
 *    are not worth a retry;
 *  - nothing anywhere: one message naming what was tried.
 * IMDSv2 (three requests) is tested against a fake IMDS in it_s3.sh.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cloud/aws/aws_creds.h"
#include "fakes/fake_httpd.h"

static char dir[] = "/tmp/vigil-test_aws_creds.XXXXXX";
static char noimds[64];

static const char *const vars[] = { "AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL_STS",
	"AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL };

/* clean(state): no AWS variable set, HOME in the temporary folder. */
static int
clean(void **state)
{
	char home[256];

	(void)state;
	for (size_t i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	snprintf(home, sizeof(home), "%s/home", dir);
	setenv("HOME", home, 1);
	/* Never the real 169.254.169.254. */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", noimds, 1);
	return (0);
}

/* put(rel, mode, text): write ${dir}/${rel} with ${mode}. */
static void
put(const char *rel, mode_t mode, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* get(conf, ret, err): aws_creds_get() of a new provider; its rc. */
static int
get(const struct aws_creds_conf *conf, struct aws_cred *ret,
    struct ag_err *err)
{
	struct aws_creds *p = aws_creds_new(conf);
	int rc;

	assert_non_null(p);
	rc = aws_creds_get(p, time(NULL), ret, err);
	aws_creds_free(p);
	return (rc);
}

static void
test_config_env(void **state)
{
	struct aws_creds_conf conf = { .access_key_id = "AKCONF",
		.secret_access_key = "conf-secret" };
	struct aws_cred c;
	struct ag_err err;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	setenv("AWS_SESSION_TOKEN", "env-token", 1);
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.source, "config");
	assert_string_equal(c.access_key_id, "AKCONF");
	assert_null(c.session_token);
	aws_cred_clear(&c);
	conf = (struct aws_creds_conf){ 0 };
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.source, "environment");
	assert_string_equal(c.secret_access_key, "env-secret");
	assert_string_equal(c.session_token, "env-token");
	assert_int_equal(c.expires, 0);
	aws_cred_clear(&c);
}

static void
test_shared_files(void **state)
{
	struct aws_creds_conf conf = { 0 };
	struct aws_cred c;
	struct ag_err err;

	(void)state;
	put("home/.aws/credentials", 0600,
	    "[default]\naws_access_key_id = AKDEF\n"
	    "aws_secret_access_key = def-secret\n\n"
	    "# a comment\n[work]\r\naws_access_key_id=AKWORK\r\n"
	    "aws_secret_access_key= work-secret\r\n"
	    "aws_session_token = work-token\r\n");
	put("home/.aws/config", 0600,
	    "[default]\nregion = eu-west-1\n"
	    "[profile cfg]\naws_access_key_id = AKCFG\n"
	    "aws_secret_access_key = cfg-secret\n");
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.source, "shared files");
	assert_string_equal(c.access_key_id, "AKDEF");
	aws_cred_clear(&c);
	setenv("AWS_PROFILE", "work", 1);
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKWORK");
	assert_string_equal(c.secret_access_key, "work-secret");
	assert_string_equal(c.session_token, "work-token");
	aws_cred_clear(&c);
	/* The caller's profile beats AWS_PROFILE; the config file's
	   "[profile cfg]" section is read. */
	conf.profile = "cfg";
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKCFG");
	aws_cred_clear(&c);
	/* An unknown profile: nothing else configured, so nothing. */
	conf.profile = "nope";
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_int_equal(get(&conf, &c, &err), -1);
	assert_non_null(strstr(err.msg, "no AWS credentials"));
	assert_non_null(strstr(err.msg, "profile \"nope\""));
	/* A credentials file others may read is refused. */
	put("home/.aws/credentials", 0644, "[default]\n");
	conf.profile = NULL;
	assert_int_equal(get(&conf, &c, &err), -1);
	assert_non_null(strstr(err.msg,
	    "group or others may read it "
	    "(mode 644): chmod 600 it"));
	put("home/.aws/credentials", 0600, "");
}

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/"
    "doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
    "<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>"
    "<Credentials><SessionToken>sts-token</SessionToken>"
    "<SecretAccessKey>sts-secret</SecretAccessKey>"
    "<Expiration>2030-01-01T01:00:00Z</Expiration>"
    "<AccessKeyId>ASIASTS</AccessKeyId></Credentials>"
    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";

static void
test_web_identity(void **state)
{
	struct fake_httpd h;
	struct aws_creds_conf conf = { 0 };
	struct aws_creds *p;
	struct aws_cred c;
	struct ag_err err;
	char ep[64], tf[256];
	time_t exp = 1893459600; /* 2030-01-01T01:00:00Z */

	(void)state;
	assert_int_equal(fake_httpd_start(&h), 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", h.port);
	snprintf(tf, sizeof(tf), "%s/token", dir);
	put("token", 0600, "eyJ.web+token/=\n");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tf, 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/backup", 1);
	conf.sts_endpoint = ep;
	h.body = sts_ok;
	assert_non_null(p = aws_creds_new(&conf));
	assert_int_equal(aws_creds_get(p, exp - 3600, &c, &err), 0);
	assert_string_equal(c.source, "web identity");
	assert_string_equal(c.access_key_id, "ASIASTS");
	assert_string_equal(c.secret_access_key, "sts-secret");
	assert_string_equal(c.session_token, "sts-token");
	assert_int_equal(c.expires, exp);
	aws_cred_clear(&c);
	assert_string_equal(h.method, "POST");
	assert_string_equal(h.req_body,
	    "Action=AssumeRoleWithWebIdentity&"
	    "Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3A"
	    "role%2Fbackup&RoleSessionName=vigil&WebIdentityToken=eyJ.web%2B"
	    "token%2F%3D");
	assert_null(fake_httpd_req_header(&h, "Authorization"));
	/* Cached while more than 5 minutes are left ... */
	assert_int_equal(aws_creds_get(p, exp - 301, &c, &err), 0);
	aws_cred_clear(&c);
	assert_int_equal(h.nreq, 1);
	/* ... fetched again after. */
	assert_int_equal(aws_creds_get(p, exp - 300, &c, &err), 0);
	aws_cred_clear(&c);
	assert_int_equal(h.nreq, 2);
	/* A refusal past expiry is an error with STS's code. */
	h.status = 403;
	h.body = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>"
		 "Not authorized to perform sts:AssumeRoleWithWebIdentity"
		 "</Message></Error></ErrorResponse>";
	assert_int_equal(aws_creds_get(p, exp + 1, &c, &err), -1);
	assert_string_equal(err.msg,
	    "aws web identity: STS answered 403 "
	    "AccessDenied: Not authorized to perform "
	    "sts:AssumeRoleWithWebIdentity");
	/* A 503 is for later; the cached ones, still valid, are kept. */
	h.status = 503;
	assert_int_equal(aws_creds_get(p, exp - 100, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIASTS");
	aws_cred_clear(&c);
	aws_creds_free(p);
	/* No endpoint set: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL. */
	conf.sts_endpoint = NULL;
	h.status = 200;
	h.body = sts_ok;
	setenv("AWS_ENDPOINT_URL", ep, 1);
	setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1", 1);
	assert_non_null(p = aws_creds_new(&conf));
	assert_int_not_equal(aws_creds_get(p, exp - 3600, &c, &err), 0);
	aws_creds_free(p);
	unsetenv("AWS_ENDPOINT_URL_STS");
	assert_non_null(p = aws_creds_new(&conf));
	assert_int_equal(aws_creds_get(p, exp - 3600, &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIASTS");
	aws_cred_clear(&c);
	aws_creds_free(p);
	unsetenv("AWS_ENDPOINT_URL");
	fake_httpd_stop(&h);
}

static void
test_container(void **state)
{
	struct fake_httpd h;
	struct aws_creds_conf conf = { 0 };
	struct aws_cred c;
	struct ag_err err;
	char ep[64];

	(void)state;
	assert_int_equal(fake_httpd_start(&h), 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", h.port);
	conf.container_endpoint = ep;
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x",
	    1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ctok", 1);
	h.body = "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"ecs-s\","
		 "\"Token\":\"ecs-t\",\"Expiration\":\"2030-01-01T00:00:00Z\","
		 "\"RoleArn\":\"arn:aws:iam::1:role/x\"}";
	assert_int_equal(get(&conf, &c, &err), 0);
	assert_string_equal(c.source, "container");
	assert_string_equal(c.access_key_id, "ASIAECS");
	assert_string_equal(c.session_token, "ecs-t");
	assert_int_equal(c.expires, 1893456000);
	aws_cred_clear(&c);
	assert_string_equal(h.path, "/v2/credentials/x");
	assert_string_equal(fake_httpd_req_header(&h, "Authorization"),
	    "Bearer ctok");
	fake_httpd_stop(&h);
}

static void
test_refused(void **state)
{
	struct fake_httpd h;
	struct aws_creds_conf conf = { .access_key_id = "AKCONF",
		.secret_access_key = "conf-secret" };
	struct aws_creds *p;
	struct aws_cred c;
	struct ag_err err;
	char ep[64];

	(void)state;
	/* Long-term keys: new ones would be the same. */
	assert_non_null(p = aws_creds_new(&conf));
	assert_int_equal(aws_creds_get(p, time(NULL), &c, &err), 0);
	aws_cred_clear(&c);
	assert_false(aws_creds_refused(p));
	aws_creds_free(p);

	assert_int_equal(fake_httpd_start(&h), 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", h.port);
	conf = (struct aws_creds_conf){ .container_endpoint = ep };
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x",
	    1);
	h.body = "{\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"s1\","
		 "\"Token\":\"t1\",\"Expiration\":\"2030-01-01T00:00:00Z\"}";
	assert_non_null(p = aws_creds_new(&conf));
	assert_int_equal(aws_creds_get(p, time(NULL), &c, &err), 0);
	assert_string_equal(c.session_token, "t1");
	aws_cred_clear(&c);
	/* Cached: no second request. */
	assert_int_equal(aws_creds_get(p, time(NULL), &c, &err), 0);
	aws_cred_clear(&c);
	assert_int_equal(h.nreq, 1);
	h.body = "{\"AccessKeyId\":\"ASIA2\",\"SecretAccessKey\":\"s2\","
		 "\"Token\":\"t2\",\"Expiration\":\"2030-01-01T00:00:00Z\"}";
	assert_true(aws_creds_refused(p));
	assert_int_equal(aws_creds_get(p, time(NULL), &c, &err), 0);
	assert_string_equal(c.access_key_id, "ASIA2");
	assert_string_equal(c.session_token, "t2");
	aws_cred_clear(&c);
	assert_int_equal(h.nreq, 2);
	/* Fetched once: cached again. */
	assert_int_equal(aws_creds_get(p, time(NULL), &c, &err), 0);
	aws_cred_clear(&c);
	assert_int_equal(h.nreq, 2);
	aws_creds_free(p);
	fake_httpd_stop(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_config_env, clean),
		cmocka_unit_test_setup(test_shared_files, clean),
		cmocka_unit_test_setup(test_web_identity, clean),
		cmocka_unit_test_setup(test_container, clean),
		cmocka_unit_test_setup(test_refused, clean),
	};
	char path[512];
	int rc;

	if (mkdtemp(dir) == NULL)
		return (1);
	snprintf(path, sizeof(path), "%s/home", dir);
	if (mkdir(path, 0700) != 0)
		return (1);
	snprintf(path, sizeof(path), "%s/home/.aws", dir);
	if (mkdir(path, 0700) != 0)
		return (1);
	snprintf(noimds, sizeof(noimds), "http://127.0.0.1:%d",
	    fake_httpd_free_port());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = 1;
	return (rc);
}
