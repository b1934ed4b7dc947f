#!/usr/bin/env python3
"""Sends a UDP datagram to HOST:PORT (the lab echo service, UDP 9000) every INTERVAL seconds for
DURATION seconds, each from a fresh socket (a new flow, like a new connection) and carrying its
send time; prints one JSON line: a list of [send_time, source_ip_ext_saw] for every datagram
answered. Used to time when a pod's egress source address changes (the new-pod leak window)."""
import json
import select
import socket
import sys
import time

host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.002
family = socket.AF_INET6 if ":" in host else socket.AF_INET
seen = []
open_socks = {}   # socket -> time it was opened
end = time.time() + duration
nxt = time.time()
while time.time() < end + 1.0 or (open_socks and time.time() < end + 1.0):
    now = time.time()
    if now >= nxt and now < end:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            s.sendto(b"%.6f" % now, (host, port))
            open_socks[s] = now
        except OSError:
            s.close()
        nxt = now + interval
    for s, t in list(open_socks.items()):
        if now - t > 1.0:
            s.close()
            del open_socks[s]
    if not open_socks:
        time.sleep(max(0.0, nxt - time.time()))
        continue
    r, _, _ = select.select(list(open_socks), [], [], max(0.0, min(interval, nxt - time.time())))
    for s in r:
        try:
            data = s.recv(2048).decode()
        except OSError:
            continue
        head, _, payload = data.partition(" ")
        ip = head.removeprefix("peer=").rsplit(":", 1)[0]
        try:
            seen.append([float(payload), ip])
        except ValueError:
            pass
        s.close()
        del open_socks[s]
print(json.dumps(seen))
