#!/usr/bin/env python3
"""Sends a UDP datagram to HOST:PORT (the lab echo service, UDP 9000) every INTERVAL seconds for
DURATION seconds, each carrying its send time; prints one JSON line: a list of
[send_time, source_ip_ext_saw] for every datagram answered. Used to time when a pod's egress
source address changes (the new-pod leak window)."""
import json
import select
import socket
import sys
import time

host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.002
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
seen = []
end = time.time() + duration
nxt = time.time()
while time.time() < end + 0.5:
    now = time.time()
    if now >= nxt and now < end:
        try:
            s.sendto(b"%.6f" % now, (host, port))
        except OSError:
            pass
        nxt = now + interval
    r, _, _ = select.select([s], [], [], max(0.0, min(interval, nxt - time.time())))
    if r:
        try:
            data = s.recv(2048).decode()
        except OSError:
            continue
        # "peer=IP:port <payload>"
        head, _, payload = data.partition(" ")
        ip = head.removeprefix("peer=").rsplit(":", 1)[0]
        try:
            seen.append([float(payload), ip])
        except ValueError:
            pass
print(json.dumps(seen))
