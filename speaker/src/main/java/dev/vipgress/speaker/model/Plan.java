package dev.vipgress.speaker.model;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/** The planner's output: every valid VIP, and the problems of the Services it had to skip. */
public record Plan(Map<InetAddress, VipSpec> vips, List<Problem> problems) {
  public Plan {
    vips = Map.copyOf(vips);
    problems = List.copyOf(problems);
  }
}
