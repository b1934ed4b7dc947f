#!/usr/bin/env python3
"""A long-lived TCP flow for failover tests.

Connects to HOST:PORT (the lab echo service, TCP 9000: it sends `peer=IP:port` and then echoes
lines), sends one numbered line every INTERVAL seconds and waits for its echo. Runs until it
receives SIGTERM/SIGINT or DURATION passes, then prints one JSON line:
{"peer": "...", "sent": N, "echoed": N, "max_gap_ms": X, "error": null|"..."}.
max_gap_ms is the longest time between two consecutive echoes: the flow's outage.
"""
import json
import signal
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
duration = float(sys.argv[3]) if len(sys.argv) > 3 else 3600
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
res = {"peer": None, "sent": 0, "echoed": 0, "max_gap_ms": 0.0, "error": None}
try:
    s = socket.create_connection((host, port), timeout=5)
    s.settimeout(0.2)
    f = s.makefile("rwb", buffering=0)
    buf = b""
    while b"\n" not in buf:
        buf += s.recv(4096)
    line, buf = buf.split(b"\n", 1)
    res["peer"] = line.decode().strip().removeprefix("peer=")
    print("connected " + res["peer"], file=sys.stderr, flush=True)
    end = time.monotonic() + duration
    last_echo = time.monotonic()
    next_send = time.monotonic()
    seq = 0
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        if now >= next_send:
            seq += 1
            s.sendall(b"seq %d\n" % seq)
            res["sent"] = seq
            next_send = now + interval
        try:
            data = s.recv(4096)
            if not data:
                res["error"] = "closed by peer"
                break
            buf += data
            n = buf.count(b"\n")
            if n:
                buf = buf.rsplit(b"\n", 1)[1]
                res["echoed"] += n
                t = time.monotonic()
                res["max_gap_ms"] = max(res["max_gap_ms"], round((t - last_echo) * 1000, 1))
                last_echo = t
        except socket.timeout:
            pass
    if res["error"] is None and res["echoed"] > 0:
        # the tail: a flow that stopped echoing before the end also counts as an outage
        res["max_gap_ms"] = max(res["max_gap_ms"], round((time.monotonic() - last_echo) * 1000, 1))
except OSError as e:
    res["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(res), flush=True)
