package dev.vipgress.speaker.model;

import java.util.List;
import java.util.Map;

/** What the planner needs of a Node. */
public record NodeInfo(
    String name, List<String> internalIps, boolean ready, Map<String, String> labels) {
  public NodeInfo {
    internalIps = List.copyOf(internalIps);
    labels = Map.copyOf(labels);
  }
}
