#!/usr/bin/env python3
"""smtp_sink.py - a small SMTP server for airlock's tests (stdlib only).

Speaks EHLO/HELO, AUTH PLAIN/LOGIN (when --auth is given), MAIL, RCPT, DATA,
RSET, NOOP, QUIT on 127.0.0.1. Every accepted message is written to
MAILDIR/new/PID-N.eml (through MAILDIR/tmp, then renamed, so a reader never
sees half a file), with its envelope in MAILDIR/new/PID-N.json.

  --port-file F      bind a free port and write its number to F
  --delay-data S     after storing a message, wait S seconds before the 250
                     (so a test can kill the client while it waits)
  --fail-rcpt CODE   answer RCPT with CODE (e.g. 550 or 451)
  --fail-data CODE   answer the end of DATA with CODE and store nothing
  --auth USER:PASS   offer AUTH and require it before MAIL
"""
import argparse
import base64
import itertools
import json
import os
import signal
import socketserver
import sys
import threading
import time

COUNTER = itertools.count(1)
LOCK = threading.Lock()
MAX_LINE = 4096
MAX_MESSAGE = 10 << 20


class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def line(self):
        raw = self.rfile.readline(MAX_LINE)
        if not raw:
            raise EOFError
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self):
        opts = self.server.opts
        self.mail_from, self.rcpts, self.user = None, [], None
        self.reply("220 airlock-test-sink ESMTP")
        try:
            while True:
                cmd = self.line()
                verb = cmd.split(" ", 1)[0].upper()
                arg = cmd[len(verb):].strip()
                if verb in ("EHLO", "HELO"):
                    if verb == "EHLO":
                        self.reply("250-airlock-test-sink")
                        if opts.auth:
                            self.reply("250-AUTH PLAIN LOGIN")
                        self.reply("250 8BITMIME")
                    else:
                        self.reply("250 airlock-test-sink")
                elif verb == "AUTH":
                    self.auth(arg)
                elif verb == "MAIL":
                    if opts.auth and not self.user:
                        self.reply("530 authentication required")
                        continue
                    self.mail_from, self.rcpts = arg, []
                    self.reply("250 ok")
                elif verb == "RCPT":
                    if opts.fail_rcpt:
                        self.reply("%d recipient refused" % opts.fail_rcpt)
                        continue
                    self.rcpts.append(arg)
                    self.reply("250 ok")
                elif verb == "DATA":
                    if not self.rcpts:
                        self.reply("503 no recipients")
                        continue
                    self.reply("354 end with <CRLF>.<CRLF>")
                    self.data()
                elif verb == "RSET":
                    self.mail_from, self.rcpts = None, []
                    self.reply("250 ok")
                elif verb == "NOOP":
                    self.reply("250 ok")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 command not implemented")
        except (EOFError, ConnectionError, OSError):
            return

    def auth(self, arg):
        want_user, _, want_pass = self.server.opts.auth.partition(":")
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            blob = parts[1] if len(parts) > 1 else None
            if blob is None:
                self.reply("334 ")
                blob = self.line()
            fields = base64.b64decode(blob).split(b"\0")
            user, pw = fields[-2].decode(), fields[-1].decode()
        elif mech == "LOGIN":
            self.reply("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.line()).decode()
            self.reply("334 " + base64.b64encode(b"Password:").decode())
            pw = base64.b64decode(self.line()).decode()
        else:
            self.reply("504 unknown mechanism")
            return
        if (user, pw) == (want_user, want_pass):
            self.user = user
            self.reply("235 authenticated")
        else:
            self.reply("535 authentication failed")

    def data(self):
        opts = self.server.opts
        lines, size = [], 0
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                raise EOFError
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]  # dot-stuffing
            size += len(raw)
            if size > MAX_MESSAGE:
                self.reply("552 message too large")
                return
            lines.append(raw)
        if opts.fail_data:
            self.reply("%d message refused" % opts.fail_data)
            return
        with LOCK:
            n = "%d-%d" % (os.getpid(), next(COUNTER))  # unique across restarts
        tmp = os.path.join(opts.maildir, "tmp", "%s.eml" % n)
        with open(tmp, "wb") as f:
            f.write(b"".join(lines))
        with open(os.path.join(opts.maildir, "new", "%s.json" % n), "w") as f:
            json.dump({"mail_from": self.mail_from, "rcpt": self.rcpts, "auth": self.user}, f)
        os.rename(tmp, os.path.join(opts.maildir, "new", "%s.eml" % n))
        if opts.delay_data:
            time.sleep(opts.delay_data)
        self.reply("250 ok: queued as %s" % n)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--delay-data", type=float, default=0)
    ap.add_argument("--fail-rcpt", type=int, default=0)
    ap.add_argument("--fail-data", type=int, default=0)
    ap.add_argument("--auth")
    opts = ap.parse_args()
    for sub in ("tmp", "new"):
        os.makedirs(os.path.join(opts.maildir, sub), exist_ok=True)
    server = Server(("127.0.0.1", opts.port), Handler)
    server.opts = opts
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if opts.port_file:
        with open(opts.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(opts.port_file + ".tmp", opts.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
