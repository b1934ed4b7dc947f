"""What the outside sees of the speakers: ARP/NDP answers at `ext`, each node's kernel state (the
vipgress nft table, its steering rules and routes), the VIP Leases and the owner annotations.
Used by the benchmarks (bench-failover, bench-churn) to check ownership from outside the daemon.
"""

import concurrent.futures
import ipaddress
import json
import os
import re
import subprocess
import threading
import time

from . import common

TOOLS = os.path.join(common.LABDIR, "tools")
LEASE_NS = "vipgress-system"
OWNER_ANNOTATION = "vipgress.dev/owner"
NFT_TABLE = "vipgress"
FWMARK_MASK = 0x00FF0000
ROUTE_TABLE_BASE = 7600


def canon(ip):
    return str(ipaddress.ip_address(ip))


def is6(ip):
    return ":" in ip


def mac_of(st):
    """node name -> LAN MAC, and the reverse."""
    H = common.hosts(st["nodes"])
    by_node = {n: H[n]["mac"] for n in common.kube_node_names(st["nodes"]) if n in H}
    return by_node, {m: n for n, m in by_node.items()}


class NeighProber:
    """A long-running tools/neighprobe.py in `ext`: ARP/NDP requests and who answered."""

    def __init__(self, st, host="ext"):
        h = common.hosts(st["nodes"])[host]
        src4 = h["ipv4"] + ("," + h["vipNet4"].split("/")[0] if "vipNet4" in h else "")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", h["netns"], "python3", os.path.join(TOOLS, "neighprobe.py"),
             "serve", h["iface"], src4, h["ipv6"]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def probe(self, vips, wait=0.3, rounds=2):
        """{vip: [mac, ...]} for every VIP somebody answered (canonical VIP text)."""
        if not vips:
            return {}
        self.proc.stdin.write(json.dumps({"vips": sorted(vips), "wait": wait, "rounds": rounds}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise common.LabError("neighprobe in ext exited (%s)" % self.proc.poll())
        return json.loads(line)["answers"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def watch_args(st, host="ext"):
    """argv of `neighprobe.py watch` in `host` (the caller adds --exclude etc.)."""
    h = common.hosts(st["nodes"])[host]
    src4 = h["ipv4"] + ("," + h["vipNet4"].split("/")[0] if "vipNet4" in h else "")
    return ["ip", "netns", "exec", h["netns"], "python3", os.path.join(TOOLS, "neighprobe.py"),
            "watch", h["iface"], src4, h["ipv6"]]


def keep_logs(nodes, bench):
    """Copy the speakers' logs out of the lab's state dir (a later `down` removes it); returns the dir."""
    d = os.environ.get("BENCH_LOGS", "/tmp/vipgress-bench-%s-logs" % bench)
    os.makedirs(d, exist_ok=True)
    for n in nodes:
        src = common.path("logs", "speaker-%s.log" % n)
        if os.path.exists(src):
            with open(src, "rb") as f, open(os.path.join(d, os.path.basename(src)), "wb") as g:
                g.write(f.read())
    return d


# ---------------------------------------------------------------- kernel state of a node

def _elem_key(e):
    """An nft JSON element (or map key) -> its address text, or None for prefixes/ranges."""
    if isinstance(e, dict):
        if "elem" in e:
            return _elem_key(e["elem"].get("val"))
        if "concat" in e:
            return _elem_key(e["concat"][0])
        return None
    return e if isinstance(e, str) else None


def parse_nft(text):
    """`nft -j list table inet vipgress` -> {"owned": set, "vips": set, "snat": {pod: vip},
    "steer": {pod: mark}, "alive": set of families ('ipv4', 'ipv6')} (both families merged)."""
    out = {"owned": set(), "vips": set(), "snat": {}, "steer": {}, "alive": set(), "present": False}
    try:
        items = json.loads(text or "{}").get("nftables", [])
    except ValueError:
        return out
    for it in items:
        obj = it.get("set") or it.get("map")
        if obj is None:
            continue
        out["present"] = True
        name = obj.get("name", "")
        elems = obj.get("elem", [])
        base = name.rstrip("46s")
        if name == "alive":
            out["alive"] = {_elem_key(e) for e in elems}
        elif base in ("owned", "vips") and name[-1:] in "46":
            out[base] |= {canon(k) for k in map(_elem_key, elems) if k}
        elif base in ("snat", "steer") and isinstance(elems, list):
            for e in elems:
                if isinstance(e, list) and len(e) == 2:
                    k = _elem_key(e[0])
                    if k:
                        v = e[1]
                        out[base][canon(k)] = canon(v) if base == "snat" and isinstance(v, str) else v
    return out


def node_kernel(netns):
    """The node's vipgress nft state plus its steering: {mark: next hop text} from its fwmark rules
    and route tables (IPv4 and IPv6 merged: {"4": {...}, "6": {...}})."""
    r = subprocess.run(["ip", "netns", "exec", netns, "nft", "-j", "list", "table", "inet", NFT_TABLE],
                       capture_output=True, text=True)
    k = parse_nft(r.stdout if r.returncode == 0 else "")
    k["routes"] = {}
    for fam in ("4", "6"):
        rules = _ipj(netns, ["-" + fam, "rule", "show"])
        routes = _ipj(netns, ["-" + fam, "route", "show", "table", "all"])
        via = _default_routes(routes)
        marks = {}
        for ru in rules:
            m = ru.get("fwmark")
            t = ru.get("table")
            if isinstance(t, str) and t.isdigit():
                t = int(t)
            if m is not None and t in via:
                marks[int(m.split("/")[0], 0) if isinstance(m, str) else int(m)] = via[t]
        k["routes"][fam] = marks
    return k


def _default_routes(routes):
    """{steering table: where its default route leads} — the route the kernel uses: the lowest
    metric. A table also holds `blackhole default` at the largest metric (its fence when the route
    to the owner is flushed with a link), so a table whose only default is that reads "blackhole"."""
    best = {}
    for rt in routes:
        t = rt.get("table")
        if isinstance(t, str) and t.isdigit():
            t = int(t)
        if not (isinstance(t, int) and ROUTE_TABLE_BASE <= t < ROUTE_TABLE_BASE + 256 and rt.get("dst") == "default"):
            continue
        kind = rt.get("type", "unicast")
        target = (rt.get("gateway") or rt.get("dev")) if kind == "unicast" else kind
        metric = rt.get("metric", 0)
        if t not in best or metric < best[t][0]:
            best[t] = (metric, target)
    return {t: target for t, (_, target) in best.items()}


def _ipj(netns, args):
    r = subprocess.run(["ip", "-n", netns, "-j"] + args, capture_output=True, text=True)
    try:
        return json.loads(r.stdout or "[]")
    except ValueError:
        return []


def kernels(st, nodes):
    """{node: node_kernel} read in parallel."""
    H = common.hosts(st["nodes"])
    with concurrent.futures.ThreadPoolExecutor(len(nodes) or 1) as ex:
        futs = {n: ex.submit(node_kernel, H[n]["netns"]) for n in nodes}
        return {n: f.result() for n, f in futs.items()}


# ---------------------------------------------------------------- API objects

def leases(api):
    """{vip: holder or ''} of the VIP Leases."""
    code, obj = api.get("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % LEASE_NS,
                        query={"labelSelector": "vipgress.dev/lease-kind=vip"}, timeout=30)
    out = {}
    if code != 200:
        raise common.LabError("list Leases -> %d" % code)
    for it in obj.get("items", []):
        ann = it["metadata"].get("annotations") or {}
        vip = ann.get("vipgress.dev/vip")
        if vip is None:
            name = it["metadata"]["name"]
            if not name.startswith("vip-"):
                continue
            t = name[4:]
            vip = t.replace("-", ".") if t.count("-") == 3 and "--" not in t else t.replace("-", ":")
        try:
            out[canon(vip)] = (it.get("spec") or {}).get("holderIdentity") or ""
        except ValueError:
            continue
    return out


def services(api, ns):
    """The Services of a namespace (raw objects)."""
    code, obj = api.get("/api/v1/namespaces/%s/services" % ns, timeout=30)
    if code != 200:
        raise common.LabError("list Services in %s -> %d" % (ns, code))
    return obj.get("items", [])


def owner_annotation(svc):
    return (svc["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION)


def ingress_ips(svc):
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if i.get("ip")]


def parallel(fn, items, workers=8):
    """fn over items on a small thread pool; the results in order (exceptions re-raised)."""
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


class KernelWatch:
    """Follows one node's vipgress nft elements live (`nft monitor elements`) and records, per VIP of
    `expect` ({vip: set of backend pod IPs}), the first time it is in the owned set with every backend
    mapped to it in the SNAT map."""

    LINE = re.compile(r"^(add|delete) element inet %s (\w+) \{ (.*) \}\s*$" % NFT_TABLE)

    def __init__(self, netns, expect):
        self.expect = {canon(v): {canon(p) for p in pods} for v, pods in expect.items()}
        self.owned, self.snat, self.ready = set(), {}, {}
        self.lost_events = False
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, "stdbuf", "-oL", "nft", "monitor", "elements"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.netns = netns

    def seed(self):
        """Merge a listing taken after the monitor started (elements that were there before)."""
        k = node_kernel(self.netns)
        with self.lock:
            self.owned |= k["owned"]
            for pod, vip in k["snat"].items():
                self.snat.setdefault(pod, vip)
            self._check(self.expect, time.time())

    def _check(self, vips, t):
        for v in vips:
            if v in self.ready or v not in self.owned:
                continue
            if all(self.snat.get(p) == v for p in self.expect.get(v, ())):
                self.ready[v] = t

    def _read(self):
        for line in self.proc.stdout:
            t = time.time()
            if "lost" in line.lower() and "event" in line.lower():
                self.lost_events = True
                continue
            m = self.LINE.match(line)
            if not m:
                continue
            op, name, body = m.groups()
            base = name.rstrip("46")
            touched = set()
            with self.lock:
                for e in body.split(", "):
                    if base == "owned":
                        v = canon(e.strip())
                        (self.owned.add if op == "add" else self.owned.discard)(v)
                        touched.add(v)
                    elif base == "snat" and " : " in e:
                        k, v = (canon(x.strip()) for x in e.split(" : ", 1))
                        if op == "add":
                            self.snat[k] = v
                            touched.add(v)
                        elif self.snat.get(k) == v:
                            del self.snat[k]
                if op == "add":
                    self._check(touched & set(self.expect), t)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
