"""`selftest`: quick checks that the lab is real (the same ground as the Java smoke *ITs).

Uses namespace `lab-selftest` and one pod slot on node1, node2 (and node3 when present);
cleans up after itself. Does not run `down`.
"""

import time

from . import common, frr, kube, pods
from .common import LabError

NS = "lab-selftest"
LB_IP = "192.168.100.250"


def register(sub):
    p = sub.add_parser("selftest", help="check pod->ext, Leases, EndpointSlices, kube-proxy nft, FRR")
    p.set_defaults(func=run)


def _check(results, name, fn):
    t = time.monotonic()
    try:
        detail = fn()
        results.append((name, True, detail))
    except Exception as e:  # noqa: BLE001 - reported
        results.append((name, False, str(e)))
    common.log("%s %s (%.1fs)" % ("PASS" if results[-1][1] else "FAIL", name, time.monotonic() - t))


def run(_a):
    st = common.require_state()
    n = st["nodes"]
    api = kube.Api(st)
    created = []
    results = []

    def pod(name, node, labels):
        ref = "%s/%s" % (NS, name)
        pods.create(ref, node, labels)
        created.append(ref)
        return common.slots(n)[pods.slot_of(common.require_state(), ref)]

    def pod_to_ext():
        s = pod("client", "node2", {"app": "selftest-client"})
        out = common.nsrun(s["netns"], ["curl", "-s", "-m", "5", "http://192.168.100.100:8080/"])
        if not out.startswith("peer=%s:" % s["ipv4"]):
            raise LabError("ext saw %r, expected peer=%s:PORT" % (out.strip(), s["ipv4"]))
        out6 = common.nsrun(s["netns"], ["curl", "-s", "-m", "5", "http://[fd76:200::100]:8080/"])
        if not out6.startswith("peer=%s:" % s["ipv6"]):
            raise LabError("ext2 saw %r, expected peer=%s:PORT" % (out6.strip(), s["ipv6"]))
        return out.strip() + ", " + out6.strip()

    def far_to_ext():
        s = pod("far", common.far_name(1), {"app": "selftest-far"})
        out = common.nsrun(s["netns"], ["curl", "-s", "-m", "5", "http://192.168.100.100:8080/"])
        if not out.startswith("peer=%s:" % s["ipv4"]):
            raise LabError("ext saw %r, expected peer=%s:PORT" % (out.strip(), s["ipv4"]))
        out6 = common.nsrun(s["netns"], ["curl", "-s", "-m", "5", "http://[fd76:100::100]:8080/"])
        if not out6.startswith("peer=%s:" % s["ipv6"]):
            raise LabError("ext saw %r, expected peer=%s:PORT" % (out6.strip(), s["ipv6"]))
        return out.strip() + ", " + out6.strip()

    def lease():
        base = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % NS
        obj = api.must("POST", base, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                      "metadata": {"name": "selftest"},
                                      "spec": {"holderIdentity": "node1", "leaseDurationSeconds": 10}})
        got = api.must("GET", base + "/selftest")
        stale = got["metadata"]["resourceVersion"]
        got["spec"]["holderIdentity"] = "node2"
        api.must("PUT", base + "/selftest", got)
        got["spec"]["holderIdentity"] = "node3"
        got["metadata"]["resourceVersion"] = stale
        code, _ = api.request("PUT", base + "/selftest", got)
        if code != 409:
            raise LabError("stale update got %d, expected 409" % code)
        return "created rv %s, stale update -> 409" % obj["metadata"]["resourceVersion"]

    def endpointslice():
        other = "node3" if n >= 3 else "node1"
        a = pod("web-a", "node1", {"app": "selftest-web"})
        b = pod("web-b", other, {"app": "selftest-web"})
        api.must("POST", "/api/v1/namespaces/%s/services" % NS, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "selftest-web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})

        def both():
            _, sl = api.get("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS,
                            query={"labelSelector": "kubernetes.io/service-name=web"})
            ips = {addr for item in sl.get("items", []) for ep in item.get("endpoints") or []
                   for addr in ep.get("addresses", [])}
            return ips if {a["ipv4"], b["ipv4"]} <= ips else None
        return "EndpointSlice lists %s" % sorted(common.wait_for("EndpointSlice with both pods", both, 15))

    def kube_proxy_lb():
        api.merge_patch("/api/v1/namespaces/%s/services/web/status" % NS,
                        {"status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}})

        def programmed():
            return all(LB_IP in common.nsrun("vg-node%d" % i, ["nft", "list", "table", "ip", "kube-proxy"])
                       for i in range(1, n + 1))
        common.wait_for("kube-proxy nft tables mentioning %s" % LB_IP, programmed, 15, 0.3)
        return "%s in table ip kube-proxy on %d nodes" % (LB_IP, n)

    def vip_subnet():
        H = common.hosts(n)
        for i in range(1, n + 1):
            h = H[common.node_name(i)]
            addr = h["vipNet4"].split("/")[0]
            common.nsrun("vg-ext", ["ping", "-c", "1", "-W", "2", addr])
            out = common.nsrun(h["netns"], ["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
            if not any(addr in line and "scope link" in line for line in out.splitlines()):
                raise LabError("%s: %s is not a scope link address on eth0: %s" % (h["netns"], addr, out))
        return "ext reaches %d nodes on %s (scope link on the nodes)" % (n, common.LAN_VIP_NET4)

    def frr_summary():
        s = frr.summary()
        if s is None:
            raise LabError("vtysh show bgp summary json did not answer")
        return "answers: %s" % (list(s) or "{}")

    try:
        kube.ensure_namespace(api, NS)
        _check(results, "pod on node2 reaches ext/ext2 un-NATed", pod_to_ext)
        _check(results, "pod on far1 (segment 2) reaches ext via router", far_to_ext)
        _check(results, "Lease create/get/update, stale update 409", lease)
        _check(results, "EndpointSlice for a Service with 2 pods", endpointslice)
        _check(results, "kube-proxy programs a LoadBalancer IP", kube_proxy_lb)
        _check(results, "LAN VIP subnet: ext reaches the nodes", vip_subnet)
        _check(results, "FRR answers show bgp summary json", frr_summary)
    finally:
        for ref in created:
            try:
                pods.delete(ref)
            except LabError as e:
                common.log("cleanup: %s" % e)
        api.request("DELETE", "/api/v1/namespaces/" + NS)
    for name, good, detail in results:
        print("%s  %-45s %s" % ("PASS" if good else "FAIL", name, detail))
    return 0 if all(r[1] for r in results) else 1
