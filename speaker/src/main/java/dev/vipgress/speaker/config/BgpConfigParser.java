package dev.vipgress.speaker.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.model.IpLiteral;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The {@code bgp} section of the speaker configuration; every error names the key and the peer.
 *
 * <pre>
 * bgp:
 *   localASN: 4200000011            # default of every peer (4-byte ASNs welcome)
 *   routerID: 192.168.100.11        # default: the node's IPv4
 *   communities: ["64512:100"]      # on every advertised VIP
 *   largeCommunities: ["4200000000:1:2"]
 *   peers:
 *     - address: 192.168.100.1      # required
 *       peerASN: 64512              # required
 *       localASN: 4200000011        # default: bgp.localASN
 *       port: 179
 *       holdTime: 90s               # 0 or 3s..65535s
 *       keepalive: 30s
 *       connectRetry: 5s
 *       password: s3cret            # TCP MD5 (RFC 2385)
 *       sourceAddress: 192.168.100.11
 *       ebgpMultihop: 2             # TTL for an eBGP peer that is not directly connected
 *       routerID: 192.168.100.11
 *       nodeSelector: {rack: a}
 *       families: [ipv4, ipv6]
 * </pre>
 */
final class BgpConfigParser {
  private static final Set<String> KEYS =
      Set.of("localASN", "routerID", "communities", "largeCommunities", "peers");
  private static final Set<String> PEER_KEYS =
      Set.of(
          "address",
          "peerASN",
          "localASN",
          "port",
          "holdTime",
          "keepalive",
          "connectRetry",
          "password",
          "sourceAddress",
          "ebgpMultihop",
          "routerID",
          "nodeSelector",
          "families");
  private static final long MAX_ASN = 0xffff_ffffL;

  /** TCP_MD5SIG_MAXKEYLEN (linux/tcp.h). */
  private static final int MAX_PASSWORD_BYTES = 80;

  private BgpConfigParser() {}

  static BgpConfig parse(JsonNode bgp, List<String> errors) {
    if (bgp.isMissingNode() || bgp.isNull()) {
      return BgpConfig.NONE;
    }
    if (!bgp.isObject()) {
      errors.add("bgp must be a mapping with peers: [...]");
      return BgpConfig.NONE;
    }
    unknownKeys(bgp, KEYS, "bgp", errors);
    Optional<Long> localAsn = asn(bgp.path("localASN"), "bgp.localASN", errors);
    Optional<Inet4Address> routerId = routerId(bgp.path("routerID"), "bgp.routerID", errors);
    List<Community> communities = values(bgp, "communities", Community::parse, errors);
    List<LargeCommunity> large = values(bgp, "largeCommunities", LargeCommunity::parse, errors);
    List<BgpConfig.Peer> peers = new ArrayList<>();
    JsonNode list = bgp.path("peers");
    if (!list.isMissingNode() && !list.isNull() && !list.isArray()) {
      errors.add("bgp.peers must be a list of peers");
    } else {
      for (int i = 0; i < list.size(); i++) {
        peer(list.get(i), "bgp.peers[" + i + "]", localAsn, errors).ifPresent(peers::add);
      }
    }
    for (int i = 0; i < peers.size(); i++) {
      for (int j = i + 1; j < peers.size(); j++) {
        BgpConfig.Peer a = peers.get(i);
        BgpConfig.Peer b = peers.get(j);
        if (a.name().equals(b.name()) && a.nodeSelector().equals(b.nodeSelector())) {
          errors.add(
              "bgp.peers["
                  + j
                  + "]: peer "
                  + b.name()
                  + " is listed twice for the same nodes (as bgp.peers["
                  + i
                  + "]); merge them or give them different nodeSelectors");
        }
      }
    }
    return new BgpConfig(routerId, communities, large, peers);
  }

