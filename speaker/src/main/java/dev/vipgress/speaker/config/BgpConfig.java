package dev.vipgress.speaker.config;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * BGP mode: the peers this node's speaker may open sessions to, and what every advertisement
 * carries. Validated by {@link BgpConfigParser}.
 *
 * @param routerId the BGP identifier of every session without its own; empty: the node's IPv4
 * @param communities COMMUNITIES on every advertised VIP (a Service's annotation adds its own)
 * @param largeCommunities LARGE_COMMUNITY values on every advertised VIP
 */
public record BgpConfig(
    Optional<Inet4Address> routerId,
    List<Community> communities,
    List<LargeCommunity> largeCommunities,
    List<Peer> peers) {
  public static final BgpConfig NONE =
      new BgpConfig(Optional.empty(), List.of(), List.of(), List.of());

  public BgpConfig {
    communities = List.copyOf(communities);
    largeCommunities = List.copyOf(largeCommunities);
    peers = List.copyOf(peers);
  }

  /**
   * One peer (router). Two peers are the same session when their records are equal: a change of any
   * field restarts that session only.
   *
   * @param address the peer's address (its family decides the transport, not the VIPs carried)
   * @param port the peer's TCP port (179)
   * @param peerAsn the AS the peer must announce in its OPEN
   * @param localAsn our AS on this session (4-octet, RFC 6793)
   * @param holdTime proposed hold time (0 or 3..65535 s)
   * @param keepalive preferred keepalive interval (capped at a third of the negotiated hold time)
   * @param connectRetry the ConnectRetry timer: how long a connection attempt may take
   * @param password TCP MD5 signature key (RFC 2385); needs the native epoll transport
   * @param sourceAddress the local address the session binds to; empty: the kernel's choice
   * @param ebgpMultihop the IP TTL of an eBGP session whose peer is not directly connected; 0: an
   *     eBGP session is sent with TTL 1, an iBGP one with the system default
   * @param routerId this session's BGP identifier; empty: {@link BgpConfig#routerId} or the node's
   *     IPv4
   * @param nodeSelector labels a node must carry to peer with this router (empty: every node)
   * @param families the address families offered (the OPEN's multiprotocol capabilities)
   */
  public record Peer(
      InetAddress address,
      int port,
      long peerAsn,
      long localAsn,
      Duration holdTime,
      Duration keepalive,
      Duration connectRetry,
      Optional<String> password,
      Optional<InetAddress> sourceAddress,
      int ebgpMultihop,
      Optional<Inet4Address> routerId,
      Map<String, String> nodeSelector,
      Set<Family> families) {
    public Peer {
      nodeSelector = Map.copyOf(nodeSelector);
      families = Set.copyOf(families);
    }

    /** The name of this peer in logs, metrics and status: {@code address:port}. */
    public String name() {
      String a = address.getHostAddress();
      return (a.contains(":") ? "[" + a + "]" : a) + ":" + port;
    }

    /** Whether a node with these labels peers with this router. */
    public boolean selects(Map<String, String> nodeLabels) {
      return nodeSelector.entrySet().stream()
          .allMatch(e -> e.getValue().equals(nodeLabels.get(e.getKey())));
    }

    @Override
    public String toString() {
      // never the password
      return "Peer[" + name() + " as " + peerAsn + ", local as " + localAsn + "]";
    }
  }
}
