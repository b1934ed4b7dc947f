package dev.vipgress.speaker.observe;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** The speaker's own metrics, named {@code vipgress_<subsystem>_<name>}. */
public final class SpeakerMetrics {
  public final Gauge ownedVips;
  public final Gauge vips;
  public final Counter transitions;
  public final Histogram takeoverSeconds;
  public final Histogram natApplySeconds;
  public final Counter natApplyFailures;
  public final Counter natRefused;
  public final Counter apiErrors;
  public final Gauge configStale;
  public final Counter problems;

  public SpeakerMetrics(PrometheusRegistry registry) {
    ownedVips =
        Gauge.builder()
            .name("vipgress_speaker_owned_vips")
            .help("VIPs this node owns (announces and SNATs to)")
            .register(registry);
    vips =
        Gauge.builder()
            .name("vipgress_speaker_vips")
            .help("VIPs opted in by Services, by mode")
            .labelNames("mode")
            .register(registry);
    transitions =
        Counter.builder()
            .name("vipgress_speaker_transitions_total")
            .help("ownership transitions on this node")
            .labelNames("kind")
            .register(registry);
    takeoverSeconds =
        Histogram.builder()
            .name("vipgress_speaker_takeover_seconds")
            .help("lease acquired until SNAT installed and announced")
            .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
            .register(registry);
    natApplySeconds =
        Histogram.builder()
            .name("vipgress_nat_apply_seconds")
            .help("time of one nat apply (one nft transaction plus conntrack clean-up)")
            .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
            .register(registry);
    natApplyFailures =
        Counter.builder()
            .name("vipgress_nat_apply_failures_total")
            .help("nat applies that failed and were retried")
            .register(registry);
    natRefused =
        Counter.builder()
            .name("vipgress_nat_refused_elements_total")
            .help("datapath elements the kernel refused (each retried on its own)")
            .register(registry);
    apiErrors =
        Counter.builder()
            .name("vipgress_k8s_api_errors_total")
            .help("failed apiserver requests, by resource")
            .labelNames("resource")
            .register(registry);
    configStale =
        Gauge.builder()
            .name("vipgress_config_stale")
            .help(
                "1 when the configuration file changed to something invalid and the last good one is kept")
            .register(registry);
    problems =
        Counter.builder()
            .name("vipgress_speaker_service_problems_total")
            .help("problems found in opted-in Services, by reason")
            .labelNames("reason")
            .register(registry);
  }
}
