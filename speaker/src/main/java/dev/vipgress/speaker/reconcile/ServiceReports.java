package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.Addresses;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.Problem;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.MDC;

/**
 * What the reconciler tells operators on the Services (Events, the owner annotation), and what it
 * told already so a steady state repeats nothing. Confined to the reconcile loop.
 */
final class ServiceReports {
  private final String self;
  private final Reporter reporter;
  private final Map<InetAddress, Set<ServiceKey>> told = new HashMap<>();

  /** Services whose owner annotation this node wrote, for VIPs it still announces. */
  private final Set<ServiceKey> annotated = new HashSet<>();

  private Set<ServiceKey> known = Set.of();

  ServiceReports(String self, Reporter reporter) {
    this.self = self;
    this.reporter = reporter;
  }

  /** Forgets what was reported about Services that are gone. */
  void servicesNow(Set<ServiceKey> services) {
    for (ServiceKey gone : known) {
      if (!services.contains(gone)) {
        reporter.forget(gone);
      }
    }
    known = Set.copyOf(services);
    annotated.retainAll(known);
  }

  void problems(Collection<Problem> problems) {
    for (Problem p : problems) {
      MDC.put("service", p.service().toString());
      try {
        reporter.event(p.service(), true, p.reason(), p.message());
      } finally {
        MDC.remove("service");
      }
    }
  }

  void noAddressFamily(VipSpec s) {
    for (ServiceKey k : s.services()) {
      reporter.event(
          k,
          true,
          "NoAddressFamily",
          "node "
              + self
              + " has no "
              + (s.vip() instanceof Inet6Address ? "IPv6" : "IPv4")
              + " address to announce VIP "
              + s.text()
              + " on; it will not compete for it");
    }
  }

  void notOnSegment(VipSpec s, Object subnets) {
    for (ServiceKey k : s.services()) {
      reporter.event(
          k,
          false,
          "NotOnSegment",
          "node "
              + self
              + " does not compete for L2 VIP "
              + s.text()
              + ": it is in no subnet of the node's announcing interface "
              + subnets
              + ", so its ARP/NDP answers would reach nobody");
    }
  }

  void withdrawn(InetAddress vip, VipSpec was) {
    for (ServiceKey k : was == null ? List.<ServiceKey>of() : was.services()) {
      reporter.event(
          k,
          false,
          "VipWithdrawn",
          "node " + self + " stopped announcing " + Addresses.format(vip));
    }
  }

  /**
   * Every Service of an owned VIP carries the owner annotation and its Events, also a Service that
   * joins (shares) a VIP this node already owns.
   */
  void announced(Set<InetAddress> owned, Plan plan) {
    for (InetAddress vip : owned) {
      VipSpec s = plan.vips().get(vip);
      if (s == null) {
        continue;
      }
      Set<ServiceKey> done = told.computeIfAbsent(vip, k -> new HashSet<>());
      for (ServiceKey k : s.services()) {
        if (!done.add(k)) {
          continue;
        }
        reporter.annotateOwner(k);
        annotated.add(k);
        reporter.event(
            k,
            false,
            "VipAnnounced",
            "node " + self + " announces " + Addresses.format(vip) + " (" + s.mode().label() + ")");
        if (s.egress()) {
          reporter.event(
              k,
              false,
              "EgressReady",
              "node "
                  + self
                  + " SNATs "
                  + s.backends().size()
                  + " backend(s) to "
                  + Addresses.format(vip));
        }
      }
      done.retainAll(s.services());
    }
    told.keySet().retainAll(owned);
    disownLeft(owned, plan);
  }

  /**
   * A Service this node annotated whose VIP it no longer announces: when the Service has no VIP in
   * the plan any more nobody will annotate it again, so the stale owner is removed; otherwise the
   * VIP's new owner overwrites it.
   */
  private void disownLeft(Set<InetAddress> owned, Plan plan) {
    Set<ServiceKey> mine = new HashSet<>();
    Set<ServiceKey> planned = new HashSet<>();
    for (VipSpec s : plan.vips().values()) {
      planned.addAll(s.services());
      if (owned.contains(s.vip())) {
        mine.addAll(s.services());
      }
    }
    for (var it = annotated.iterator(); it.hasNext(); ) {
      ServiceKey k = it.next();
      if (mine.contains(k)) {
        continue;
      }
      it.remove();
      if (!planned.contains(k) && known.contains(k)) {
        reporter.disownOwner(k);
      }
    }
  }
}
