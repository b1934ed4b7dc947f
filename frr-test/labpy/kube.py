"""The Kubernetes side: PKI, kubeconfigs, etcd, kube-apiserver, kube-controller-manager,
Node objects, kube-proxy, and a tiny REST client (stdlib only)."""

import base64
import datetime
import json
import os
import secrets
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from . import common, procs
from .common import LabError, path, run

# ---------------------------------------------------------------- binaries


def _build_running():
    """True when a build-k8s.sh is running already (we must not start a second go build)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"build-k8s.sh") for a in argv[:3]):
            return True
    return False


def ensure_binaries():
    names = ["kube-apiserver", "kube-controller-manager", "kube-proxy", "kubectl"]

    def have():
        return all(os.access(common.k8s_bin(b), os.X_OK) for b in names)

    if have():
        return common.k8s_bin_dir()
    if _build_running():
        common.log("a Kubernetes %s build is running already; waiting for its binaries in %s"
                   % (common.K8S_VERSION, common.k8s_bin_dir()))
        common.wait_for("the running build-k8s.sh", lambda: have() or not _build_running(), 3 * 3600, 5)
        if have():
            return common.k8s_bin_dir()
    common.log("building Kubernetes %s binaries (first cold build takes many minutes)" % common.K8S_VERSION)
    p = subprocess.run([common.BUILD_SCRIPT], stdin=subprocess.DEVNULL)
    if p.returncode != 0 or not have():
        raise LabError("build-k8s.sh failed (exit %d)" % p.returncode)
    return common.k8s_bin_dir()


# ---------------------------------------------------------------- PKI and kubeconfigs

def _openssl(args):
    run(["openssl"] + args, timeout=60)


def ensure_pki(st):
    pki = path("pki")
    os.makedirs(pki, mode=0o755, exist_ok=True)
    hn = st["hostNet"]
    ca_key, ca_crt = os.path.join(pki, "ca.key"), os.path.join(pki, "ca.crt")
    if not os.path.exists(ca_crt):
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", ca_key, "-out", ca_crt, "-days", "3650", "-subj", "/CN=vipgress-lab-ca"])
    sans = ["IP:" + a for a in (common.CP_LAN4, "fd76:100::2", hn["cp"], "10.96.0.1", "127.0.0.1", "::1")]
    sans += ["DNS:" + d for d in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                  "kubernetes.default.svc.cluster.local")]
    san = ",".join(sans)
    crt, key = os.path.join(pki, "apiserver.crt"), os.path.join(pki, "apiserver.key")
    if st.get("pkiSans") != san or not os.path.exists(crt):
        csr = os.path.join(pki, "apiserver.csr")
        _openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver"])
        ext = os.path.join(pki, "apiserver.ext")
        common.write_file(ext, "subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                          "keyUsage=critical,digitalSignature,keyEncipherment\n" % san)
        _openssl(["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                  "-out", crt, "-days", "3650", "-extfile", ext])
        st["pkiSans"] = san
    sa = os.path.join(pki, "sa.key")
    if not os.path.exists(sa):
        _openssl(["genrsa", "-out", sa, "2048"])
        _openssl(["rsa", "-in", sa, "-pubout", "-out", os.path.join(pki, "sa.pub")])
    for f in ("ca.key", "apiserver.key", "sa.key"):
        os.chmod(os.path.join(pki, f), 0o600)
    if not st.get("token"):
        st["token"] = secrets.token_hex(24)
    common.write_file(path("tokens.csv"), '%s,admin,admin,"system:masters"\n' % st["token"], 0o600)
    common.write_file(path("token"), st["token"] + "\n", 0o644)
    servers = {"kubeconfig": "https://%s:%d" % (hn["cp"], common.APISERVER_PORT),
               "kubeconfig-lan": "https://%s:%d" % (common.CP_LAN4, common.APISERVER_PORT),
               "kubeconfig-cp": "https://127.0.0.1:%d" % common.APISERVER_PORT}
    for name, server in servers.items():
        common.write_file(path(name), kubeconfig_text(server, ca_crt, st["token"]), 0o644)
    common.save_state(st)


def kubeconfig_text(server, ca_file, token):
    with open(ca_file, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    return ("apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: vipgress-lab\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n"
            "users:\n- name: admin\n  user:\n    token: %s\n"
            "contexts:\n- name: vipgress-lab\n  context:\n    cluster: vipgress-lab\n    user: admin\n"
            "current-context: vipgress-lab\n" % (server, ca_data, token))


# ---------------------------------------------------------------- REST client

class Api:
    """Minimal client for the lab apiserver (root namespace, through the vg-host veth)."""

    def __init__(self, st):
        self.base = "https://%s:%d" % (st["hostNet"]["cp"], common.APISERVER_PORT)
        self.token = st["token"]
        self.ctx = ssl.create_default_context(cafile=path("pki", "ca.crt"))

    def request(self, method, p, body=None, ctype="application/json", query=None, timeout=10):
        url = self.base + p + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def get(self, p, **kw):
        return self.request("GET", p, **kw)

    def must(self, method, p, body=None, ok=(200, 201), **kw):
        code, obj = self.request(method, p, body, **kw)
        if code not in ok:
            msg = obj.get("message") if isinstance(obj, dict) else obj
            raise LabError("%s %s -> %d: %s" % (method, p, code, msg))
        return obj

    def merge_patch(self, p, body):
        return self.must("PATCH", p, body, ctype="application/merge-patch+json")

    def readyz(self):
        code, _ = self.get("/readyz", timeout=3)
        return code == 200


# ---------------------------------------------------------------- control plane

def start_etcd(st):
    data = path("data", "etcd")
    os.makedirs(data, mode=0o700, exist_ok=True)
    procs.start(st, "etcd", "vg-cp", [
        "/usr/bin/etcd", "--name", "vg-cp", "--data-dir", data,
        "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "vg-cp=http://127.0.0.1:2380", "--initial-cluster-state", "new",
        "--listen-metrics-urls", "http://127.0.0.1:2381", "--quota-backend-bytes", str(2 << 30),
        "--snapshot-count", "10000", "--log-level", "warn", "--logger", "zap",
    ])


def start_apiserver(st):
    pki = path("pki")
    procs.start(st, "kube-apiserver", "vg-cp", [
        common.k8s_bin("kube-apiserver"),
        "--etcd-servers=http://127.0.0.1:2379",
        "--secure-port=%d" % common.APISERVER_PORT, "--bind-address=0.0.0.0",
        "--advertise-address=" + common.CP_LAN4,
        "--cert-dir=" + pki,
        "--tls-cert-file=" + os.path.join(pki, "apiserver.crt"),
        "--tls-private-key-file=" + os.path.join(pki, "apiserver.key"),
        "--client-ca-file=" + os.path.join(pki, "ca.crt"),
        "--service-cluster-ip-range=" + common.SERVICE_CIDRS,
        "--authorization-mode=RBAC",
        "--token-auth-file=" + path("tokens.csv"),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=" + os.path.join(pki, "sa.pub"),
        "--service-account-signing-key-file=" + os.path.join(pki, "sa.key"),
        "--allow-privileged=true",
        "--profiling=false",
        "--event-ttl=1h",
        "--v=1",
    ])


def start_kcm(st):
    pki = path("pki")
    procs.start(st, "kube-controller-manager", "vg-cp", [
        common.k8s_bin("kube-controller-manager"),
        "--kubeconfig=" + path("kubeconfig-cp"),
        "--controllers=*,-nodelifecycle",
        "--service-account-private-key-file=" + os.path.join(pki, "sa.key"),
        "--root-ca-file=" + os.path.join(pki, "ca.crt"),
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--profiling=false",
        "--v=1",
    ])


def wait_apiserver(st, timeout=120):
    api = Api(st)

    def ready():
        if not procs.alive(st, "kube-apiserver"):
            procs.check_running(st, "kube-apiserver")
        return api.readyz()

    common.wait_for("kube-apiserver /readyz", ready, timeout, 0.25)
    return api


# ---------------------------------------------------------------- Node objects

def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_nodes(api, n):
    H = common.hosts(n)
    for name in common.kube_node_names(n):
        h = H[name]
        code, obj = api.get("/api/v1/nodes/" + name)
        if code == 404:
            api.must("POST", "/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                      "kubernetes.io/arch": "amd64", "vipgress.dev/lab": "true",
                                                      "vipgress.dev/lab-segment": str(h.get("segment", 1))}},
                "spec": {"podCIDR": h["podCidr"], "podCIDRs": [h["podCidr"], h["podCidr6"]]},
            })
        elif code != 200:
            raise LabError("GET node %s -> %d" % (name, code))
        now = _now()
        api.merge_patch("/api/v1/nodes/%s/status" % name, {"status": {
            "addresses": [{"type": "InternalIP", "address": h["ipv4"]}, {"type": "InternalIP", "address": h["ipv6"]},
                          {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "vipgress lab node (no kubelet)",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": common.K8S_VERSION, "kubeProxyVersion": common.K8S_VERSION,
                         "operatingSystem": "linux", "architecture": "amd64", "containerRuntimeVersion": "none://0",
                         "kernelVersion": os.uname().release, "osImage": "vipgress lab netns",
                         "machineID": "", "systemUUID": "", "bootID": ""},
        }})
    # Nodes beyond n (from a larger earlier run) are not removed: `up` never shrinks a lab.


# ---------------------------------------------------------------- kube-proxy

PROXY_MODES = ("nftables", "iptables")


def proxy_mode(st, i):
    """The mode node i's kube-proxy runs in: nftables unless `lab kube-proxy` switched it."""
    return st.get("kubeProxyModes", {}).get(common.node_name(i), "nftables")


