package dev.vipgress.speaker.bgp.rib;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * One VIP this node wants advertised, with the communities it carries (configuration defaults or
 * the Service's annotation, resolved before here).
 */
public record Advertisement(
    InetAddress vip, List<Community> communities, List<LargeCommunity> largeCommunities) {
  public Advertisement {
    Objects.requireNonNull(vip, "vip");
    communities = List.copyOf(communities);
    largeCommunities = List.copyOf(largeCommunities);
  }

  public static Advertisement of(InetAddress vip) {
    return new Advertisement(vip, List.of(), List.of());
  }
}
