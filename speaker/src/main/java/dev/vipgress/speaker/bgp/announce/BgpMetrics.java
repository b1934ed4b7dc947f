package dev.vipgress.speaker.bgp.announce;

import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** {@code vipgress_bgp_*}: per peer, session state, uptime, flaps and prefixes advertised. */
public final class BgpMetrics {
  private final Gauge established;
  private final Gauge uptime;
  private final Gauge flaps;
  private final Gauge prefixes;
  private final Set<String> known = new HashSet<>();

  public BgpMetrics(PrometheusRegistry registry) {
    established =
        Gauge.builder()
            .name("vipgress_bgp_session_established")
            .help("1 while the session to this peer is Established")
            .labelNames("peer")
            .register(registry);
    uptime =
        Gauge.builder()
            .name("vipgress_bgp_session_uptime_seconds")
            .help("time the session to this peer has been Established")
            .labelNames("peer")
            .register(registry);
    flaps =
        Gauge.builder()
            .name("vipgress_bgp_session_flaps")
            .help("how often the session to this peer left Established")
            .labelNames("peer")
            .register(registry);
    prefixes =
        Gauge.builder()
            .name("vipgress_bgp_prefixes_advertised")
            .help("host routes advertised to this peer")
            .labelNames("peer")
            .register(registry);
  }

  /** Sets every peer's series; series of peers no longer configured are removed. */
  void update(List<PeerStatus> peers) {
    Set<String> now = new HashSet<>();
    for (PeerStatus p : peers) {
      now.add(p.peer());
      established.labelValues(p.peer()).set(p.established() ? 1 : 0);
      uptime.labelValues(p.peer()).set(p.uptimeSeconds());
      flaps.labelValues(p.peer()).set(p.flaps());
      prefixes.labelValues(p.peer()).set(p.prefixes());
    }
    for (String gone : known) {
      if (!now.contains(gone)) {
        established.remove(gone);
        uptime.remove(gone);
        flaps.remove(gone);
        prefixes.remove(gone);
      }
    }
    known.clear();
    known.addAll(now);
  }
}
