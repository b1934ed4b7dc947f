package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.Steer;
import dev.vipgress.speaker.model.Backend;
import dev.vipgress.speaker.model.IpLiteral;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells operators about datapath elements the kernel refused: which Services each belongs to (by
 * the addresses it names: a VIP, a backend pod, an owner's next hop), a Warning Event on each, and
 * a log line when an element is first refused and when the kernel takes it again. The element is
 * retried on its own by the next pass (the rest of the datapath is in place). Confined to the
 * reconcile loop.
 */
final class RefusedElements {
  private static final Logger LOG = LoggerFactory.getLogger(RefusedElements.class);

  /** IPv4 and IPv6 literals inside an nft element or an {@code ip -batch} line. */
  private static final Pattern ADDRESS =
      Pattern.compile(
          "(?<![\\w:.])(\\d{1,3}(?:\\.\\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})(?![\\w:.])");

  private final String self;
  private final Reporter reporter;

  /** The elements refused in the last pass, with the Services they belong to. */
  private Map<String, SortedSet<ServiceKey>> refused = Map.of();

  RefusedElements(String self, Reporter reporter) {
    this.self = self;
    this.reporter = reporter;
  }

  /**
   * The refusals of one pass.
   *
   * @param target the datapath state the pass applied (for the owners' next hops)
   */
  void report(List<ApplyResult.Refused> now, Plan plan, NodeDesired target) {
    Map<String, SortedSet<ServiceKey>> next = new HashMap<>();
    for (ApplyResult.Refused r : now) {
      SortedSet<ServiceKey> services = servicesOf(r.element(), plan, target);
      next.put(r.element(), services);
      if (refused.containsKey(r.element())) {
        continue;
      }
      LOG.atWarn()
          .addKeyValue("element", r.element())
          .addKeyValue("reason", r.reason())
          .addKeyValue("services", services.stream().map(ServiceKey::toString).toList())
          .log("natElementRefused: the rest is applied; this element is retried on its own");
      for (ServiceKey k : services) {
        reporter.event(
            k,
            true,
            "ElementRefused",
            "node "
                + self
                + ": the kernel refused "
                + r.element()
                + " ("
                + r.reason()
                + "); everything else is applied and this element is retried on its own");
      }
    }
    for (String gone : refused.keySet()) {
      if (!next.containsKey(gone)) {
        LOG.atInfo().addKeyValue("element", gone).log("natElementAccepted");
      }
    }
    refused = next;
  }

  /** The addresses an element names. */
  static Set<InetAddress> addresses(String element) {
    Set<InetAddress> named = new HashSet<>();
    Matcher m = ADDRESS.matcher(element);
    while (m.find()) {
      IpLiteral.parse(m.group(1)).ifPresent(named::add);
    }
    return named;
  }

  static SortedSet<ServiceKey> servicesOf(String element, Plan plan, NodeDesired target) {
    Set<InetAddress> named = addresses(element);
    SortedSet<ServiceKey> out = new TreeSet<>();
    for (InetAddress a : named) {
      Optional.ofNullable(plan.vips().get(a)).ifPresent(s -> out.addAll(s.services()));
      for (VipSpec s : plan.vips().values()) {
        for (Backend b : s.backends()) {
          if (b.ip().equals(a)) {
            out.addAll(s.services());
          }
        }
      }
      for (Steer st : target.steering().values()) {
        if (a.equals(st.ownerNextHop()) || a.equals(st.tunnelEndpoint())) {
          Optional.ofNullable(plan.vips().get(st.vip())).ifPresent(s -> out.addAll(s.services()));
        }
      }
    }
    return out;
  }
}
