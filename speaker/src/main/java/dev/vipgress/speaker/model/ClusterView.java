package dev.vipgress.speaker.model;

import java.util.List;
import java.util.Map;

/** A consistent snapshot of the watched objects the planner reads. */
public record ClusterView(
    Map<ServiceKey, ServiceInfo> services,
    Map<ServiceKey, List<EndpointInfo>> endpoints,
    Map<String, NodeInfo> nodes) {
  public ClusterView {
    services = Map.copyOf(services);
    endpoints = Map.copyOf(endpoints);
    nodes = Map.copyOf(nodes);
  }
}
