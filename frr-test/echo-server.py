#!/usr/bin/env python3
"""Echo service of the vipgress lab (runs on ext and ext2), Python stdlib only.

Dual-stack (one IPv4 and one IPv6 socket per service):
  TCP 8080  HTTP: any GET/HEAD -> 200, body "peer=IP:port\\n"
  TCP 9000  raw:  on connect sends "peer=IP:port\\n", then echoes every line back
  UDP 9000  replies "peer=IP:port <payload>"
IP is printed without brackets also for IPv6 (split at the last ':').
Every connection/datagram is logged to stdout as "proto local peer".
"""

import argparse
import socket
import sys
import threading
import time


def peer_str(addr):
    return "%s:%d" % (addr[0], addr[1])


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def listen(family, kind, port):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(256)
    return s


def serve_http(conn, addr):
    with conn:
        conn.settimeout(30)
        data = b""
        try:
            while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return
        body = ("peer=%s\n" % peer_str(addr)).encode()
        head = data.split(b" ", 1)[0]
        log("http", peer_str(addr), data.split(b"\r\n", 1)[0].decode(errors="replace"))
        if head not in (b"GET", b"HEAD", b"POST", b"PUT"):
            resp = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        else:
            resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n" % len(body)) + (body if head != b"HEAD" else b"")
        try:
            conn.sendall(resp)
        except OSError:
            pass


def serve_raw(conn, addr):
    with conn:
        log("tcp9000", peer_str(addr), "open")
        try:
            conn.sendall(("peer=%s\n" % peer_str(addr)).encode())
            f = conn.makefile("rb")
            for line in f:
                conn.sendall(line)
        except OSError:
            pass
        log("tcp9000", peer_str(addr), "close")


def accept_loop(sock, handler):
    while True:
        try:
            conn, addr = sock.accept()
        except OSError:
            continue
        threading.Thread(target=handler, args=(conn, addr), daemon=True).start()


def udp_loop(sock):
    while True:
        try:
            data, addr = sock.recvfrom(65535)
            log("udp9000", peer_str(addr), len(data))
            sock.sendto(("peer=%s " % peer_str(addr)).encode() + data, addr)
        except OSError:
            continue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, default=8080)
    ap.add_argument("--port", type=int, default=9000)
    a = ap.parse_args()
    threads = []
    for fam in (socket.AF_INET, socket.AF_INET6):
        threads.append(threading.Thread(target=accept_loop, args=(listen(fam, socket.SOCK_STREAM, a.http_port),
                                                                  serve_http), daemon=True))
        threads.append(threading.Thread(target=accept_loop, args=(listen(fam, socket.SOCK_STREAM, a.port),
                                                                  serve_raw), daemon=True))
        threads.append(threading.Thread(target=udp_loop, args=(listen(fam, socket.SOCK_DGRAM, a.port),),
                                        daemon=True))
    for t in threads:
        t.start()
    log("echo-server listening: tcp %d (http), tcp %d, udp %d; dual-stack" % (a.http_port, a.port, a.port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
