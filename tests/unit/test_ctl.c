/*
 * test_ctl.c: the control socket's server side and its folder check.
 * Clients are socketpairs handed to ctl_add(), time is passed in: requests
 * split over several reads, a request line too long, end of input ending
 * the line, what each client is polled for, a large answer written as the
 * client reads it, the request and write timeouts, the client cap pushing
 * out the oldest idle client, the caps on one answer and on all unread
 * answers, and the folder rules (private, root-made, someone else's, a
 * symbolic link).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/ctl.h"
#include "tests/unit/fakes/testutil.h"

#define T0 1000000

/* What the fake request handler saw, and what it answers. */
static int ncalls;
static char last_line[CTL_REQUEST_MAX];
static const char *answer = "{\"ok\":true}";

static void
on_request(void *cookie, struct ctl_conn *c, const char *line)
{
	(void)cookie;
	ncalls++;
	snprintf(last_line, sizeof(last_line), "%s", line);
	if (answer != NULL)
		ctl_reply(c, answer);
}

static int
reset(void **state)
{
	(void)state;
	ncalls = 0;
	last_line[0] = '\0';
	answer = "{\"ok\":true}";
	return 0;
}

/* A client: ${ret_peer} is our end, the other is handed to ${ctl}. */
static void
connect_client(struct ctl *ctl, int64_t now, int *ret_peer)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			     sv),
	    0);
	assert_int_equal(ctl_add(ctl, sv[1], now), 0);
	*ret_peer = sv[0];
}

/* One round of the loop at ${now}, without waiting. */
static size_t
round_at(struct ctl *ctl, int64_t now, struct pollfd *pfd)
{
	struct pollfd local[CTL_POLLFDS_MAX];
	size_t n;

	if (pfd == NULL)
		pfd = local;
	n = ctl_pollfds(ctl, pfd, now);
	assert_true(poll(pfd, n, 0) >= 0);
	ctl_dispatch(ctl, pfd, now, on_request, NULL);
	return n;
}

static void
send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/*
 * Read all the peer has now (NUL-terminated); return the byte count, -1 at
 * end of input with nothing read.
 */
static ssize_t
drain(int fd, char *buf, size_t size)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT);

		if (n == 0) {
			buf[got] = '\0';
			return got > 0 ? (ssize_t)got : -1;
		}
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			buf[got] = '\0';
			return (ssize_t)got;
		}
		got += (size_t)n;
		if (got == size - 1)
			return (ssize_t)got;
	}
}

/* The peer sees end of input (after any data). */
static bool
closed(int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0)
			return true;
		if (n < 0)
			return errno == ECONNRESET;
	}
}

