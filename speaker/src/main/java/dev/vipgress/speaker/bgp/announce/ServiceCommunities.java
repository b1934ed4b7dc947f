package dev.vipgress.speaker.bgp.announce;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.bgp.rib.Advertisement;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.IpLiteral;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.ServiceInfo;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The communities BGP Services ask for by annotation ({@link Labels#BGP_COMMUNITIES}, {@link
 * Labels#BGP_LARGE_COMMUNITIES}), per VIP: the union over the Services sharing it. Pure.
 */
public final class ServiceCommunities {
  private ServiceCommunities() {}

  /** One annotation value that does not parse: reported on its Service, the rest still used. */
  public record Invalid(ServiceInfo service, String annotation, String error) {}

  /**
   * @param invalid told of every annotation value that does not parse
   */
  public static Map<InetAddress, Advertisement> of(ClusterView view, Consumer<Invalid> invalid) {
    Map<InetAddress, Advertisement> out = new HashMap<>();
    for (ServiceInfo s :
        view.services().values().stream().sorted(Comparator.comparing(ServiceInfo::key)).toList()) {
      if (!"bgp".equals(s.labels().get(Labels.ANNOUNCE))) {
        continue;
      }
      List<Community> c = parse(s, Labels.BGP_COMMUNITIES, Community::parse, invalid);
      List<LargeCommunity> lc =
          parse(s, Labels.BGP_LARGE_COMMUNITIES, LargeCommunity::parse, invalid);
      if (c.isEmpty() && lc.isEmpty()) {
        continue;
      }
      for (String raw : s.ingressIps()) {
        Optional<InetAddress> vip = IpLiteral.parse(raw);
        vip.ifPresent(
            v ->
                out.merge(
                    v,
                    new Advertisement(v, c, lc),
                    (a, b) ->
                        new Advertisement(
                            v,
                            union(a.communities(), b.communities()),
                            union(a.largeCommunities(), b.largeCommunities()))));
      }
    }
    return out;
  }

  private static <T> List<T> union(List<T> a, List<T> b) {
    List<T> out = new ArrayList<>(a);
    b.stream().filter(x -> !out.contains(x)).forEach(out::add);
    return out;
  }

  private static <T> List<T> parse(
      ServiceInfo s, String annotation, Function<String, T> parser, Consumer<Invalid> invalid) {
    String v = s.annotations().get(annotation);
    List<T> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    for (String part : v.split("[,\\s]+")) {
      if (part.isEmpty()) {
        continue;
      }
      try {
        T t = parser.apply(part);
        if (!out.contains(t)) {
          out.add(t);
        }
      } catch (IllegalArgumentException e) {
        invalid.accept(new Invalid(s, annotation, e.getMessage()));
      }
    }
    return out;
  }
}
