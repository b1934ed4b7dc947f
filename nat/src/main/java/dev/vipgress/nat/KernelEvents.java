package dev.vipgress.nat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which lines of {@code ip -o monitor link route rule} can mean the kernel no longer holds what the
 * datapath wrote: a change of an uplink or of the tunnel device (a link going down flushes the IPv4
 * routes through it without any route event, and the tunnel's neighbours and FDB with it), any
 * route or rule event of the steering tables, and a restarted monitor (events may have been
 * missed).
 */
final class KernelEvents {
  private static final Pattern LINK = Pattern.compile("^(?:Deleted )?\\d+: ([^:@\\s]+)[@:]");
  private static final Pattern TABLE = Pattern.compile(" (?:table|lookup) (\\d+)(?:\\s|$)");

  private KernelEvents() {}

  /** The monitor's command line. */
  static java.util.List<String> command(NatConfig c) {
    return java.util.List.of(c.ip(), "-o", "monitor", "link", "route", "rule");
  }

  static boolean relevant(String line, NatConfig c) {
    if (line.isBlank()) {
      return true;
    }
    Matcher l = LINK.matcher(line);
    if (l.find()) {
      String dev = l.group(1);
      return c.uplinks().contains(dev) || (c.vxlan() && dev.equals(c.vxlanDevice()));
    }
    Matcher t = TABLE.matcher(line);
    if (t.find()) {
      long table = Long.parseLong(t.group(1));
      return table >= c.routeTableBase() && table < (long) c.routeTableBase() + c.maxSlots();
    }
    return false;
  }
}
