"""`demo` — the main job on the embedded default (what `make lab` runs after `up`).

Starts one speaker per node, creates a Service labelled for L2 announce and egress with backends
on two nodes plus a non-backend pod (and a CNI-style masquerade on every node, as a CNI would
install), assigns its LoadBalancer IP as an IPAM would, and prints a live view: the VIP, its
owner, and the source address `ext` sees for each pod. Then it kills the owner's speaker (after
Enter on a terminal, at once otherwise) and prints the measured failover time.
"""

import os
import re
import subprocess
import sys
import time

from . import common, kube, speaker

NS = "demo"
VIP = "192.168.100.200"
EXT_URL = "http://192.168.100.100:8080/"
PODS = [("web-1", "node1", "web"), ("other", "node1", "other"), ("web-2", "node2", "web")]
PEER = re.compile(r"peer=([0-9a-fA-F:.]+):\d+")


def register(sub):
    p = sub.add_parser("demo", help="run the speakers and a demo Service, show egress, fail over")
    p.add_argument("--no-failover", action="store_true", help="skip the failover step")
    p.add_argument("--yes", action="store_true", help="do not ask before killing the owner's speaker")
    p.set_defaults(func=run)


def _lab(*args, check=True):
    r = subprocess.run([os.path.join(common.LABDIR, "lab")] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise common.LabError("lab %s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r.stdout.strip()


def _seen_as(netns, timeout=1.0):
    r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "--max-time", str(timeout), EXT_URL],
                       capture_output=True, text=True)
    m = PEER.search(r.stdout)
    return m.group(1) if m else None


def _masquerade(i):
    # What a CNI does for pod egress; vipgress must win over it for backends.
    common.nsrun("vg-node%d" % i, ["nft", "add table ip demo_cni; add chain ip demo_cni post "
                 "{ type nat hook postrouting priority srcnat; }; flush chain ip demo_cni post; "
                 "add rule ip demo_cni post ip saddr 10.244.%d.0/24 ip daddr != 10.244.0.0/16 masquerade" % i])


def teardown(st, api, ns, pods):
    """Undo setup(): pods, the Service and namespace, the masquerade tables; stop the speakers."""
    for name, _, _ in pods:
        _lab("pod", "delete", "%s/%s" % (ns, name), check=False)
    api.request("DELETE", "/api/v1/namespaces/%s/services/web" % ns)
    api.request("DELETE", "/api/v1/namespaces/%s" % ns)
    for i in range(1, st["nodes"] + 1):
        _lab("speaker", "stop", "node%d" % i, check=False)
        subprocess.run(["ip", "netns", "exec", "vg-node%d" % i, "nft", "delete", "table", "ip", "demo_cni"],
                       capture_output=True)


def _owner(api, ns=NS):
    code, svc = api.get("/api/v1/namespaces/%s/services/web" % ns)
    if code != 200:
        return None
    return (svc["metadata"].get("annotations") or {}).get("vipgress.dev/owner")


def _wait(what, fn, timeout, interval=0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        time.sleep(interval)
    raise common.LabError("timed out after %ds waiting for %s" % (timeout, what))


def _view(st, api, slots):
    owner = _owner(api)
    print("\nVIP %s  owner %s" % (VIP, owner or "-"))
    print("  %-12s %-7s %-12s %-16s %s" % ("POD", "NODE", "BACKEND", "POD IP", "EXT SEES"))
    for name, node, app in PODS:
        ip, netns = slots[name]
        seen = _seen_as(netns) or "(no answer)"
        tag = "= VIP" if seen == VIP else ""
        print("  %-12s %-7s %-12s %-16s %s %s" % (name, node, "yes" if app == "web" else "no", ip, seen, tag))
    return owner


def setup(st, api, ns=NS, vip=VIP, pods=PODS, masquerade=True):
    """Speakers on every node, the pods, the labelled Service with its VIP; returns {pod: (ip, netns)}."""
    for i in range(1, st["nodes"] + 1):
        if masquerade:
            _masquerade(i)
        _lab("speaker", "start", "node%d" % i)
    common.log("speakers running on %d nodes" % st["nodes"])
    kube.ensure_namespace(api, ns)
    slots = {}
    for name, node, app in pods:
        ip = _lab("pod", "create", "%s/%s" % (ns, name), "--node", node, "--labels", "app=" + app)
        slots[name] = (ip, None)
    cur = common.load_state()
    for sl, ref in cur.get("slots", {}).items():
        for name in slots:
            if ref == "%s/%s" % (ns, name):
                slots[name] = (slots[name][0], common.slots(st["nodes"])[sl]["netns"])
    code, _ = api.get("/api/v1/namespaces/%s/services/web" % ns)
    if code == 404:
        api.must("POST", "/api/v1/namespaces/%s/services" % ns, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": ns,
                         "labels": {"vipgress.dev/announce": "l2", "vipgress.dev/egress": "true"}},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    # what an IPAM (MetalLB controller, LB-IPAM) would do
    api.merge_patch("/api/v1/namespaces/%s/services/web/status" % ns,
                    {"status": {"loadBalancer": {"ingress": [{"ip": vip}]}}})
    common.log("Service %s/web (l2 + egress) got VIP %s" % (ns, vip))
    return slots


def run(a):
    common.require_root()
    st = common.require_state()
    api = kube.Api(st)
    slots = setup(st, api)
    _, t = _wait("an owner", lambda: _owner(api), 30)
    remote_backend = None
    _wait("backends leaving as the VIP",
          lambda: all(_seen_as(slots[n][1]) == VIP for n, _, app in PODS if app == "web"), 30, 0.2)
    owner = _view(st, api, slots)
    if a.no_failover:
        return 0
    for name, node, app in PODS:
        if app == "web" and node != owner:
            remote_backend = name
    if remote_backend is None:
        remote_backend = "web-1"
    if sys.stdin.isatty() and not a.yes:
        input("\nPress Enter to kill the speaker of %s (SIGKILL) and measure the failover... " % owner)
    else:
        print("\nfailover: killing the speaker of %s (SIGKILL)" % owner)
    netns = slots[remote_backend][1]
    t0 = time.monotonic()
    _lab("speaker", "kill", owner)
    new, t_owner = _wait("a new owner", lambda: (lambda o: o if o and o != owner else None)(_owner(api)), 30, 0.02)
    _, t_egress = _wait("egress as the VIP again", lambda: _seen_as(netns, 0.3) == VIP, 30, 0.02)
    t_egress = time.monotonic() - t0
    print("  new owner %s after %.2fs (annotation); %s leaves as the VIP again %.2fs after the kill"
          % (new, t_owner, remote_backend, t_egress))
    print("  (%s's own backends fail closed -- dropped, never sent with their pod IP -- while its speaker"
          " is down; restarting it)" % owner)
    _lab("speaker", "start", owner)
    _wait("every backend leaving as the VIP again",
          lambda: all(_seen_as(slots[n][1]) == VIP for n, _, app in PODS if app == "web"), 30, 0.2)
    _view(st, api, slots)
    print("\nspeaker of %s restarted; it is a candidate again. `frr-test/lab down` removes the lab." % owner)
    return 0
