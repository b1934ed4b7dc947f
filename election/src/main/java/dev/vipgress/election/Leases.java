package dev.vipgress.election;

import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The two kinds of vipgress Lease, their labels and annotations, and small accessors. Lease objects
 * from the API are never changed in place: writes start from {@link #copy}.
 *
 * <ul>
 *   <li>VIP Lease {@code vip-<address>} ({@link VipAddress#leaseName()}): {@code
 *       spec.holderIdentity} = holder node (empty once released), annotation {@value #INCARNATION}
 *       = the incarnation of the holder's liveness Lease it was taken under.
 *   <li>Node liveness Lease {@code node-<node>}: {@code spec.holderIdentity} = the node, renewed
 *       every renew interval; annotations {@value #INCARNATION} (random per process start and per
 *       bulk release), {@value #ELIGIBLE}, {@value #STATE}, {@value #DURATION_MS}, {@value
 *       #CANDIDACY}, {@value #FENCED_BY} once a peer fenced it, and {@value #HANDOFF}: who inherits
 *       the VIPs of each ended incarnation ({@link Handoffs}). A released VIP Lease names the node
 *       that let it go in {@value #RELEASED_BY} (placement skips that node).
 * </ul>
 */
public final class Leases {
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String MANAGED_BY_VALUE = "vipgress";
  static final String SELECTOR = MANAGED_BY + "=" + MANAGED_BY_VALUE;
  static final String KIND = "vipgress.dev/lease-kind";
  static final String KIND_VIP = "vip";
  static final String KIND_NODE = "node";

  static final String VIP = "vipgress.dev/vip";
  static final String NODE = "vipgress.dev/node";
  static final String INCARNATION = "vipgress.dev/incarnation";
  static final String ELIGIBLE = "vipgress.dev/eligible";
  static final String STATE = "vipgress.dev/state";
  static final String STATE_RUNNING = "running";
  static final String STATE_STOPPED = "stopped";
  static final String DURATION_MS = "vipgress.dev/lease-duration-ms";
  static final String CANDIDACY = "vipgress.dev/candidacy";
  static final String FENCED_BY = "vipgress.dev/fenced-by";
  static final String RELEASED_BY = "vipgress.dev/released-by";
  static final String HANDOFF = "vipgress.dev/handoff";

  /**
   * The protocol version of the elector that wrote a Lease (absent: 1, the rules before it was
   * written). Electors of different versions might place, hand off or resolve by different rules,
   * so an elector never places a VIP onto, takes a VIP from, fences, names as heir or genesis
   * member, or collects a node whose liveness Lease carries another version, and ignores a genesis
   * Lease of another version: in a mixed cluster (a rolling upgrade) each version only moves VIPs
   * among its own nodes, and a VIP held by a node of another version stays with it until that node
   * restarts under this version. A version bump is needed whenever placement, handoff, genesis or
   * fencing rules change.
   */
  static final String PROTOCOL = "vipgress.dev/protocol";

  static final String PROTOCOL_VERSION = "1";

  static final String NODE_PREFIX = "node-";
  private static final int MAX_NAME = 253;

  private Leases() {}

  static String nodeLeaseName(String node) {
    String name = NODE_PREFIX + node;
    if (name.length() <= MAX_NAME) {
      return name;
    }
    String hash = sha256Hex(node).substring(0, 16);
    return name.substring(0, MAX_NAME - 17) + "-" + hash;
  }

  static boolean isNodeLease(V1Lease l) {
    return KIND_NODE.equals(label(l, KIND))
        || (label(l, KIND) == null && name(l).startsWith(NODE_PREFIX));
  }

  static boolean isVipLease(V1Lease l) {
    return KIND_VIP.equals(label(l, KIND))
        || (label(l, KIND) == null && name(l).startsWith(VipAddress.LEASE_PREFIX));
  }

  /** The VIP of a VIP Lease, from its name (the annotation is for people); null if malformed. */
  static VipAddress vipOf(V1Lease l) {
    return VipAddress.fromLeaseName(name(l));
  }

  /** The node of a node liveness Lease. */
  static String nodeOf(V1Lease l) {
    String n = annotation(l, NODE);
    if (n != null && !n.isEmpty()) {
      return n;
    }
    String h = holder(l);
    return h.isEmpty() ? name(l).substring(NODE_PREFIX.length()) : h;
  }

  static String name(V1Lease l) {
    return l.getMetadata() == null || l.getMetadata().getName() == null
        ? ""
        : l.getMetadata().getName();
  }

  static String holder(V1Lease l) {
    String h = l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
    return h == null ? "" : h;
  }

  static String annotation(V1Lease l, String key) {
    Map<String, String> a = l.getMetadata() == null ? null : l.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  static String label(V1Lease l, String key) {
    Map<String, String> a = l.getMetadata() == null ? null : l.getMetadata().getLabels();
    return a == null ? null : a.get(key);
  }

  /** Whether {@code l} was written under this elector's protocol version (absent counts as 1). */
  static boolean sameProtocol(V1Lease l) {
    String p = annotation(l, PROTOCOL);
    return p == null || PROTOCOL_VERSION.equals(p);
  }

  static String uid(V1Lease l) {
    return l.getMetadata() == null ? null : l.getMetadata().getUid();
  }

  static String resourceVersion(V1Lease l) {
    return l.getMetadata() == null ? null : l.getMetadata().getResourceVersion();
  }

  /**
   * A deep copy of {@code l} (metadata, labels, annotations and spec), as the API server returns.
   */
  public static V1Lease copy(V1Lease l) {
    V1ObjectMeta m = l.getMetadata() == null ? new V1ObjectMeta() : l.getMetadata();
    V1ObjectMeta meta =
        new V1ObjectMeta()
            .name(m.getName())
            .namespace(m.getNamespace())
            .resourceVersion(m.getResourceVersion())
            .uid(m.getUid())
            .labels(m.getLabels() == null ? new HashMap<>() : new HashMap<>(m.getLabels()))
            .annotations(
                m.getAnnotations() == null ? new HashMap<>() : new HashMap<>(m.getAnnotations()))
            .ownerReferences(m.getOwnerReferences())
            .finalizers(m.getFinalizers());
    V1LeaseSpec s = l.getSpec() == null ? new V1LeaseSpec() : l.getSpec();
    V1LeaseSpec spec =
        new V1LeaseSpec()
            .holderIdentity(s.getHolderIdentity())
            .leaseDurationSeconds(s.getLeaseDurationSeconds())
            .acquireTime(s.getAcquireTime())
            .renewTime(s.getRenewTime())
            .leaseTransitions(s.getLeaseTransitions())
            .preferredHolder(s.getPreferredHolder())
            .strategy(s.getStrategy());
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(meta)
        .spec(spec);
  }

  static V1Lease newLease(String namespace, String name, String kind) {
    Map<String, String> labels = new HashMap<>();
    labels.put(MANAGED_BY, MANAGED_BY_VALUE);
    labels.put(KIND, kind);
    Map<String, String> annotations = new HashMap<>();
    annotations.put(PROTOCOL, PROTOCOL_VERSION);
    return new V1Lease()
        .apiVersion("coordination.k8s.io/v1")
        .kind("Lease")
        .metadata(
            new V1ObjectMeta()
                .name(name)
                .namespace(namespace)
                .labels(labels)
                .annotations(annotations))
        .spec(new V1LeaseSpec());
  }

  static String sha256Hex(String s) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
