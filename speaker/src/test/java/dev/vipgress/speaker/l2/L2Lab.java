package dev.vipgress.speaker.l2;

import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The lab as the L2 tests use it: announcers on nodes, and ext's view of the VIP. */
final class L2Lab {
  static final String EXT = "ext";

  /** A VIP as printed by iproute2/tcpdump ({@code literal}) and as an address. */
  record Vip(String literal, InetAddress address) {
    static Vip of(String literal) {
      try {
        return new Vip(literal, InetAddress.getByName(literal));
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException(e);
      }
    }

    boolean v6() {
      return address instanceof Inet6Address;
    }

    @Override
    public String toString() {
      return literal;
    }
  }

  /** One arping reply: who answered and how long it took (µs, measured on ext). */
  record ArpingReply(Mac mac, double micros) {}

  private static final Pattern ARPING =
      Pattern.compile("from (\\S+) \\(.*time=([0-9.]+) (usec|msec)");
  private static final Pattern LLADDR = Pattern.compile("lladdr (\\S+)");

  final Lab lab;

  L2Lab(Lab lab) {
    this.lab = lab;
  }

  Mac mac(String host) {
    return Mac.parse(lab.mac(host));
  }

  String iface(String host) {
    return lab.host(host).path("iface").asText("eth0");
  }

  AnnouncerProcess announcer(String node, String... extraFlags) throws InterruptedException {
    List<String> flags = new ArrayList<>(List.of("--iface", iface(node)));
    flags.addAll(List.of(extraFlags));
    return AnnouncerProcess.start(
        lab.netns(node), node, mac(node), List.of(), flags.toArray(String[]::new));
  }

  /** ext's neighbour entry for the VIP, if it has a link-layer address. */
  Optional<Mac> extEntry(Vip vip) {
    ExecResult r =
        lab.exec(EXT, "ip", vip.v6() ? "-6" : "-4", "neigh", "show", vip.literal(), "dev", "eth0");
    Matcher m = LLADDR.matcher(r.stdout());
    return m.find() ? Optional.of(Mac.parse(m.group(1))) : Optional.empty();
  }

  /** Makes ext's kernel resolve the VIP from scratch (flush, then one ping that nobody answers). */
  Optional<Mac> extResolve(Vip vip) {
    extFlush(vip);
    extPing(vip);
    return extEntry(vip);
  }

  void extFlush(Vip vip) {
    flush(EXT, vip);
  }

  /** Removes the neighbour entries the test caused (ext resolving, nodes forwarding the ping). */
  void flushEverywhere(Vip vip, String... hosts) {
    for (String h : hosts) {
      flush(h, vip);
    }
  }

  private void flush(String host, Vip vip) {
    lab.exec(
        host,
        "ip",
        vip.v6() ? "-6" : "-4",
        "neigh",
        "flush",
        "to",
        vip.literal(),
        "dev",
        iface(host));
  }

  /** A ping to the VIP: the kernel resolves (or re-resolves) it first; the echo itself is lost. */
  void extPing(Vip vip) {
    lab.exec(EXT, "ping", vip.v6() ? "-6" : "-4", "-c", "1", "-W", "0.5", vip.literal());
  }

  /** ARP requests from ext's arping (its own socket; ext's neighbour table is not touched). */
  List<ArpingReply> arping(Vip vip, int count) {
    ExecResult r =
        lab.exec(
            EXT,
            "arping",
            "-c",
            Integer.toString(count),
            "-W",
            "0.05",
            "-w",
            Integer.toString(2 + count / 5),
            "-i",
            "eth0",
            vip.literal());
    List<ArpingReply> out = new ArrayList<>();
    for (String line : r.stdout().split("\n")) {
      Matcher m = ARPING.matcher(line);
      if (m.find()) {
        double t = Double.parseDouble(m.group(2));
        out.add(new ArpingReply(Mac.parse(m.group(1)), m.group(3).equals("msec") ? t * 1000 : t));
      }
    }
    return out;
  }

  /** Requests for the VIP from ext: arping for IPv4; a fresh kernel resolution for IPv6. */
  void probe(Vip vip, int count) {
    if (vip.v6()) {
      for (int i = 0; i < count; i++) {
        extFlush(vip);
        extPing(vip);
      }
    } else {
      arping(vip, count);
    }
  }

  static double percentile(List<Double> values, double p) {
    List<Double> s = new ArrayList<>(values);
    s.sort(null);
    int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
    return s.get(Math.max(0, Math.min(s.size() - 1, i)));
  }
}
