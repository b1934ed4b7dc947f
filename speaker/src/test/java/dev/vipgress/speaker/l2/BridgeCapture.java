package dev.vipgress.speaker.l2;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * tcpdump on a lab interface (the LAN bridge {@code br0} in {@code vg-lan} sees every frame between
 * the hosts), kept as text lines with epoch timestamps.
 */
final class BridgeCapture implements AutoCloseable {
  static final String FILTER = "arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))";

  /** One captured frame: epoch time in µs, Ethernet source, tcpdump's one-line summary. */
  record Frame(long epochMicros, Mac source, String text) {
    boolean isArpReplyFor(String vip) {
      return text.contains("Reply " + vip + " is-at ");
    }

    boolean isAdvertisementFor(String vip) {
      return text.contains("neighbor advertisement") && text.contains("tgt is " + vip + ",");
    }

    boolean isAnswerFor(String vip) {
      return isArpReplyFor(vip) || isAdvertisementFor(vip);
    }

    /** An ARP request or a neighbour solicitation asking for {@code vip}. */
    boolean isRequestFor(String vip) {
      return (text.contains("Request who-has " + vip + " tell ") && !isGratuitousArpFor(vip))
          || (text.contains("neighbor solicitation") && text.endsWith("who has " + vip));
    }

    boolean isGratuitousArpFor(String vip) {
      return text.contains("Request who-has " + vip + " tell " + vip + ",");
    }
  }

  private final LineProcess tcpdump;

  private BridgeCapture(LineProcess tcpdump) {
    this.tcpdump = tcpdump;
  }

  static BridgeCapture start(String netns, String iface) throws InterruptedException {
    LineProcess p =
        LineProcess.inNetns(
            "tcpdump-" + iface,
            netns,
            List.of("tcpdump", "-i", iface, "-l", "-nn", "-e", "-tt", "-vv", FILTER));
    if (!p.awaitStderr(l -> l.contains("listening on"), Duration.ofSeconds(10))) {
      p.close();
      throw new AssertionError("tcpdump did not start: " + p.stderr());
    }
    return new BridgeCapture(p);
  }

  /** Frames so far. tcpdump -vv prints NDP options on extra indented lines; they are skipped. */
  List<Frame> frames() {
    List<Frame> out = new ArrayList<>();
    for (String l : tcpdump.lines()) {
      if (l.isEmpty() || Character.isWhitespace(l.charAt(0))) {
        continue;
      }
      String[] w = l.split(" ", 3);
      if (w.length < 3) {
        continue;
      }
      String[] ts = w[0].split("\\.");
      long micros = Long.parseLong(ts[0]) * 1_000_000 + Long.parseLong(ts[1]);
      out.add(new Frame(micros, Mac.parse(w[1]), w[2]));
    }
    return out;
  }

  /**
   * For each answer from {@code mac}, the time since the request for the same VIP just before it,
   * as seen on the capture point (µs).
   */
  List<Double> answerDelays(Mac mac, String vip) {
    List<Double> out = new ArrayList<>();
    Frame lastRequest = null;
    for (Frame f : frames()) {
      if (f.isRequestFor(vip)) {
        lastRequest = f;
      } else if (f.source().equals(mac) && f.isAnswerFor(vip) && lastRequest != null) {
        out.add((double) (f.epochMicros() - lastRequest.epochMicros()));
        lastRequest = null;
      }
    }
    return out;
  }

  /** Lets tcpdump flush what it has, then stops it. */
  void stop() throws InterruptedException {
    Thread.sleep(300);
    tcpdump.close();
  }

  @Override
  public void close() {
    tcpdump.close();
  }
}
