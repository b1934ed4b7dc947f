package dev.vipgress.speaker.model;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.Cidr;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** Pure: cluster view → the VIPs to announce and the Services' problems. */
public final class Planner {
  private Planner() {}

  /**
   * @param clusterRanges ranges a VIP must not fall into (pod CIDRs, service CIDR)
   * @param supportedModes modes this build can announce (others are reported, not announced)
   */
  public static Plan plan(
      ClusterView view, Collection<Cidr> clusterRanges, Set<Mode> supportedModes) {
    List<Problem> problems = new ArrayList<>();
    Map<InetAddress, List<ServiceInfo>> byVip = new LinkedHashMap<>();
    Map<InetAddress, Mode> modeOf = new HashMap<>();

    // Oldest first: of Services that disagree on a shared VIP's mode the older one keeps the VIP
    // and only the newcomer is refused (a bad Service costs only itself).
    for (ServiceInfo s :
        view.services().values().stream()
            .sorted(Comparator.comparing(ServiceInfo::created).thenComparing(ServiceInfo::key))
            .toList()) {
      String announce = s.labels().get(Labels.ANNOUNCE);
      boolean egress = "true".equals(s.labels().get(Labels.EGRESS));
      if (announce == null) {
        if (egress) {
          problems.add(
              new Problem(
                  s.key(),
                  "EgressWithoutAnnounce",
                  "label "
                      + Labels.EGRESS
                      + "=true needs "
                      + Labels.ANNOUNCE
                      + " (l2 or bgp): the VIP owner must receive the replies; add the announce label"));
        }
        continue;
      }
      Optional<Mode> mode = Mode.fromLabel(announce);
      if (mode.isEmpty()) {
        problems.add(
            new Problem(
                s.key(),
                "InvalidAnnounceLabel",
                "label " + Labels.ANNOUNCE + "=" + announce + " is not one of l2, bgp"));
        continue;
      }
      if (!supportedModes.contains(mode.get())) {
        problems.add(
            new Problem(
                s.key(),
                "ModeUnavailable",
                "announce mode " + announce + " is not available in this speaker; use l2"));
        continue;
      }
      if (!"LoadBalancer".equals(s.type())) {
        problems.add(
            new Problem(
                s.key(),
                "NotLoadBalancer",
                "Service type is " + s.type() + "; vipgress announces LoadBalancer Services only"));
        continue;
      }
      if (s.ingressIps().isEmpty()) {
        problems.add(
            new Problem(
                s.key(),
                "VipPending",
                "no status.loadBalancer.ingress IP yet; waiting for the IPAM to assign one"));
        continue;
      }
      for (String raw : s.ingressIps()) {
        Optional<InetAddress> ip = IpLiteral.parse(raw);
        if (ip.isEmpty()) {
          problems.add(
              new Problem(
                  s.key(),
                  "InvalidVip",
                  "status.loadBalancer.ingress ip '" + raw + "' is not an IP address"));
          continue;
        }
        InetAddress vip = ip.get();
        if (vip.isAnyLocalAddress()
            || vip.isLoopbackAddress()
            || vip.isMulticastAddress()
            || vip.isLinkLocalAddress()) {
          problems.add(
              new Problem(
                  s.key(),
                  "InvalidVip",
                  "VIP " + raw + " is not a unicast address usable on a LAN"));
          continue;
        }
        Optional<Cidr> inside = clusterRanges.stream().filter(c -> c.contains(vip)).findFirst();
        if (inside.isPresent()) {
          problems.add(
              new Problem(
                  s.key(),
                  "VipInClusterRange",
                  "VIP "
                      + raw
                      + " lies inside cluster range "
                      + inside.get()
                      + "; pick an address outside the cluster ranges"));
          continue;
        }
        Mode prev = modeOf.putIfAbsent(vip, mode.get());
        if (prev != null && prev != mode.get()) {
          problems.add(
              new Problem(
                  s.key(),
                  "VipModeConflict",
                  "VIP "
                      + Addresses.format(vip)
                      + " is announced by older Services in mode "
                      + prev.label()
                      + "; this Service asks for "
                      + announce
                      + " and is ignored for it until the modes agree"));
          continue;
        }
        byVip.computeIfAbsent(vip, k -> new ArrayList<>()).add(s);
      }
    }

    Map<InetAddress, VipSpec> vips = new LinkedHashMap<>();
    for (var e : byVip.entrySet()) {
      InetAddress vip = e.getKey();
      boolean egress = false;
      TreeSet<ServiceKey> keys = new TreeSet<>();
      Set<Backend> backends = new HashSet<>();
      for (ServiceInfo s : e.getValue()) {
        keys.add(s.key());
        if ("true".equals(s.labels().get(Labels.EGRESS))) {
          egress = true;
          for (EndpointInfo ep : view.endpoints().getOrDefault(s.key(), List.of())) {
            IpLiteral.parse(ep.ip())
                .filter(a -> a.getClass() == vip.getClass())
                .ifPresent(a -> backends.add(new Backend(a, ep.nodeName())));
          }
        }
      }
      vips.put(vip, new VipSpec(vip, modeOf.get(vip), egress, keys, backends));
    }
    return new Plan(vips, problems);
  }

  /** Whether the node has an address of the VIP's family (it can then announce it). */
  public static boolean sameFamily(InetAddress vip, Collection<InetAddress> nodeAddresses) {
    boolean v6 = vip instanceof Inet6Address;
    return nodeAddresses.stream().anyMatch(a -> (a instanceof Inet6Address) == v6);
  }
}
