"""LoadBalancer Services in bulk for the benchmarks: the Service, its VIP (written into
status.loadBalancer.ingress as an IPAM would) and, for Services without a selector, an EndpointSlice
written by hand (one endpoint per backend, with its node), so a benchmark can have thousands of
Services with backends without a Pod (or a pod namespace) for each."""

import http.client
import json
import threading
import urllib.parse

from . import common, kube

ANNOUNCE = "vipgress.dev/announce"
EGRESS = "vipgress.dev/egress"
MANAGED_BY = "bench.vipgress.dev"


def labels(announce="l2", egress=True):
    out = {}
    if announce:
        out[ANNOUNCE] = announce
    if egress:
        out[EGRESS] = "true"
    return out


def service_body(ns, name, family=4, selector=None, lbls=None):
    spec = {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            "ipFamilies": ["IPv6" if family == 6 else "IPv4"], "ipFamilyPolicy": "SingleStack"}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": dict(lbls or {})}, "spec": spec}


def slice_name(svc):
    return svc + "-bench"


def slice_body(ns, svc, family, backends):
    """backends: [(ip, node)]."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": slice_name(svc), "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc,
                                    "endpointslice.kubernetes.io/managed-by": MANAGED_BY}},
            "addressType": "IPv6" if family == 6 else "IPv4",
            "endpoints": [{"addresses": [ip], "nodeName": node, "conditions": {"ready": True}}
                          for ip, node in backends],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def svc_path(ns, name=None):
    return "/api/v1/namespaces/%s/services%s" % (ns, "/" + name if name else "")


def slice_path(ns, name=None):
    return "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices%s" % (ns, "/" + name if name else "")


def create(api, ns, name, family=4, vip=None, selector=None, lbls=None, backends=None):
    """The Service, its hand-made EndpointSlice (when `backends` is given) and its VIP."""
    api.must("POST", svc_path(ns), service_body(ns, name, family, selector, lbls), ok=(200, 201))
    if backends is not None:
        code, obj = api.request("POST", slice_path(ns), slice_body(ns, name, family, backends))
        if code == 409:
            put_slice(api, ns, name, family, backends)
        elif code not in (200, 201):
            raise common.LabError("POST EndpointSlice %s/%s -> %d: %s" % (ns, slice_name(name), code, obj))
    if vip:
        set_vip(api, ns, name, vip)


def put_slice(api, ns, svc, family, backends):
    body = slice_body(ns, svc, family, backends)
    code, _ = api.request("PUT", slice_path(ns, slice_name(svc)), body)
    if code == 404:
        api.must("POST", slice_path(ns), body, ok=(200, 201))
    elif code not in (200, 201):
        raise common.LabError("PUT EndpointSlice %s/%s -> %d" % (ns, slice_name(svc), code))


def set_vip(api, ns, name, vip):
    api.merge_patch(svc_path(ns, name) + "/status",
                    {"status": {"loadBalancer": {"ingress": [{"ip": vip}] if vip else []}}})


def set_labels(api, ns, name, lbls):
    """Replaces the vipgress labels (a None value removes the label)."""
    api.merge_patch(svc_path(ns, name), {"metadata": {"labels": lbls}})


def delete(api, ns, name, with_slice=True):
    api.request("DELETE", svc_path(ns, name))
    if with_slice:
        api.request("DELETE", slice_path(ns, slice_name(name)))


def delete_namespace(api, ns, timeout=120):
    api.request("DELETE", "/api/v1/namespaces/%s" % ns)
    common.wait_for("namespace %s to be deleted" % ns,
                    lambda: api.get("/api/v1/namespaces/%s" % ns)[0] == 404, timeout, 0.5)


class KeepAliveApi(kube.Api):
    """kube.Api over one persistent HTTPS connection per thread: creating hundreds of objects at once
    must not pay a TLS handshake per request (on the 2-core lab that is most of the time)."""

    def __init__(self, st):
        super().__init__(st)
        u = urllib.parse.urlsplit(self.base)
        self.host, self.port = u.hostname, u.port
        self.local = threading.local()

    def request(self, method, p, body=None, ctype="application/json", query=None, timeout=10):
        url = p + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
                self.local.conn = conn
            try:
                conn.timeout = timeout
                conn.request(method, url, body=data, headers=headers)
                r = conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        try:
            return r.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
        except ValueError:
            return r.status, raw.decode(errors="replace")