def start_kube_proxy(st, i):
    name = common.node_name(i)
    h = common.hosts(i)[name]
    procs.start(st, "kube-proxy-" + name, h["netns"], [
        common.k8s_bin("kube-proxy"),
        "--proxy-mode=" + proxy_mode(st, i),
        "--hostname-override=" + name,
        "--cluster-cidr=" + common.CLUSTER_CIDRS,
        "--kubeconfig=" + path("kubeconfig-lan"),
        "--bind-address=" + h["ipv4"],
        "--healthz-bind-address=0.0.0.0:10256",
        "--metrics-bind-address=127.0.0.1:10249",
        "--conntrack-max-per-core=0",
        "--conntrack-tcp-timeout-established=0",
        "--conntrack-tcp-timeout-close-wait=0",
        "--oom-score-adj=0",
        "--v=1",
    ])


def kube_proxy_ready(i, mode="nftables"):
    ns = "vg-node%d" % i
    if mode == "iptables":
        rules = common.ok(["ip", "netns", "exec", ns, "iptables", "-t", "nat", "-S", "KUBE-SERVICES"]) and \
            common.ok(["ip", "netns", "exec", ns, "ip6tables", "-t", "nat", "-S", "KUBE-SERVICES"])
    else:
        rules = common.ok(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "kube-proxy"])
    return rules and \
        common.ok(["ip", "netns", "exec", ns, "curl", "-sf", "-m", "2", "http://127.0.0.1:10256/healthz"])


