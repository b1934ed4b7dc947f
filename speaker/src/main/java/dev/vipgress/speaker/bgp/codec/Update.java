package dev.vipgress.speaker.bgp.codec;

import java.util.List;
import java.util.Optional;

/**
 * UPDATE (RFC 4271 §4.3) with IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3-4). IPv4
 * prefixes travel in the classic NLRI and withdrawn-routes fields.
 *
 * @param withdrawn prefixes withdrawn, any family
 * @param announced prefixes announced, any family; needs {@code attributes}
 * @param attributes present when something is announced
 * @param treatAsWithdraw set only on received UPDATEs that RFC 7606 §2 says to treat as withdraw:
 *     the reason; then {@code announced} is empty and every prefix the message carried is in {@code
 *     withdrawn}
 */
public record Update(
    List<Prefix> withdrawn,
    List<Prefix> announced,
    Optional<PathAttributes> attributes,
    Optional<String> treatAsWithdraw)
    implements BgpMessage {
  public Update {
    withdrawn = List.copyOf(withdrawn);
    announced = List.copyOf(announced);
    if (!announced.isEmpty() && attributes.isEmpty()) {
      throw new IllegalArgumentException("an UPDATE announcing " + announced + " needs attributes");
    }
  }

  public static Update announce(List<Prefix> prefixes, PathAttributes attributes) {
    return new Update(List.of(), prefixes, Optional.of(attributes), Optional.empty());
  }

  public static Update withdraw(List<Prefix> prefixes) {
    return new Update(prefixes, List.of(), Optional.empty(), Optional.empty());
  }

  @Override
  public int type() {
    return BgpConstants.TYPE_UPDATE;
  }
}
