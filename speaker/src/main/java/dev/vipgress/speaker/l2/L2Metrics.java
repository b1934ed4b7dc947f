package dev.vipgress.speaker.l2;

import dev.vipgress.nat.Addresses;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The L2 announcer's Prometheus metrics ({@code vipgress_l2_*}). One set per registry, shared by
 * successive announcers (the daemon replaces the announcer when its configuration changes), so
 * counters stay monotonic and registration never collides.
 */
final class L2Metrics {
  private static final Map<PrometheusRegistry, L2Metrics> BY_REGISTRY = new WeakHashMap<>();

  static L2Metrics forRegistry(PrometheusRegistry registry) {
    synchronized (BY_REGISTRY) {
      return BY_REGISTRY.computeIfAbsent(registry, L2Metrics::new);
    }
  }

  private final Counter garpsSent;
  private final Counter requestsAnswered;
  private final Counter requestsRefused;
  private final Counter conflicts;
  private final Counter malformed;
  private final Counter sendErrors;
  private final Gauge interfaceUp;
  private final Gauge liveVips;

  private L2Metrics(PrometheusRegistry registry) {
    garpsSent =
        Counter.builder()
            .name("vipgress_l2_garps_sent_total")
            .help(
                "Gratuitous ARP requests (IPv4) and unsolicited neighbour advertisements (IPv6)"
                    + " sent")
            .labelNames("interface", "vip")
            .withoutExemplars()
            .register(registry);
    requestsAnswered =
        Counter.builder()
            .name("vipgress_l2_requests_answered_total")
            .help("ARP requests and neighbour solicitations answered for owned VIPs")
            .labelNames("interface", "vip")
            .withoutExemplars()
            .register(registry);
    requestsRefused =
        Counter.builder()
            .name("vipgress_l2_requests_refused_total")
            .help(
                "Requests for an announced VIP not answered because its fencing deadline had"
                    + " passed")
            .labelNames("interface", "vip")
            .withoutExemplars()
            .register(registry);
    conflicts =
        Counter.builder()
            .name("vipgress_l2_conflicts_total")
            .help("ARP/NDP frames in which another station claimed a VIP this node announces")
            .labelNames("interface", "vip")
            .withoutExemplars()
            .register(registry);
    malformed =
        Counter.builder()
            .name("vipgress_l2_malformed_frames_total")
            .help("Received ARP/NDP frames dropped as invalid (checksum, hop limit, length)")
            .labelNames("interface")
            .withoutExemplars()
            .register(registry);
    sendErrors =
        Counter.builder()
            .name("vipgress_l2_send_errors_total")
            .help("Frames that could not be sent")
            .labelNames("interface")
            .withoutExemplars()
            .register(registry);
    interfaceUp =
        Gauge.builder()
            .name("vipgress_l2_interface_up")
            .help("1 while an announcing interface is up and its capture runs")
            .labelNames("interface")
            .withoutExemplars()
            .register(registry);
    liveVips =
        Gauge.builder()
            .name("vipgress_l2_vips_announced")
            .help("VIPs announced and before their fencing deadline")
            .withoutExemplars()
            .register(registry);
  }

  void garpSent(String iface, InetAddress vip) {
    garpsSent.labelValues(iface, Addresses.format(vip)).inc();
  }

  void answered(String iface, InetAddress vip) {
    requestsAnswered.labelValues(iface, Addresses.format(vip)).inc();
  }

  void refused(String iface, InetAddress vip) {
    requestsRefused.labelValues(iface, Addresses.format(vip)).inc();
  }

  void conflict(String iface, InetAddress vip) {
    conflicts.labelValues(iface, Addresses.format(vip)).inc();
  }

  void malformed(String iface) {
    malformed.labelValues(iface).inc();
  }

  void sendError(String iface) {
    sendErrors.labelValues(iface).inc();
  }

  void interfaceUp(String iface, boolean up) {
    interfaceUp.labelValues(iface).set(up ? 1 : 0);
  }

  void liveVips(int n) {
    liveVips.set(n);
  }
}
