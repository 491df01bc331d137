#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# ctl_clients.py: hostile clients of vigild's control socket, for it_ctl.sh.
#
#   ctl_clients.py SOCKET N MODE READY_FILE DONE_FILE HOLD_SECONDS
#
# opens N connections to SOCKET and, by MODE:
#   silent   connect and send nothing (half-open requests);
#   noread   send "status\n" and never read the answer;
# then writes READY_FILE and holds the connections for up to HOLD_SECONDS.
# It writes to DONE_FILE how many of them the daemon closed by then (a
# closed connection reads end-of-file, or a reset, after any data) and the
# seconds that took, so the test can check the idle timeouts.
import select
import socket
import sys
import time

path, n, mode, ready, done, hold = sys.argv[1:7]
n, hold = int(n), float(hold)
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A small receive buffer, so a large answer cannot be taken in whole.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    if mode == "noread":
        s.sendall(b"status\n")
    socks.append(s)
open(ready, "w").close()

t0 = time.monotonic()
closed = set()
last = None
while time.monotonic() - t0 < hold and len(closed) < n:
    if mode == "noread":
        # Poll for POLLHUP: reading is what these clients never do.
        p = select.poll()
        for s in socks:
            if s not in closed:
                p.register(s, select.POLLIN)
        for fd, ev in p.poll(0):
            if ev & (select.POLLHUP | select.POLLERR):
                closed.update(s for s in socks if s.fileno() == fd)
                last = time.monotonic() - t0
        time.sleep(0.2)
        continue
    r, _, _ = select.select([s for s in socks if s not in closed], [], [],
                            0.2)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            closed.add(s)
            last = time.monotonic() - t0
with open(done, "w") as f:
    f.write("%d %s\n" % (len(closed), "%.1f" % last if last else "-"))
