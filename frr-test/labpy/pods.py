"""Pod slots: a Pod object bound to a pre-built pod namespace (vg-node<i>-p<j>).

There is no kubelet: `pod create` creates the Pod with spec.nodeName and patches its
status (Running, Ready, podIP(s) = the slot's addresses), so kube-controller-manager
maintains real EndpointSlices for it. The slot -> pod mapping is st["slots"].
"""

import datetime

from . import common, kube, procs
from .common import LabError

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


def parse_ref(ref):
    if ref.count("/") != 1 or not all(ref.split("/")):
        raise LabError("expected NAMESPACE/NAME, got %r" % ref, 2)
    return ref.split("/")


def parse_labels(s):
    labels = {}
    for kv in (s or "").split(","):
        if not kv.strip():
            continue
        if "=" not in kv:
            raise LabError("bad label %r (want k=v)" % kv, 2)
        k, v = kv.split("=", 1)
        labels[k.strip()] = v.strip()
    return labels


def slot_of(st, ref):
    for slot, pod in st.get("slots", {}).items():
        if pod == ref:
            return slot
    return None


def node_slots(st, node):
    return common.slots_of(node)


def _pending(st, slot):
    """True while another `pod create` that reserved this slot is still running."""
    rec = st.get("slotPending", {}).get(slot)
    return bool(rec) and procs.rec_alive(rec)


def _free_gone(st, api, node):
    """Release slots whose Pod no longer exists (deleted with kubectl instead of `pod delete`)."""
    for slot in node_slots(st, node):
        ref = st["slots"].get(slot)
        if ref and not _pending(st, slot):
            ns, name = ref.split("/")
            code, _ = api.get("/api/v1/namespaces/%s/pods/%s" % (ns, name))
            if code == 404:
                st["slots"][slot] = None


def free_gone_slots(api):
    """Releases every slot whose Pod no longer exists (its namespace deleted, or the Pod deleted with
    kubectl): a benchmark that counts free slots must not trip over what an earlier run left."""
    with common.locked():
        st = common.require_state()
        for node in common.kube_node_names(st["nodes"]):
            _free_gone(st, api, node)
        common.save_state(st)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def create(ref, node, labels):
    ns, name = parse_ref(ref)
    st = common.require_state()
    if node not in common.kube_node_names(st["nodes"]):
        raise LabError("unknown node %r (lab has node1..node%d, %s)" % (node, st["nodes"],
                                                                    ", ".join(common.far_names())), 2)
    api = kube.Api(st)
    with common.locked():
        st = common.require_state()
        st.setdefault("slots", {})
        have = slot_of(st, ref)
        if have:
            s = common.slots(st["nodes"])[have]
            if s["node"] != node:
                raise LabError("pod %s exists already on %s (slot %s)" % (ref, s["node"], have))
            code, _ = api.get("/api/v1/namespaces/%s/pods/%s" % (ns, name))
            if code == 200:
                print(s["ipv4"])
                return 0
            st["slots"][have] = None
        free = [sl for sl in node_slots(st, node) if not st["slots"].get(sl)]
        if not free:
            _free_gone(st, api, node)
            free = [sl for sl in node_slots(st, node) if not st["slots"].get(sl)]
        if not free:
            raise LabError("no free pod slot on %s (slots: %s)" % (
                node, ", ".join("%s=%s" % (sl, st["slots"].get(sl)) for sl in node_slots(st, node))))
        slot = free[0]
        st["slots"][slot] = ref          # reserve, then talk to the apiserver without the lock
        st.setdefault("slotPending", {})[slot] = procs.self_rec()
        common.save_state(st)
    s = common.slots(st["nodes"])[slot]
    h = common.hosts(st["nodes"])[node]
    try:
        kube.ensure_namespace(api, ns)
        code, obj = api.request("POST", "/api/v1/namespaces/%s/pods" % ns, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels,
                         "annotations": {"vipgress.dev/lab-slot": slot, "vipgress.dev/lab-netns": s["netns"]}},
            "spec": {"nodeName": node, "automountServiceAccountToken": False, "enableServiceLinks": False,
                     "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": PAUSE_IMAGE}]},
        })
        if code == 409:
            raise LabError("pod %s exists already in the apiserver but not in a lab slot; delete it first" % ref)
        if code not in (200, 201):
            raise LabError("create pod %s -> %d: %s" % (ref, code, obj.get("message") if isinstance(obj, dict) else obj))
        now = _now()
        conds = [{"type": t, "status": "True", "lastTransitionTime": now}
                 for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
        api.merge_patch("/api/v1/namespaces/%s/pods/%s/status" % (ns, name), {"status": {
            "phase": "Running", "conditions": conds,
            "podIP": s["ipv4"], "podIPs": [{"ip": s["ipv4"]}, {"ip": s["ipv6"]}],
            "hostIP": h["ipv4"], "hostIPs": [{"ip": h["ipv4"]}, {"ip": h["ipv6"]}],
            "startTime": now, "qosClass": "BestEffort",
            "containerStatuses": [{"name": "app", "image": PAUSE_IMAGE, "imageID": "", "ready": True,
                                   "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": now}}}],
        }})
    except BaseException:
        with common.locked():
            st = common.require_state()
            if st["slots"].get(slot) == ref:
                st["slots"][slot] = None
            st.get("slotPending", {}).pop(slot, None)
            common.save_state(st)
        raise
    with common.locked():
        st = common.require_state()
        st.get("slotPending", {}).pop(slot, None)
        common.save_state(st)
    print(s["ipv4"])
    return 0


def delete(ref):
    ns, name = parse_ref(ref)
    st = common.require_state()
    api = kube.Api(st)
    code, obj = api.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ns, name), {"gracePeriodSeconds": 0})
    if code not in (200, 202, 404):
        raise LabError("delete pod %s -> %d: %s" % (ref, code, obj.get("message") if isinstance(obj, dict) else obj))
    with common.locked():
        st = common.require_state()
        slot = slot_of(st, ref)
        if slot:
            st["slots"][slot] = None
            common.save_state(st)
    if code == 404 and not slot:
        raise LabError("no pod %s" % ref)
    return 0


def netns_of(st, ref):
    slot = slot_of(st, ref)
    if not slot:
        raise LabError("pod %s is not in a lab slot (create it with: lab pod create %s --node NODE)" % (ref, ref), 2)
    return common.slots(st["nodes"])[slot]["netns"]
