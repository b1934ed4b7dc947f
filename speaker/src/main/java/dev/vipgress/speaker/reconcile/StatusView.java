package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.Addresses;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.speaker.model.Backend;
import dev.vipgress.speaker.model.Plan;
import dev.vipgress.speaker.model.ServiceKey;
import dev.vipgress.speaker.model.VipSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code vipgress status}: every VIP of the plan as this node sees it. Pure. */
final class StatusView {
  private StatusView() {}

  static List<VipStatus> of(
      String self,
      Plan plan,
      Set<InetAddress> ownedHere,
      Map<String, String> owners,
      NodeDesired applied) {
    List<VipStatus> out = new ArrayList<>();
    for (VipSpec s : plan.vips().values()) {
      boolean mine = ownedHere.contains(s.vip());
      out.add(
          new VipStatus(
              s.text(),
              s.mode().label(),
              owners.getOrDefault(s.text(), ""),
              mine,
              s.egress(),
              s.services().stream().map(ServiceKey::toString).toList(),
              s.backends().stream()
                  .map((Backend b) -> Addresses.format(b.ip()) + "@" + b.node())
                  .sorted()
                  .toList(),
              egressState(self, s, mine, applied)));
    }
    out.sort(Comparator.comparing(VipStatus::vip));
    return List.copyOf(out);
  }

  private static String egressState(String self, VipSpec s, boolean mine, NodeDesired applied) {
    if (!s.egress()) {
      return "off";
    }
    if (mine) {
      return "snat";
    }
    if (s.backends().stream().noneMatch(b -> self.equals(b.node()))) {
      return "remote";
    }
    return applied.steering().values().stream().anyMatch(st -> st.vip().equals(s.vip()))
        ? "steered"
        : "pending";
  }
}
