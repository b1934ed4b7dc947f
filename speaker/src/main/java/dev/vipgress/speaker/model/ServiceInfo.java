package dev.vipgress.speaker.model;

import java.util.List;
import java.util.Map;

/**
 * What the planner needs of a Service.
 *
 * @param type spec.type
 * @param ingressIps status.loadBalancer.ingress[].ip, as the IPAM wrote them (unvalidated)
 */
public record ServiceInfo(
    ServiceKey key, String type, Map<String, String> labels, List<String> ingressIps) {
  public ServiceInfo {
    labels = Map.copyOf(labels);
    ingressIps = List.copyOf(ingressIps);
  }
}
