#!/usr/bin/env python3
"""ARP/NDP from a lab host: who answers for a VIP, as that host sees it (run inside its netns).

Sends ARP requests (IPv4) and Neighbor Solicitations (IPv6, to the solicited-node multicast
address) on IFACE from raw frames and records every ARP reply / Neighbor Advertisement and every
gratuitous ARP / unsolicited NA that claims a VIP, with the answering MAC. Two modes:

  neighprobe.py serve IFACE SRC4 SRC6
      reads one JSON request per stdin line: {"vips": [...], "wait": 0.3, "rounds": 2}; sends a
      request per VIP per round and answers one JSON line {"answers": {vip: [mac, ...]}} with the
      MACs heard for each VIP (a VIP nobody answered is absent) during the rounds and the wait.

  neighprobe.py watch IFACE SRC4 SRC6 --exclude MAC [--interval 0.1] [--timeout 30]
      reads a JSON list of VIPs from the first stdin line and probes them every INTERVAL until each
      has been claimed by a MAC other than the excluded one (the failed owner); prints one JSON line
      per first claim {"vip", "mac", "t", "how": "reply"|"gratuitous"}, one per later claim by yet
      another MAC {"vip", "mac", "t", "dup": true}, and finally {"done": true, "pending": [...]}.

SRC4/SRC6 are this host's addresses used as the requests' sender (SRC4 may be a comma list: the
first one in the VIP's /20, /24 ... is chosen by the longest common prefix).
"""
import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
BCAST = b"\xff" * 6


def mac_bytes(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def mac_text(b):
    return ":".join("%02x" % x for x in b)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Prober:
    def __init__(self, iface, src4, src6):
        self.iface = iface
        self.mac = mac_bytes(iface)
        self.src4 = [ipaddress.IPv4Address(a) for a in src4.split(",") if a]
        self.src6 = ipaddress.IPv6Address(src6)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setblocking(False)

    def _sender4(self, vip):
        best = self.src4[0]
        bits = lambda a: 32 - (int(a) ^ int(vip)).bit_length()
        for a in self.src4:
            if bits(a) > bits(best):
                best = a
        return best

    def request(self, vip):
        ip = ipaddress.ip_address(vip)
        if ip.version == 4:
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, self.mac, self._sender4(ip).packed,
                              b"\0" * 6, ip.packed)
            frame = BCAST + self.mac + struct.pack("!H", ETH_P_ARP) + arp
        else:
            dst = ipaddress.IPv6Address("ff02::1:ff00:0").packed[:13] + ip.packed[13:]
            icmp = struct.pack("!BBHI16sBB6s", 135, 0, 0, 0, ip.packed, 1, 1, self.mac)
            pseudo = self.src6.packed + dst + struct.pack("!I3xB", len(icmp), 58)
            csum = checksum(pseudo + icmp)
            icmp = icmp[:2] + struct.pack("!H", csum) + icmp[4:]
            ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 255, self.src6.packed, dst)
            frame = b"\x33\x33" + dst[12:] + self.mac + struct.pack("!H", ETH_P_IPV6) + ip6 + icmp
        try:
            self.sock.send(frame)
        except BlockingIOError:
            select.select([], [self.sock], [], 0.05)
            self.sock.send(frame)

    def claims(self):
        """Every (vip, mac, how) claim received since the last call (non-blocking)."""
        out = []
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return out
            if addr[2] == PACKET_OUTGOING or len(data) < 14:
                continue
            et = struct.unpack("!H", data[12:14])[0]
            if et == ETH_P_ARP and len(data) >= 42:
                op, sha, spa, tpa = struct.unpack("!6x H 6s4s 6x 4s", data[14:42])
                vip = str(ipaddress.IPv4Address(spa))
                if op == 2:
                    out.append((vip, mac_text(sha), "reply" if data[0:6] == self.mac else "gratuitous"))
                elif op == 1 and spa == tpa:
                    out.append((vip, mac_text(sha), "gratuitous"))
            elif et == ETH_P_IPV6 and len(data) >= 14 + 40 + 24 and data[14 + 6] == 58 and data[54] == 136:
                target = str(ipaddress.IPv6Address(data[62:78]))
                mac = mac_text(data[6:12])
                opts = data[78:]
                while len(opts) >= 8 and opts[1]:
                    if opts[0] == 2:
                        mac = mac_text(opts[2:8])
                    opts = opts[opts[1] * 8:]
                out.append((target, mac, "reply" if data[58] & 0x40 else "gratuitous"))

    def wait(self, seconds):
        select.select([self.sock], [], [], max(0.0, seconds))


def canon(v):
    return str(ipaddress.ip_address(v))


def serve(p):
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        vips = [canon(v) for v in req["vips"]]
        want = set(vips)
        rounds = int(req.get("rounds", 2))
        wait = float(req.get("wait", 0.3))
        answers = {}
        p.claims()   # drop what arrived between requests
        for r in range(rounds):
            for v in vips:
                p.request(v)
            end = time.monotonic() + (wait / rounds)
            while time.monotonic() < end:
                p.wait(end - time.monotonic())
                for vip, mac, _ in p.claims():
                    if vip in want:
                        answers.setdefault(vip, set()).add(mac)
        print(json.dumps({"answers": {k: sorted(v) for k, v in answers.items()}}), flush=True)


def watch(p, exclude, interval, timeout):
    vips = [canon(v) for v in json.loads(sys.stdin.readline())]
    pending = set(vips)
    seen = {}
    t_end = time.time() + timeout
    grace_end = None
    nxt = 0.0
    while time.time() < t_end and (grace_end is None or time.time() < grace_end):
        now = time.time()
        if now >= nxt and pending:
            for v in sorted(pending):
                p.request(v)
            nxt = now + interval
        p.wait(min(0.02, max(0.0, nxt - time.time())))
        for vip, mac, how in p.claims():
            if vip not in seen and vip not in pending or mac == exclude:
                continue
            t = time.time()
            macs = seen.setdefault(vip, [])
            if mac in macs:
                continue
            macs.append(mac)
            if len(macs) == 1:
                pending.discard(vip)
                print(json.dumps({"vip": vip, "mac": mac, "t": t, "how": how}), flush=True)
            else:
                print(json.dumps({"vip": vip, "mac": mac, "t": t, "dup": True}), flush=True)
        if not pending and grace_end is None:
            grace_end = time.time() + 1.0   # keep listening a little for a second claimant
    print(json.dumps({"done": True, "pending": sorted(pending)}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve", "watch"])
    ap.add_argument("iface")
    ap.add_argument("src4")
    ap.add_argument("src6")
    ap.add_argument("--exclude", default="")
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    p = Prober(a.iface, a.src4, a.src6)
    if a.mode == "serve":
        serve(p)
    else:
        watch(p, a.exclude.lower(), a.interval, a.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
