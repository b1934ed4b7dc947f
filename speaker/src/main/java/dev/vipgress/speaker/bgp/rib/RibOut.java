package dev.vipgress.speaker.bgp.rib;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.MAX_MESSAGE_LENGTH;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.PathAttributes;
import dev.vipgress.speaker.bgp.codec.Prefix;
import dev.vipgress.speaker.bgp.codec.Update;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The routes advertised on one session (Adj-RIB-Out, RFC 4271 §3.2), immutable: {@link #next} turns
 * the VIPs wanted now into the UPDATEs that move the peer from what it was sent to that, and the
 * new Adj-RIB-Out. Pure: no I/O, no clock.
 */
public record RibOut(Map<Prefix, PathAttributes> advertised) {
  /** IPv4 NLRI: length octet + 4; IPv6 in MP_(UN)REACH: length octet + 16. */
  private static final int IPV4_PREFIX_BYTES = 5;

  private static final int IPV6_PREFIX_BYTES = 17;

  /** Header, two length fields, and slack for extended-length attribute headers. */
  private static final int FIXED_BYTES = 19 + 4 + 16;

  public static final RibOut EMPTY = new RibOut(Map.of());

  public RibOut {
    advertised = Map.copyOf(advertised);
  }

  /** One step: the UPDATEs to send, and the Adj-RIB-Out once they are sent. */
  public record Step(List<Update> updates, RibOut after) {}

  /** The host routes this session should carry for these advertisements. */
  public static Map<Prefix, PathAttributes> wanted(
      SessionRoutes session, Collection<Advertisement> ads) {
    Map<Prefix, PathAttributes> out = new LinkedHashMap<>();
    for (Advertisement a : ads) {
      Prefix p = Prefix.host(a.vip());
      if (!session.carries(p.family())) {
        continue;
      }
      out.put(
          p,
          new PathAttributes(
              session.ebgp() ? List.of(session.localAs()) : List.of(),
              p.family() == Family.IPV4_UNICAST ? session.nextHop4() : Optional.empty(),
              p.family() == Family.IPV6_UNICAST ? session.nextHop6() : Optional.empty(),
              a.communities(),
              a.largeCommunities()));
    }
    return out;
  }

  /**
   * The diff to {@code wanted}: withdrawals for what is no longer wanted, announcements for what is
   * new or whose attributes changed (an announcement implicitly replaces the old route, RFC 4271
   * §3.1), grouped by attributes and family and split to fit 4096 octets.
   */
  public Step next(Map<Prefix, PathAttributes> wanted) {
    List<Prefix> gone = new ArrayList<>();
    for (Prefix p : advertised.keySet()) {
      if (!wanted.containsKey(p)) {
        gone.add(p);
      }
    }
    Map<PathAttributes, List<Prefix>> changed = new LinkedHashMap<>();
    for (Map.Entry<Prefix, PathAttributes> e : wanted.entrySet()) {
      if (!e.getValue().equals(advertised.get(e.getKey()))) {
        changed.computeIfAbsent(e.getValue(), k -> new ArrayList<>()).add(e.getKey());
      }
    }
    List<Update> updates = new ArrayList<>(withdrawals(gone));
    changed.forEach((attrs, prefixes) -> updates.addAll(announcements(attrs, prefixes)));
    return new Step(updates, new RibOut(wanted));
  }

  /** Everything advertised of one family again: the answer to a ROUTE-REFRESH (RFC 2918 §4). */
  public List<Update> refresh(Family family) {
    Map<PathAttributes, List<Prefix>> groups = new LinkedHashMap<>();
    for (Map.Entry<Prefix, PathAttributes> e : sorted(advertised).entrySet()) {
      if (e.getKey().family() == family) {
        groups.computeIfAbsent(e.getValue(), k -> new ArrayList<>()).add(e.getKey());
      }
    }
    List<Update> updates = new ArrayList<>();
    groups.forEach((attrs, prefixes) -> updates.addAll(announcements(attrs, prefixes)));
    return updates;
  }

  private static Map<Prefix, PathAttributes> sorted(Map<Prefix, PathAttributes> m) {
    Map<Prefix, PathAttributes> out = new TreeMap<>(Comparator.comparing(Prefix::toString));
    out.putAll(m);
    return out;
  }

  private static List<Update> withdrawals(List<Prefix> gone) {
    List<Update> out = new ArrayList<>();
    for (Family f : Family.values()) {
      List<Prefix> of = gone.stream().filter(p -> p.family() == f).sorted(byText()).toList();
      int per = (MAX_MESSAGE_LENGTH - FIXED_BYTES - 8) / prefixBytes(f);
      for (List<Prefix> chunk : chunks(of, per)) {
        out.add(Update.withdraw(chunk));
      }
    }
    return out;
  }

  private static List<Update> announcements(PathAttributes attrs, List<Prefix> prefixes) {
    List<Update> out = new ArrayList<>();
    for (Family f : Family.values()) {
      List<Prefix> of = prefixes.stream().filter(p -> p.family() == f).sorted(byText()).toList();
      if (of.isEmpty()) {
        continue;
      }
      int room = MAX_MESSAGE_LENGTH - FIXED_BYTES - attributeBytes(attrs, f);
      int per = room / prefixBytes(f);
      if (per < 1) {
        throw new IllegalArgumentException(
            "path attributes too large for one UPDATE ("
                + attrs.communities().size()
                + " communities, "
                + attrs.largeCommunities().size()
                + " large communities): reduce them");
      }
      for (List<Prefix> chunk : chunks(of, per)) {
        out.add(Update.announce(chunk, attrs));
      }
    }
    return out;
  }

  /** An upper bound of the encoded attributes (4-octet attribute headers throughout). */
  private static int attributeBytes(PathAttributes a, Family f) {
    int bytes = 4 + 1; // ORIGIN
    bytes += 4 + 2 + 4 * a.asPath().size(); // AS_PATH, one segment
    bytes += f == Family.IPV4_UNICAST ? 4 + 4 : 4 + 5 + 32 + 1; // NEXT_HOP or MP_REACH overhead
    bytes += a.communities().isEmpty() ? 0 : 4 + 4 * a.communities().size();
    bytes += a.largeCommunities().isEmpty() ? 0 : 4 + 12 * a.largeCommunities().size();
    return bytes;
  }

  private static int prefixBytes(Family f) {
    return f == Family.IPV4_UNICAST ? IPV4_PREFIX_BYTES : IPV6_PREFIX_BYTES;
  }

  private static Comparator<Prefix> byText() {
    return Comparator.comparing(Prefix::toString);
  }

  private static <T> List<List<T>> chunks(List<T> all, int size) {
    List<List<T>> out = new ArrayList<>();
    for (int i = 0; i < all.size(); i += size) {
      out.add(all.subList(i, Math.min(all.size(), i + size)));
    }
    return out;
  }
}