def wait_kube_proxies(st, n, timeout=60):
    def ready():
        for i in range(1, n + 1):
            procs.check_running(st, "kube-proxy-node%d" % i)
        return all(kube_proxy_ready(i, proxy_mode(st, i)) for i in range(1, n + 1))

    common.wait_for("kube-proxy in every node (its rules + /healthz)", ready, timeout, 0.5)


def set_proxy_mode(st, i, mode, timeout=60):
    """Restart node i's kube-proxy in `mode`: stop the recorded process, let `kube-proxy --cleanup` remove
    the rules of every mode, start it again in the new one and wait until its rules and /healthz are there.
    Callers hold common.locked()."""
    if mode not in PROXY_MODES:
        raise LabError("kube-proxy mode must be one of %s, not %r" % ("/".join(PROXY_MODES), mode), 2)
    if mode == "iptables" and not common.ok(["iptables", "-V"]):
        raise LabError("kube-proxy --proxy-mode=iptables needs the iptables package: apt-get install iptables")
    name = common.node_name(i)
    ns = common.hosts(i)[name]["netns"]
    modes = st.setdefault("kubeProxyModes", {})
    before = st.setdefault("iptablesTablesBefore", {})
    if mode == "iptables" and name not in modes:
        before[name] = sorted(_iptables_tables(ns))
    procs.stop(st, "kube-proxy-" + name)
    common.nsrun(ns, [common.k8s_bin("kube-proxy"), "--cleanup"], check=False, timeout=60)
    if mode == "nftables":
        # `--cleanup` leaves KUBE-FIREWALL and the iptables-nft tables behind: drop what the episode made
        for fam, table in sorted(_iptables_tables(ns) - {tuple(t) for t in before.pop(name, [])}):
            common.nsrun(ns, ["nft", "delete", "table", fam, table], check=False)
        modes.pop(name, None)
    else:
        modes[name] = mode
    common.save_state(st)
    start_kube_proxy(st, i)
    common.wait_for("kube-proxy on %s in %s mode" % (name, mode),
                    lambda: procs.check_running(st, "kube-proxy-" + name) or kube_proxy_ready(i, mode),
                    timeout, 0.3)


IPTABLES_NFT_TABLES = {"filter", "nat", "mangle", "raw", "security"}


def _iptables_tables(ns):
    """(family, name) of the iptables-nft tables in a namespace."""
    out = common.nsrun(ns, ["nft", "-j", "list", "tables"], check=False)
    try:
        items = json.loads(out or "{}").get("nftables", [])
    except ValueError:
        return set()
    return {(t["table"]["family"], t["table"]["name"]) for t in items
            if "table" in t and t["table"]["family"] in ("ip", "ip6") and t["table"]["name"] in IPTABLES_NFT_TABLES}


def restore_proxy_modes(st, n):
    """`up` brings the standard lab back: every node's kube-proxy in nftables mode."""
    for i in range(1, n + 1):
        if proxy_mode(st, i) != "nftables":
            common.log("kube-proxy on node%d: back to nftables mode" % i)
            set_proxy_mode(st, i, "nftables")


def wait_default_sa(api, ns, timeout=30):
    common.wait_for("serviceaccount %s/default" % ns,
                    lambda: api.get("/api/v1/namespaces/%s/serviceaccounts/default" % ns)[0] == 200, timeout, 0.2)


def ensure_namespace(api, ns):
    code, obj = api.get("/api/v1/namespaces/" + ns)
    if code == 200 and obj.get("status", {}).get("phase") == "Terminating":
        common.wait_for("namespace %s to finish terminating" % ns,
                        lambda: api.get("/api/v1/namespaces/" + ns)[0] == 404, 60, 0.25)
        code = 404
    if code == 404:
        code, obj = api.request("POST", "/api/v1/namespaces",
                                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        if code not in (200, 201, 409):
            raise LabError("create namespace %s -> %d: %s" % (ns, code, obj))
    wait_default_sa(api, ns)