static void
test_request_in_pieces(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	struct pollfd pfd[CTL_POLLFDS_MAX];
	char buf[256];
	int peer;

	(void)state;
	connect_client(ctl, T0, &peer);
	send_str(peer, "sta");
	assert_int_equal(round_at(ctl, T0, pfd), 1);
	assert_int_equal(pfd[0].events, POLLIN);
	assert_int_equal(ncalls, 0);
	send_str(peer, "tus\r\nignored");
	round_at(ctl, T0 + 10, NULL);
	assert_int_equal(ncalls, 1);
	assert_string_equal(last_line, "status");
	/* A short answer goes out at once, then the connection closes. */
	assert_int_equal(drain(peer, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "{\"ok\":true}\n");
	assert_true(closed(peer));
	assert_int_equal(ctl_clients(ctl), 0);
	assert_int_equal(ctl_next_deadline(ctl), INT64_MAX);
	close(peer);
	ctl_free(ctl);
}

static void
test_end_of_input_ends_line(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	char buf[256];
	int peer;

	(void)state;
	connect_client(ctl, T0, &peer);
	send_str(peer, "reload");
	assert_int_equal(shutdown(peer, SHUT_WR), 0);
	round_at(ctl, T0, NULL);
	assert_int_equal(ncalls, 1);
	assert_string_equal(last_line, "reload");
	assert_true(drain(peer, buf, sizeof(buf)) > 0);
	close(peer);

	/* Nothing at all, then end of input: closed, no request. */
	connect_client(ctl, T0, &peer);
	assert_int_equal(shutdown(peer, SHUT_WR), 0);
	round_at(ctl, T0, NULL);
	assert_int_equal(ncalls, 1);
	assert_int_equal(ctl_clients(ctl), 0);
	close(peer);
	ctl_free(ctl);
}

static void
test_request_too_long(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	char big[CTL_REQUEST_MAX + 100];
	int peer;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	connect_client(ctl, T0, &peer);
	send_str(peer, big);
	round_at(ctl, T0, NULL);
	assert_int_equal(ncalls, 0);
	assert_int_equal(ctl_clients(ctl), 0);
	assert_true(closed(peer));
	close(peer);
	ctl_free(ctl);
}

static void
test_request_timeout(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	int peer;

	(void)state;
	connect_client(ctl, T0, &peer);
	/* A trickle of bytes does not move the deadline. */
	send_str(peer, "s");
	round_at(ctl, T0 + 1000, NULL);
	assert_int_equal(ctl_next_deadline(ctl), T0 + CTL_REQUEST_TIMEOUT_MS);
	ctl_dispatch(ctl, NULL, T0 + CTL_REQUEST_TIMEOUT_MS - 1, on_request,
	    NULL);
	assert_int_equal(ctl_clients(ctl), 1);
	ctl_dispatch(ctl, NULL, T0 + CTL_REQUEST_TIMEOUT_MS, on_request, NULL);
	assert_int_equal(ctl_clients(ctl), 0);
	assert_int_equal(ncalls, 0);
	assert_true(closed(peer));
	close(peer);
	ctl_free(ctl);
}

/* An answer of ${len} bytes of 'a' (the caller frees it). */
static char *
big_answer(size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memset(s, 'a', len);
	s[len] = '\0';
	return s;
}

static void
test_large_answer_follows_reader(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	struct pollfd pfd[CTL_POLLFDS_MAX];
	size_t len = 4 * 1024 * 1024, got = 0;
	char *text = big_answer(len), *buf = malloc(len + 2);
	int64_t now = T0;
	ssize_t n;
	int peer;

	(void)state;
	assert_non_null(buf);
	answer = text;
	connect_client(ctl, now, &peer);
	send_str(peer, "status\n");
	round_at(ctl, now, NULL);
	assert_int_equal(ncalls, 1);
	/* Far more than a socket takes: the rest waits, polled for output. */
	assert_int_equal(ctl_clients(ctl), 1);
	assert_int_equal(ctl_next_deadline(ctl), now + CTL_WRITE_TIMEOUT_MS);
	assert_int_equal(ctl_pollfds(ctl, pfd, now), 1);
	assert_int_equal(pfd[0].events, POLLOUT);
	/* Each read makes room, and progress moves the deadline. */
	while ((n = drain(peer, buf + got, len + 2 - got)) >= 0) {
		got += (size_t)n;
		now += 1000;
		round_at(ctl, now, NULL);
		if (ctl_clients(ctl) == 1)
			assert_int_equal(ctl_next_deadline(ctl),
			    now + CTL_WRITE_TIMEOUT_MS);
		assert_true(now < T0 + 10000000);
	}
	assert_int_equal(got, len + 1);
	assert_memory_equal(buf, text, len);
	assert_int_equal(buf[len], '\n');
	assert_int_equal(ctl_clients(ctl), 0);
	close(peer);
	free(buf);
	free(text);
	ctl_free(ctl);
}

static void
test_write_timeout(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	char *text = big_answer(1024 * 1024);
	int peer;

	(void)state;
	answer = text;
	connect_client(ctl, T0, &peer);
	send_str(peer, "status\n");
	round_at(ctl, T0, NULL);
	assert_int_equal(ctl_clients(ctl), 1);
	/* It never reads: nothing moves, and at the deadline it is gone. */
	round_at(ctl, T0 + CTL_WRITE_TIMEOUT_MS - 1, NULL);
	assert_int_equal(ctl_clients(ctl), 1);
	round_at(ctl, T0 + CTL_WRITE_TIMEOUT_MS, NULL);
	assert_int_equal(ctl_clients(ctl), 0);
	assert_true(closed(peer));
	close(peer);
	free(text);
	ctl_free(ctl);
}

static void
test_cap_drops_oldest_idle(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	int peers[CTL_CLIENTS_MAX], peer;
	char buf[256];

	(void)state;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		connect_client(ctl, T0 + i, &peers[i]);
	assert_int_equal(ctl_clients(ctl), CTL_CLIENTS_MAX);
	/* One more: the first one, idle the longest, makes room. */
	connect_client(ctl, T0 + 100, &peer);
	assert_int_equal(ctl_clients(ctl), CTL_CLIENTS_MAX);
	assert_true(closed(peers[0]));
	assert_false(closed(peers[1]));
	send_str(peer, "status\n");
	round_at(ctl, T0 + 100, NULL);
	assert_int_equal(ncalls, 1);
	assert_true(drain(peer, buf, sizeof(buf)) > 0);
	assert_int_equal(ctl_clients(ctl), CTL_CLIENTS_MAX - 1);
	close(peer);
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		close(peers[i]);
	ctl_free(ctl);
}

static void
test_answer_caps(void **state)
{
	struct ctl *ctl = ctl_new(-1);
	size_t each = 15 * 1024 * 1024;
	char *text = big_answer(CTL_REPLY_MAX), buf[256];
	int peers[5], peer;

	(void)state;
	/* One answer over the cap becomes an error. */
	answer = text;
	connect_client(ctl, T0, &peer);
	send_str(peer, "status\n");
	round_at(ctl, T0, NULL);
	assert_true(drain(peer, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"error\""));
	close(peer);

	/*
	 * Unread answers of all clients together stay under CTL_OUTPUT_MAX:
	 * the oldest unread one goes when a new one would pass it.
	 */
	text[each] = '\0';
	for (int i = 0; i < 5; i++) {
		connect_client(ctl, T0 + i, &peers[i]);
		send_str(peers[i], "status\n");
		round_at(ctl, T0 + i, NULL);
	}
	assert_true(5 * (each + 1) > CTL_OUTPUT_MAX);
	assert_int_equal(ctl_clients(ctl), 4);
	assert_true(closed(peers[0]));
	for (int i = 0; i < 5; i++)
		close(peers[i]);
	free(text);
	ctl_free(ctl);
}

static void
test_listener_accepts(void **state)
{
	char path[100], buf[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ag_err err = { "" };
	struct ctl *ctl;
	int lfd, fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/run/sub/vigild.sock", tu_tmpdir());
	lfd = ctl_listen(path, 0660, NULL, &err);
	if (lfd < 0)
		fail_msg("ctl_listen: %s", err.msg);
	assert_non_null(ctl = ctl_new(lfd));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_str(fd, "status\n");
	/* Accepted, and its waiting request answered in the same round. */
	round_at(ctl, T0, NULL);
	assert_int_equal(ncalls, 1);
	assert_int_equal(read(fd, buf, sizeof(buf)), 12);
	close(fd);
	ctl_free(ctl);
}

static void
test_check_dir(void **state)
{
	char open_dir[256], d[300], link[300];
	struct ag_err err = { "" };

	(void)state;
	snprintf(d, sizeof(d), "%s/absent", tu_tmpdir());
	assert_int_equal(ctl_check_dir(d, &err), 1);

	/* Private and ours. */
	snprintf(d, sizeof(d), "%s/private", tu_tmpdir());
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(ctl_check_dir(d, &err), 0);

	/* In a folder anyone may write to, like /tmp. */
	snprintf(open_dir, sizeof(open_dir), "%s/open", tu_tmpdir());
	assert_int_equal(mkdir(open_dir, 0777), 0);
	assert_int_equal(chmod(open_dir, 01777), 0);
	snprintf(d, sizeof(d), "%s/vigil-1", open_dir);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(ctl_check_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "mode 0755"));
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(ctl_check_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	assert_int_equal(chmod(d, 0700), 0);
	assert_int_equal(ctl_check_dir(d, &err), 0);

	/* A symbolic link to a good folder is still refused. */
	snprintf(link, sizeof(link), "%s/link", open_dir);
	assert_int_equal(symlink(d, link), 0);
	assert_int_equal(ctl_check_dir(link, &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link"));

	/* A file is no folder. */
	snprintf(d, sizeof(d), "%s/file", open_dir);
	tu_write_file(d, "x", 1, 0600);
	assert_int_equal(ctl_check_dir(d, &err), -1);

	if (geteuid() != 0)
		return;
	/* Someone else's, private or not: refused. */
	snprintf(d, sizeof(d), "%s/vigil-1", open_dir);
	assert_int_equal(chown(d, 65534, 65534), 0);
	assert_int_equal(ctl_check_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "belongs to uid 65534, not to uid 0"));
	/* The same in a folder only root writes to (/run/vigil): fine. */
	assert_int_equal(chmod(open_dir, 0755), 0);
	assert_int_equal(chmod(d, 0750), 0);
	assert_int_equal(ctl_check_dir(d, &err), 0);
	/* ... unless others may write into it. */
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(ctl_check_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "writable by group or others"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_request_in_pieces, reset),
		cmocka_unit_test_setup(test_end_of_input_ends_line, reset),
		cmocka_unit_test_setup(test_request_too_long, reset),
		cmocka_unit_test_setup(test_request_timeout, reset),
		cmocka_unit_test_setup(test_large_answer_follows_reader,
		    reset),
		cmocka_unit_test_setup(test_write_timeout, reset),
		cmocka_unit_test_setup(test_cap_drops_oldest_idle, reset),
		cmocka_unit_test_setup(test_answer_caps, reset),
		cmocka_unit_test_setup(test_listener_accepts, reset),
		cmocka_unit_test_setup(test_check_dir, reset),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
