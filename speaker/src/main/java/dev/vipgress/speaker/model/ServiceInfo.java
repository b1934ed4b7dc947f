package dev.vipgress.speaker.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the planner needs of a Service.
 *
 * @param type spec.type
 * @param ingressIps status.loadBalancer.ingress[].ip, as the IPAM wrote them (unvalidated)
 * @param created metadata.creationTimestamp: of two Services that disagree on a shared VIP, the
 *     older one keeps it
 * @param annotations the annotations under {@code vipgress.dev/bgp-} (BGP communities)
 */
public record ServiceInfo(
    ServiceKey key,
    String type,
    Map<String, String> labels,
    List<String> ingressIps,
    Instant created,
    Map<String, String> annotations) {
  public ServiceInfo {
    labels = Map.copyOf(labels);
    ingressIps = List.copyOf(ingressIps);
    annotations = Map.copyOf(annotations);
  }

  /** A Service without vipgress annotations. */
  public ServiceInfo(
      ServiceKey key,
      String type,
      Map<String, String> labels,
      List<String> ingressIps,
      Instant created) {
    this(key, type, labels, ingressIps, created, Map.of());
  }

  /** A Service whose creation time is unknown (ordered by name among such). */
  public ServiceInfo(
      ServiceKey key, String type, Map<String, String> labels, List<String> ingressIps) {
    this(key, type, labels, ingressIps, Instant.EPOCH);
  }
}