  private static Optional<BgpConfig.Peer> peer(
      JsonNode p, String at, Optional<Long> defaultLocalAsn, List<String> errors) {
    if (!p.isObject()) {
      errors.add(at + " must be a mapping like {address: 192.0.2.1, peerASN: 64512}");
      return Optional.empty();
    }
    int before = errors.size();
    unknownKeys(p, PEER_KEYS, at, errors);
    Optional<InetAddress> address = address(p.path("address"), at + ".address", true, errors);
    String name = at + " (" + p.path("address").asText("?") + ")";
    Optional<Long> peerAsn = asn(p.path("peerASN"), name + ".peerASN", errors);
    if (peerAsn.isEmpty() && !p.has("peerASN")) {
      errors.add(name + ": peerASN is required (the AS the router announces)");
    }
    Optional<Long> localAsn = asn(p.path("localASN"), name + ".localASN", errors);
    if (localAsn.isEmpty() && !p.has("localASN")) {
      localAsn = defaultLocalAsn;
      if (localAsn.isEmpty()) {
        errors.add(name + ": no localASN; set bgp.localASN or the peer's localASN");
      }
    }
    int port = p.path("port").asInt(179);
    if (port < 1 || port > 65535) {
      errors.add(name + ".port " + p.path("port").asText() + " is not a TCP port");
    }
    Duration hold = holdTime(p.path("holdTime"), name + ".holdTime", errors);
    Duration keepalive =
        ConfigLoader.duration(
            p.path("keepalive"), name + ".keepalive", Duration.ofSeconds(30), errors);
    Duration connectRetry =
        ConfigLoader.duration(
            p.path("connectRetry"), name + ".connectRetry", Duration.ofSeconds(5), errors);
    Optional<String> password = Optional.empty();
    if (p.has("password")) {
      String pw = p.path("password").asText("");
      int bytes = pw.getBytes(StandardCharsets.UTF_8).length;
      if (bytes == 0 || bytes > MAX_PASSWORD_BYTES) {
        errors.add(name + ".password must be 1 to 80 bytes (a TCP MD5 key, RFC 2385)");
      } else {
        password = Optional.of(pw);
      }
    }
    Optional<InetAddress> source =
        address(p.path("sourceAddress"), name + ".sourceAddress", false, errors);
    if (source.isPresent()
        && address.isPresent()
        && source.get().getClass() != address.get().getClass()) {
      errors.add(
          name
              + ".sourceAddress "
              + source.get().getHostAddress()
              + " is not of the peer's family");
    }
    int multihop = p.path("ebgpMultihop").asInt(0);
    if (multihop < 0 || multihop > 255) {
      errors.add(name + ".ebgpMultihop " + p.path("ebgpMultihop").asText() + " must be 1..255");
    } else if (multihop > 0 && localAsn.isPresent() && localAsn.equals(peerAsn)) {
      errors.add(name + ".ebgpMultihop applies to eBGP only (localASN equals peerASN)");
    }
    Optional<Inet4Address> routerId = routerId(p.path("routerID"), name + ".routerID", errors);
    Map<String, String> selector = new LinkedHashMap<>();
    JsonNode sel = p.path("nodeSelector");
    if (!sel.isMissingNode() && !sel.isNull()) {
      if (!sel.isObject()) {
        errors.add(name + ".nodeSelector must be a mapping of label to value");
      } else {
        sel.properties().forEach(e -> selector.put(e.getKey(), e.getValue().asText()));
      }
    }
    Set<Family> families = families(p, name, errors);
    if (errors.size() > before || address.isEmpty() || peerAsn.isEmpty() || localAsn.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new BgpConfig.Peer(
            address.get(),
            port,
            peerAsn.get(),
            localAsn.get(),
            hold,
            keepalive,
            connectRetry,
            password,
            source,
            multihop,
            routerId,
            selector,
            families));
  }

  private static <T> List<T> values(
      JsonNode bgp, String key, Function<String, T> parser, List<String> errors) {
    List<T> out = new ArrayList<>();
    for (String c : ConfigLoader.stringList(bgp, key, errors)) {
      try {
        out.add(parser.apply(c));
      } catch (IllegalArgumentException e) {
        errors.add("bgp." + key + ": " + e.getMessage());
      }
    }
    return out;
  }

  private static Set<Family> families(JsonNode p, String name, List<String> errors) {
    if (!p.has("families")) {
      return EnumSet.allOf(Family.class);
    }
    Set<Family> out = EnumSet.noneOf(Family.class);
    for (String f : ConfigLoader.stringList(p, "families", errors)) {
      switch (f) {
        case "ipv4" -> out.add(Family.IPV4_UNICAST);
        case "ipv6" -> out.add(Family.IPV6_UNICAST);
        default -> errors.add(name + ".families: '" + f + "' is not ipv4 or ipv6");
      }
    }
    if (out.isEmpty()) {
      errors.add(name + ".families must name at least one of ipv4, ipv6");
    }
    return out;
  }

  private static Duration holdTime(JsonNode n, String key, List<String> errors) {
    if (n.isMissingNode() || n.isNull()) {
      return Duration.ofSeconds(90);
    }
    if (n.asText().equals("0") || n.asText().equals("0s")) {
      return Duration.ZERO; // RFC 4271 §4.2: no hold timer, no keepalives
    }
    Duration d = ConfigLoader.duration(n, key, Duration.ofSeconds(90), errors);
    long s = d.toSeconds();
    if (d.toMillis() % 1000 != 0 || s < 3 || s > 0xffff) {
      errors.add(key + " " + n.asText() + " must be 0 or whole seconds from 3s to 65535s");
      return Duration.ofSeconds(90);
    }
    return d;
  }

  private static Optional<Long> asn(JsonNode n, String key, List<String> errors) {
    if (n.isMissingNode() || n.isNull()) {
      return Optional.empty();
    }
    if (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > MAX_ASN) {
      errors.add(key + " " + n.asText() + " must be an AS number from 1 to 4294967295");
      return Optional.empty();
    }
    if (n.asLong() == 23456) {
      errors.add(key + " 23456 is AS_TRANS (RFC 6793), not a usable AS");
      return Optional.empty();
    }
    return Optional.of(n.asLong());
  }

  private static Optional<InetAddress> address(
      JsonNode n, String key, boolean required, List<String> errors) {
    if (n.isMissingNode() || n.isNull()) {
      if (required) {
        errors.add(key + " is required (the router's IP address)");
      }
      return Optional.empty();
    }
    Optional<InetAddress> a = IpLiteral.parse(n.asText());
    if (a.isEmpty()) {
      errors.add(key + " '" + n.asText() + "' is not an IP address");
    }
    return a;
  }

  private static Optional<Inet4Address> routerId(JsonNode n, String key, List<String> errors) {
    if (n.isMissingNode() || n.isNull()) {
      return Optional.empty();
    }
    Optional<InetAddress> a = IpLiteral.parse(n.asText());
    if (a.isEmpty() || !(a.get() instanceof Inet4Address v4) || v4.isAnyLocalAddress()) {
      errors.add(key + " '" + n.asText() + "' must be a non-zero IPv4 address (a BGP identifier)");
      return Optional.empty();
    }
    return Optional.of(v4);
  }

  private static void unknownKeys(JsonNode n, Set<String> known, String at, List<String> errors) {
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!known.contains(k)) {
        errors.add(
            at
                + ": unknown key '"
                + k
                + "' (known: "
                + String.join(", ", known.stream().sorted().toList())
                + ")");
      }
    }
  }
}
