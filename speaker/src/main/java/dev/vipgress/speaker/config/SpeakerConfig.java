package dev.vipgress.speaker.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The validated configuration of one speaker. Built only by {@link ConfigLoader}; every field is
 * already checked.
 *
 * @param namespace where VIP and liveness Leases live
 * @param interfaces L2 announce interfaces (names or globs); empty = the interface that holds the
 *     node's InternalIP
 * @param clusterRanges destinations never SNATed or steered (pod CIDRs, service CIDR, extras); node
 *     IPs are added from the Node objects
 * @param nodeSelector labels a node must carry to be eligible (empty = every node)
 * @param timing election timing profile
 * @param garpCount gratuitous ARP / unsolicited NA burst length on takeover
 * @param garpInterval spacing of that burst
 * @param httpPort port of /metrics, /healthz, /readyz, /status (0 = off)
 * @param steering how local backend pods reach the owner of a VIP (read at start only)
 * @param bgp BGP mode's peers and advertisement defaults (applied on change without a restart)
 */
public record SpeakerConfig(
    String namespace,
    List<String> interfaces,
    List<String> clusterRanges,
    Map<String, String> nodeSelector,
    Timing timing,
    int garpCount,
    Duration garpInterval,
    int httpPort,
    Steering steering,
    Duration rebalanceInterval,
    BgpConfig bgp) {

  public SpeakerConfig {
    interfaces = List.copyOf(interfaces);
    clusterRanges = List.copyOf(clusterRanges);
    nodeSelector = Map.copyOf(nodeSelector);
  }

  /** A configuration without BGP peers. */
  public SpeakerConfig(
      String namespace,
      List<String> interfaces,
      List<String> clusterRanges,
      Map<String, String> nodeSelector,
      Timing timing,
      int garpCount,
      Duration garpInterval,
      int httpPort,
      Steering steering,
      Duration rebalanceInterval) {
    this(
        namespace,
        interfaces,
        clusterRanges,
        nodeSelector,
        timing,
        garpCount,
        garpInterval,
        httpPort,
        steering,
        rebalanceInterval,
        BgpConfig.NONE);
  }

  /**
   * Election timing.
   *
   * @param leaseDuration how long a holder's claim stands without renewal
   * @param renewInterval how often the node's liveness Lease is renewed
   * @param retryInterval how often a waiting candidate re-checks free VIPs
   */
  public record Timing(Duration leaseDuration, Duration renewInterval, Duration retryInterval) {}

  /**
   * Steering of local backend pods to owners on other L2 segments.
   *
   * @param mode {@code auto} (direct inside an uplink subnet, VXLAN otherwise), {@code direct} or
   *     {@code vxlan}
   * @param vxlanVni the tunnel's VNI, the same on every node
   * @param vxlanPort the tunnel's UDP port, the same on every node
   * @param vxlanMtu the tunnel device's MTU (uplink MTU - 50)
   */
  public record Steering(
      dev.vipgress.speaker.model.SteeringPolicy.Mode mode,
      int vxlanVni,
      int vxlanPort,
      int vxlanMtu) {
    public static Steering defaults() {
      return new Steering(dev.vipgress.speaker.model.SteeringPolicy.Mode.AUTO, 0x7667, 4799, 1450);
    }
  }
}
