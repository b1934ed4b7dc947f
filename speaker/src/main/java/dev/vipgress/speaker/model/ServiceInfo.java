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
 */
public record ServiceInfo(
    ServiceKey key,
    String type,
    Map<String, String> labels,
    List<String> ingressIps,
    Instant created) {
  public ServiceInfo {
    labels = Map.copyOf(labels);
    ingressIps = List.copyOf(ingressIps);
  }

  /** A Service whose creation time is unknown (ordered by name among such). */
  public ServiceInfo(
      ServiceKey key, String type, Map<String, String> labels, List<String> ingressIps) {
    this(key, type, labels, ingressIps, Instant.EPOCH);
  }
}
