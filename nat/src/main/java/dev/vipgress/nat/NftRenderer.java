package dev.vipgress.nat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders nft scripts: the table's structure, and the element changes that turn one {@link
 * TableState} into another. Pure: the caller supplies the heartbeat's lifetime.
 *
 * <p>Design (see datapath.md): one {@code inet} table so a dual-stack change is one transaction and
 * one set of chains; no per-VIP or per-pod rules, only set and map elements change.
 *
 * <p>Expiry: the {@code alive} set holds one element per family ({@code meta nfproto}, which only
 * an {@code inet} table can match) whose timeout is the earliest deadline of the live owned VIPs.
 * When it lapses every VIP of the node is fenced; re-arming it is three element operations per
 * family whatever the number of VIPs. A VIP past its own deadline leaves {@code ownedN} (and stays
 * in {@code vipsN}, fenced) at the next transaction.
 *
 * <ul>
 *   <li>{@code prerouting} (filter, mangle priority): the fence for VIPs past their deadline
 *       ({@code vipsN} but not {@code ownedN}, or the {@code alive} heartbeat lapsed); the guard
 *       against packets a stale owner already SNATed; steering of local backend pods by fwmark.
 *   <li>{@code guard} (filter, dstnat + 1, after kube-proxy's DNAT so LoadBalancer ingress to the
 *       VIP passes): drops original-direction packets still addressed to an owned VIP, so a
 *       retransmission from the remote end cannot create a clashing conntrack entry.
 *   <li>{@code steer_snat} (nat, srcnat - 20): identity SNAT of steered packets, which binds before
 *       a CNI masquerade can rewrite them to the node IP.
 *   <li>{@code egress_snat} (nat, srcnat - 10): backend pod → VIP.
 *   <li>{@code postrouting} (filter, srcnat + 10): drops packets SNATed to a VIP past its deadline;
 *       packets of a local egress backend ({@code backendsN}, whatever its VIP's ownership) about
 *       to leave for a destination its VIP would SNAT neither SNATed to a VIP nor steered (fail
 *       closed: no owner, a lapsed heartbeat, a frozen or exited daemon, a CNI masquerade); and
 *       packets of pods of other nodes (cluster source, arriving through an uplink or the tunnel)
 *       that would leave for outside the cluster unchanged — what another node steers here before
 *       this node SNATs it (a takeover in progress) or after it stopped (a release it has not heard
 *       of) is dropped, never forwarded with the pod IP.
 *   <li>{@code forward} (filter): clamps the MSS of TCP handshakes of local pods steered through
 *       the VXLAN tunnel (both the pod's SYN and the SYN-ACK to it: the pod's segments must fit the
 *       tunnel's MTU even where ICMP "fragmentation needed" never reaches it).
 * </ul>
 */
public final class NftRenderer {
  /** Bump when the structure changes. */
  static final String VERSION = "vipgress-nat/6";

  private final NatConfig config;

  public NftRenderer(NatConfig config) {
    this.config = config;
  }

  private String t() {
    return "inet " + config.table();
  }

  /**
   * Identifies this structure (version and switches); the comment of the first rule, because nft
   * 1.0.6 does not print table comments in JSON.
   */
  public String fingerprint() {
    return VERSION
        + " mask=0x"
        + Integer.toHexString(config.fwmarkMask())
        + " guard="
        + config.guard()
        + (config.vxlan()
            ? " vxlan=" + config.vxlanDevice() + " mss=" + (config.mssClamp() ? "clamp" : "off")
            : "");
  }

  /**
   * Creates the table, its sets, maps and chains if missing and (re)writes every chain's rules.
   * Idempotent; keeps existing elements.
   */
  public List<String> structure() {
    String t = t();
    String mask = String.format("0x%08x", config.fwmarkMask());
    List<String> l = new ArrayList<>();
    l.add("add table " + t);
    for (Family f : Family.values()) {
      String s = f.suffix;
      String ty = f.nftType;
      l.add("add set " + t + " cluster" + s + " { type " + ty + "; flags interval; }");
      l.add("add set " + t + " vips" + s + " { type " + ty + "; }");
      l.add("add set " + t + " owned" + s + " { type " + ty + "; }");
      l.add("add map " + t + " snat" + s + " { type " + ty + " : " + ty + "; }");
      l.add(
          "add map "
              + t
              + " snat"
              + s
              + "s { type "
              + ty
              + " . "
              + ty
              + " : "
              + ty
              + "; flags interval; }");
      l.add("add map " + t + " steer" + s + " { type " + ty + " : mark; }");
      l.add(
          "add map "
              + t
              + " steer"
              + s
              + "s { type "
              + ty
              + " . "
              + ty
              + " : mark; flags interval; }");
      l.add("add set " + t + " tunnel" + s + " { type " + ty + "; }");
      l.add("add set " + t + " backends" + s + " { type " + ty + "; }");
      l.add(
          "add set " + t + " backends" + s + "s { type " + ty + " . " + ty + "; flags interval; }");
    }
    l.add("add set " + t + " alive { typeof meta nfproto; flags timeout; }");
    chain(l, "prerouting", "filter", "prerouting", "mangle");
    chain(l, "guard", "filter", "prerouting", "dstnat + 1");
    chain(l, "steer_snat", "nat", "postrouting", "srcnat - 20");
    chain(l, "egress_snat", "nat", "postrouting", "srcnat - 10");
    chain(l, "postrouting", "filter", "postrouting", "srcnat + 10");
    chain(l, "forward", "filter", "forward", "filter");
    for (Family f : Family.values()) {
      String p = f.nftProto;
      String s = f.suffix;
      rule(
          l,
          "prerouting",
          p + " daddr @vips" + s + " " + p + " daddr != @owned" + s + " drop",
          f == Family.V4 ? "fence; " + fingerprint() : "fence");
      rule(
          l,
          "prerouting",
          p + " daddr @vips" + s + " meta nfproto != @alive drop",
          "fence: heartbeat lapsed");
    }
    if (config.guard()) {
      for (Family f : Family.values()) {
        rule(
            l,
            "prerouting",
            f.nftProto + " saddr @owned" + f.suffix + " drop",
            "guard: SNATed by a stale owner");
      }
    }
    for (Family f : Family.values()) {
      rule(l, "prerouting", f.nftProto + " daddr @cluster" + f.suffix + " return", null);
    }
    for (Family f : Family.values()) {
      String p = f.nftProto;
      String s = f.suffix;
      rule(
          l,
          "prerouting",
          "meta mark set " + p + " saddr . " + p + " daddr map @steer" + s + "s",
          "steer");
      rule(l, "prerouting", "meta mark set " + p + " saddr map @steer" + s, "steer");
    }
    if (config.guard()) {
      for (Family f : Family.values()) {
        rule(
            l,
            "guard",
            "ct direction original " + f.nftProto + " daddr @owned" + f.suffix + " drop",
            "guard: no binding for an owned VIP");
      }
    }
    for (Family f : Family.values()) {
      rule(
          l,
          "steer_snat",
          "meta mark & "
              + mask
              + " != 0 meta nfproto "
              + f.name
              + " snat "
              + f.nftProto
              + " to "
              + f.nftProto
              + " saddr",
          "identity SNAT for steered packets");
    }
    for (Family f : Family.values()) {
      rule(l, "egress_snat", f.nftProto + " daddr @cluster" + f.suffix + " return", null);
    }
    for (Family f : Family.values()) {
      String p = f.nftProto;
      String s = f.suffix;
      rule(
          l,
          "egress_snat",
          "snat " + p + " to " + p + " saddr . " + p + " daddr map @snat" + s + "s",
          null);
      rule(l, "egress_snat", "snat " + p + " to " + p + " saddr map @snat" + s, null);
    }
    for (Family f : Family.values()) {
      String p = f.nftProto;
      String s = f.suffix;
      rule(
          l,
          "postrouting",
          p + " saddr @vips" + s + " " + p + " saddr != @owned" + s + " drop",
          "fence");
      rule(
          l,
          "postrouting",
          p + " saddr @vips" + s + " meta nfproto != @alive drop",
          "fence: heartbeat lapsed");
    }
    for (Family f : Family.values()) {
      String p = f.nftProto;
      String s = f.suffix;
      // the original source (conntrack), so a CNI masquerade that ran before us cannot hide it;
      // SNATed here means the VIP is the source now (the fence rules above judge it); the original
      // destination too: a connection the pod addressed to a Service IP (kube-proxy DNATed it to
      // an endpoint outside the cluster ranges, the apiserver for one) is Service traffic
      String unchanged =
          "ct original "
              + p
              + " daddr != @cluster"
              + s
              + " "
              + p
              + " saddr != @vips"
              + s
              + " meta mark & "
              + mask
              + " == 0 drop";
      rule(
          l,
          "postrouting",
          "ct direction original ct original " + p + " saddr @backends" + s + " " + unchanged,
          "fail closed: a local egress backend leaves SNATed or steered, never as itself");
      rule(
          l,
          "postrouting",
          "ct direction original ct original "
              + p
              + " saddr . "
              + p
              + " daddr @backends"
              + s
              + "s "
              + unchanged,
          "fail closed: a local egress backend leaves SNATed or steered, never as itself");
    }
    if (config.vxlan() && config.mssClamp()) {
      for (Family f : Family.values()) {
        String p = f.nftProto;
        int mss = config.tunnelMss(f);
        for (String dir : List.of("saddr", "daddr")) {
          rule(
              l,
              "forward",
              p
                  + " "
                  + dir
                  + " @tunnel"
                  + f.suffix
                  + " tcp flags & (syn | rst) == syn tcp option maxseg size > "
                  + mss
                  + " tcp option maxseg size set "
                  + mss,
              dir.equals("saddr")
                  ? "MSS clamp: SYN of a pod steered through the tunnel"
                  : "MSS clamp: SYN-ACK to a pod steered through the tunnel");
        }
      }
    }
    List<String> ingress = new ArrayList<>(config.uplinks());
    if (config.vxlan()) {
      ingress.add(config.vxlanDevice());
    }
    if (!config.uplinks().isEmpty()) {
      String uplinks =
          ingress.stream()
              .map(u -> "\"" + u + "\"")
              .collect(java.util.stream.Collectors.joining(", ", "{ ", " }"));
      for (Family f : Family.values()) {
        String p = f.nftProto;
        String s = f.suffix;
        rule(
            l,
            "postrouting",
            "ct direction original iifname "
                + uplinks
                + " "
                + p
                + " saddr @cluster"
                + s
                + " "
                + p
                + " daddr != @cluster"
                + s
                + " drop",
            "fail closed: a pod of another node never leaves here with its own IP");
      }
    }
    return l;
  }

  private void chain(List<String> l, String name, String type, String hook, String prio) {
    l.add(
        "add chain "
            + t()
            + " "
            + name
            + " { type "
            + type
            + " hook "
            + hook
            + " priority "
            + prio
            + "; policy accept; }");
    l.add("flush chain " + t() + " " + name);
  }

  private void rule(List<String> l, String chain, String body, String comment) {
    l.add(
        "add rule "
            + t()
            + " "
            + chain
            + " "
            + body
            + (comment == null ? "" : " comment \"" + comment + "\""));
  }

  /**
   * The element changes from {@code current} to {@code desired}. The heartbeat is not here: it is
   * its own small transaction ({@link #heartbeat}), whose expiry is computed right before it is
   * committed, never before a large element transaction.
   */
  public List<String> elements(TableState current, TableState desired) {
    return elements(ElementChanges.between(current, desired));
  }

  /** The element operations of {@code c}: every deletion first, then every addition. */
  List<String> elements(ElementChanges c) {
    List<String> l = new ArrayList<>();
    // deletions first: a changed interval key must leave before an overlapping one arrives
    for (String name : TableState.TRACKED) {
      chunked(l, "delete element " + t() + " " + name, c.deleted(name));
    }
    for (String name : TableState.TRACKED) {
      Map<String, String> add = c.added(name);
      if (add.isEmpty()) {
        continue;
      }
      List<String> items = new ArrayList<>();
      for (String k : TableState.sorted(add.keySet())) {
        items.add(element(Map.entry(k, add.get(k))));
      }
      chunked(l, "add element " + t() + " " + name, items);
    }
    return l;
  }

  private static String element(Map.Entry<String, String> e) {
    return e.getValue().isEmpty() ? e.getKey() : e.getKey() + " : " + e.getValue();
  }

  /**
   * Re-arms the heartbeat: each family's element is added (a no-op if present), deleted, and
   * re-added with the new timeout — one transaction, so a live heartbeat never lapses, and O(1)
   * however many VIPs the node owns. VIPs past their own deadline ({@code leave}) leave the {@code
   * owned} sets in the same transaction; VIPs live again ({@code join}) return to them.
   *
   * @param ms how long the owned VIPs stay live without another heartbeat; {@code <= 0} leaves the
   *     heartbeat absent (every VIP in {@code vipsN} fenced)
   */
  public List<String> heartbeat(
      long ms, java.util.Collection<String> leave, java.util.Collection<String> join) {
    List<String> l = new ArrayList<>();
    for (Family f : Family.values()) {
      chunked(l, "delete element " + t() + " owned" + f.suffix, ofFamily(leave, f));
    }
    for (Family f : Family.values()) {
      chunked(l, "add element " + t() + " owned" + f.suffix, ofFamily(join, f));
    }
    l.addAll(heartbeat(ms));
    return l;
  }

  private static List<String> ofFamily(java.util.Collection<String> vips, Family f) {
    return vips.stream().filter(v -> (v.indexOf(':') >= 0) == (f == Family.V6)).toList();
  }

  /** The heartbeat alone. */
  public List<String> heartbeat(long ms) {
    List<String> l = new ArrayList<>();
    for (Family f : Family.values()) {
      l.add("add element " + t() + " alive { " + f.name + " }");
      l.add("delete element " + t() + " alive { " + f.name + " }");
      if (ms > 0) {
        l.add("add element " + t() + " alive { " + f.name + " timeout " + ms + "ms }");
      }
    }
    return l;
  }

  /** The pod addresses in a map and its scoped twin. */
  static Set<String> pods(TableState t, String map) {
    Set<String> s = new java.util.HashSet<>(t.get(map).keySet());
    for (String k : t.get(map + "s").keySet()) {
      s.add(k.substring(0, k.indexOf(' ')));
    }
    return s;
  }

  /** Removes the whole table. */
  public List<String> delete() {
    return List.of("delete table " + t());
  }

  private static void chunked(List<String> l, String head, List<String> items) {
    for (int i = 0; i < items.size(); i += 1000) {
      l.add(
          head
              + " { "
              + String.join(", ", items.subList(i, Math.min(items.size(), i + 1000)))
              + " }");
    }
  }

  /** Chain → number of rules {@link #structure()} puts in it. */
  public Map<String, Integer> ruleCounts() {
    Map<String, Integer> m = new java.util.TreeMap<>();
    String prefix = "add rule " + t() + " ";
    for (String line : structure()) {
      if (line.startsWith("add chain " + t() + " ")) {
        m.putIfAbsent(line.substring(("add chain " + t() + " ").length()).split(" ")[0], 0);
      }
      if (line.startsWith(prefix)) {
        m.merge(line.substring(prefix.length()).split(" ")[0], 1, Integer::sum);
      }
    }
    return m;
  }
}
