#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""smtp_server.py: a small SMTP receiver for the email notifier's tests.

Python 3.12 dropped smtpd and aiosmtpd is not installed: this is asyncio and
the standard library only.  It speaks enough of RFC 5321 for libcurl:
EHLO/HELO, STARTTLS (RFC 3207, with --cert/--key), AUTH PLAIN and AUTH
LOGIN (RFC 4954, with or without an initial response), MAIL, RCPT, DATA
(dot-unstuffed), RSET, NOOP, QUIT.  Unless --no-starttls, STARTTLS is
offered and required: AUTH, MAIL, RCPT and DATA before it are answered 530.
With --implicit-tls the connection is TLS from the start (smtps, port 465).
With --user/--password, AUTH is required before MAIL (530), and a wrong
password is 535.

Each accepted message is appended to --log as one JSON line: {"from",
"rcpt", "data", "tls", "user"}.  Every command line is appended to
--trace (with AUTH arguments as given: the test checks they were sent
inside TLS only).  --mode-file FILE is read at each DATA end and at each
connection: "451" answers 451 to the data, "550" answers 550, "close"
closes connections as soon as they open, "rcpt550" refuses recipients,
anything else (or no file) accepts.  The port goes to --port-file once
listening.
"""
import argparse
import asyncio
import base64
import json
import os
import ssl
import sys


def mode(args):
    try:
        with open(args.mode_file) as f:
            return f.read().strip()
    except (OSError, TypeError):
        return ""


class Session:
    def __init__(self, args, ctx, reader, writer):
        self.args, self.ctx = args, ctx
        self.r, self.w = reader, writer
        self.tls = bool(args.implicit_tls)
        self.user = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpt = []

    def trace(self, line):
        if self.args.trace:
            with open(self.args.trace, "a") as f:
                f.write(("TLS " if self.tls else "CLEAR ") + line + "\n")

    async def send(self, line):
        self.w.write((line + "\r\n").encode())
        await self.w.drain()

    async def readline(self):
        line = await self.r.readline()
        if not line:
            raise ConnectionError("closed")
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def need_tls(self):
        return not self.args.no_starttls and not self.tls

    async def auth(self, arg):
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            resp = parts[1] if len(parts) > 1 else None
            if resp is None:
                await self.send("334 ")
                resp = await self.readline()
                self.trace(resp)
            try:
                _, user, pw = base64.b64decode(resp).decode().split("\0")
            except Exception:
                return await self.send("501 5.5.2 bad PLAIN response")
        elif mech == "LOGIN":
            if len(parts) > 1:
                user = parts[1]
            else:
                await self.send("334 VXNlcm5hbWU6")
                user = await self.readline()
                self.trace(user)
            await self.send("334 UGFzc3dvcmQ6")
            pw = await self.readline()
            self.trace(pw)
            try:
                user = base64.b64decode(user).decode()
                pw = base64.b64decode(pw).decode()
            except Exception:
                return await self.send("501 5.5.2 bad LOGIN response")
        else:
            return await self.send("504 5.5.4 mechanism not supported")
        if user == self.args.user and pw == self.args.password:
            self.user = user
            return await self.send("235 2.7.0 authentication succeeded")
        await self.send("535 5.7.8 authentication credentials invalid")

    async def data(self):
        await self.send("354 end data with <CR><LF>.<CR><LF>")
        lines = []
        while True:
            raw = await self.r.readline()
            if not raw:
                raise ConnectionError("closed in DATA")
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            lines.append(raw)
        m = mode(self.args)
        if m == "451":
            return await self.send("451 4.3.0 try again later")
        if m == "550":
            return await self.send("550 5.7.1 message refused")
        rec = {"from": self.mail_from, "rcpt": self.rcpt,
               "data": b"".join(lines).decode("utf-8", "replace"),
               "tls": self.tls, "user": self.user}
        with open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        await self.send("250 2.0.0 queued as %d" % os.getpid())

    async def run(self):
        if mode(self.args) == "close":
            self.w.close()
            return
        await self.send("220 fake.test ESMTP vigil-test")
        while True:
            line = await self.readline()
            self.trace(line)
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self.reset()
                ext = ["fake.test", "8BITMIME", "PIPELINING"]
                if self.need_tls():
                    ext.append("STARTTLS")
                elif self.args.user:
                    ext.append("AUTH PLAIN LOGIN")
                if verb == "HELO":
                    await self.send("250 fake.test")
                    continue
                for e in ext[:-1]:
                    await self.send("250-" + e)
                await self.send("250 " + ext[-1])
            elif verb == "STARTTLS":
                if self.args.no_starttls or self.tls:
                    await self.send("502 5.5.1 not available")
                    continue
                await self.send("220 2.0.0 ready to start TLS")
                await self.w.start_tls(self.ctx)
                self.tls = True
                self.reset()
            elif self.need_tls() and verb in ("AUTH", "MAIL", "RCPT",
                                              "DATA"):
                await self.send("530 5.7.0 must issue STARTTLS first")
            elif verb == "AUTH":
                await self.auth(arg)
            elif verb == "MAIL":
                if self.args.user and self.user is None:
                    await self.send("530 5.7.0 authentication required")
                    continue
                self.mail_from = arg.split(":", 1)[-1].strip().strip("<>")
                self.mail_from = self.mail_from.split(">")[0]
                await self.send("250 2.1.0 ok")
            elif verb == "RCPT":
                if self.mail_from is None:
                    await self.send("503 5.5.1 MAIL first")
                elif mode(self.args) == "rcpt550":
                    await self.send("550 5.1.1 no such user")
                else:
                    self.rcpt.append(arg.split(":", 1)[-1].strip()
                                     .strip("<>"))
                    await self.send("250 2.1.5 ok")
            elif verb == "DATA":
                if not self.rcpt:
                    await self.send("503 5.5.1 RCPT first")
                    continue
                await self.data()
                self.reset()
            elif verb == "RSET":
                self.reset()
                await self.send("250 2.0.0 ok")
            elif verb == "NOOP":
                await self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                await self.send("221 2.0.0 bye")
                self.w.close()
                return
            else:
                await self.send("500 5.5.2 unknown command")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--trace")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--mode-file")
    args = ap.parse_args()
    ctx = None
    if not args.no_starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    async def handle(reader, writer):
        try:
            await Session(args, ctx, reader, writer).run()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(
        handle, "127.0.0.1", args.port,
        ssl=ctx if args.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
