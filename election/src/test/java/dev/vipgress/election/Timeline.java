package dev.vipgress.election;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every ownership event of every elector of a lab test (in-process or child JVM), on the host's
 * monotonic clock ({@link System#nanoTime()} is CLOCK_MONOTONIC, shared by processes of one host).
 * {@link #violations()} replays them in time order: an acquisition while another node has not
 * reported lost() and its fencing deadline has not passed is a dual owner.
 */
final class Timeline {
  /** {@code vips} null on a renewal means every VIP the node owns. */
  record Event(long t, String node, String type, String vip, long deadline, Set<String> vips) {}

  private final List<Event> events = new ArrayList<>();

  synchronized void add(Event e) {
    events.add(e);
  }

  synchronized List<Event> events() {
    return List.copyOf(events);
  }

  synchronized List<String> violations() {
    List<Event> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(Event::t));
    Map<String, Map<String, Long>> owners = new HashMap<>();
    List<String> out = new ArrayList<>();
    for (Event e : sorted) {
      switch (e.type()) {
        case "acquired" -> {
          Map<String, Long> m = owners.computeIfAbsent(e.vip(), k -> new HashMap<>());
          for (var o : m.entrySet()) {
            if (!o.getKey().equals(e.node()) && o.getValue() - e.t() > 0) {
              out.add(
                  String.format(
                      "%s: %s acquired while %s owned it for %.1f ms more",
                      e.vip(), e.node(), o.getKey(), (o.getValue() - e.t()) / 1e6));
            }
          }
          m.put(e.node(), e.deadline());
        }
        case "renewed" -> {
          for (var m : owners.entrySet()) {
            if ((e.vips() == null || e.vips().contains(m.getKey()))
                && m.getValue().containsKey(e.node())) {
              m.getValue().put(e.node(), e.deadline());
            }
          }
        }
        case "lost" -> {
          Map<String, Long> m = owners.get(e.vip());
          if (m != null) {
            m.remove(e.node());
          }
        }
        default -> {}
      }
    }
    return out;
  }

  /** Time of the first acquisition of {@code vip} by any node other than {@code except} after t. */
  synchronized long firstAcquiredAfter(String vip, String except, long t) {
    return events.stream()
        .filter(e -> e.type().equals("acquired") && e.vip().equals(vip))
        .filter(e -> !e.node().equals(except) && e.t() >= t)
        .mapToLong(Event::t)
        .min()
        .orElse(-1);
  }
}
