package dev.vipgress.election;

import io.kubernetes.client.openapi.models.V1Lease;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The genesis Lease ({@value #NAME}): how VIPs without a VIP Lease get their first owner in one
 * write instead of one write per VIP.
 *
 * <p>It names the VIPs it covers (as ranges of consecutive addresses) and its members (live
 * eligible nodes with their incarnations, when it was written). A covered VIP that has no VIP Lease
 * belongs to the first member in the VIP's rendezvous order, under the incarnation written here,
 * exactly as if a VIP Lease named that holder: when that incarnation ends, its handoff records pass
 * the VIP on. Every node computes the same owner from this one object. Owners then create the VIP
 * Leases in their own name in the background; once every covered VIP has its VIP Lease, the genesis
 * Lease is deleted.
 *
 * <p>Rules that keep ownership single: a VIP Lease for a VIP that has none is only ever created
 * while a genesis Lease covering that VIP exists (its owner materialising it, or anyone taking it
 * when its owner's incarnation ended without heirs — creates are atomic); a VIP with no Lease and
 * no covering genesis waits for the next genesis Lease. The genesis Lease is deleted only when each
 * VIP it covers has a VIP Lease, and only one genesis Lease exists at a time (create, not update).
 *
 * <p>Annotations: {@value #MEMBERS} in the {@link Handoffs} format ({@code genesis>node=inc,...}),
 * {@value #VIPS}: {@code first+count} ranges separated by commas, e.g. {@code
 * 10.20.0.0+10000,fd00::7+1}.
 */
record Genesis(String resourceVersion, Handoffs.Entry members, List<Range> ranges) {
  static final String NAME = "vipgress-genesis";
  static final String KIND = "genesis";
  static final String MEMBERS = "vipgress.dev/genesis-members";
  static final String VIPS = "vipgress.dev/genesis-vips";

  /** Annotation values stay well below the API server's 256 KiB limit for all annotations. */
  static final int MAX_VIPS_TEXT = 200_000;

  /** {@code count} consecutive addresses from {@code first}, in one family. */
  record Range(boolean ipv6, BigInteger first, long count) {
    boolean contains(boolean v6, BigInteger value) {
      return ipv6 == v6
          && value.compareTo(first) >= 0
          && value.compareTo(first.add(BigInteger.valueOf(count))) < 0;
    }

    String text() {
      return VipAddress.ofValue(first, ipv6).literal() + "+" + count;
    }
  }

  private static final Comparator<Range> ORDER =
      Comparator.comparing(Range::ipv6).thenComparing(Range::first);

  static boolean isGenesisLease(V1Lease l) {
    return KIND.equals(Leases.label(l, Leases.KIND)) || NAME.equals(Leases.name(l));
  }

  /** The genesis record of a Lease; {@code null} if its annotations are unusable. */
  static Genesis of(V1Lease l) {
    Map<String, Handoffs.Entry> m = Handoffs.parse(Leases.annotation(l, MEMBERS));
    Handoffs.Entry members = m.get(KIND);
    String text = Leases.annotation(l, VIPS);
    if (members == null || text == null) {
      return null;
    }
    List<Range> ranges = new ArrayList<>();
    for (String part : text.split(",")) {
      int plus = part.lastIndexOf('+');
      if (plus <= 0) {
        return null;
      }
      try {
        VipAddress first = VipAddress.parse(part.substring(0, plus));
        long count = Long.parseLong(part.substring(plus + 1));
        if (count <= 0) {
          return null;
        }
        ranges.add(new Range(first.ipv6(), first.value(), count));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    ranges.sort(ORDER);
    return new Genesis(Leases.resourceVersion(l), members, List.copyOf(ranges));
  }

  /** Whether {@code vip} (canonical literal) is one of the VIPs this record covers. */
  boolean covers(String vip) {
    VipAddress a = VipAddress.parse(vip);
    BigInteger value = a.value();
    int lo = 0;
    int hi = ranges.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      Range r = ranges.get(mid);
      if (r.contains(a.ipv6(), value)) {
        return true;
      }
      int c = ORDER.compare(r, new Range(a.ipv6(), value, 1));
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return false;
  }

  /** Calls {@code action} with every covered VIP (canonical literal), in address order. */
  void forEachVip(Consumer<String> action) {
    for (Range r : ranges) {
      BigInteger v = r.first();
      for (long i = 0; i < r.count(); i++) {
        action.accept(VipAddress.ofValue(v, r.ipv6()).literal());
        v = v.add(BigInteger.ONE);
      }
    }
  }

  /** The member a covered VIP belongs to and its incarnation ({@code [node, incarnation]}). */
  String[] holderOf(String vip) {
    return members.heirOf(vip);
  }

  /** Whether {@code incarnation} of {@code node} is a member (handoffs it needs must be kept). */
  boolean names(String node, String incarnation) {
    return incarnation != null && incarnation.equals(members.heirs().get(node));
  }

  /**
   * The body of a new genesis Lease for {@code vips} (canonical literals) and {@code members} (node
   * to incarnation). VIPs beyond {@link #MAX_VIPS_TEXT} of text are left out; the caller learns
   * which were covered from the record it reads back.
   */
  static V1Lease newLease(
      String namespace,
      String creator,
      Collection<String> vips,
      Map<String, String> members,
      int leaseSeconds) {
    V1Lease body = Leases.newLease(namespace, NAME, KIND);
    body.getMetadata()
        .getAnnotations()
        .put(MEMBERS, Handoffs.encode(List.of(new Handoffs.Entry(KIND, Map.copyOf(members)))));
    body.getMetadata().getAnnotations().put(VIPS, encode(vips, MAX_VIPS_TEXT));
    body.getSpec().holderIdentity(creator).leaseDurationSeconds(leaseSeconds);
    return body;
  }

  /** Sorted VIPs as {@code first+count} ranges, at most {@code maxChars} long (whole ranges). */
  static String encode(Collection<String> vips, int maxChars) {
    record Item(boolean ipv6, BigInteger value) {}
    List<Item> sorted = new ArrayList<>(vips.size());
    for (String v : vips) {
      VipAddress a = VipAddress.parse(v);
      sorted.add(new Item(a.ipv6(), a.value()));
    }
    sorted.sort(Comparator.comparing(Item::ipv6).thenComparing(Item::value));
    StringBuilder sb = new StringBuilder();
    int i = 0;
    while (i < sorted.size()) {
      Item start = sorted.get(i);
      int j = i + 1;
      while (j < sorted.size()
          && sorted.get(j).ipv6() == start.ipv6()
          && sorted.get(j).value().equals(sorted.get(j - 1).value().add(BigInteger.ONE))) {
        j++;
      }
      String r = new Range(start.ipv6(), start.value(), j - i).text();
      if (sb.length() + r.length() + 1 > maxChars) {
        break;
      }
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(r);
      i = j;
    }
    return sb.toString();
  }
}
