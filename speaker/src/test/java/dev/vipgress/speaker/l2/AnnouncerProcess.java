package dev.vipgress.speaker.l2;

import dev.vipgress.nat.Addresses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@link L2AnnouncerMain} in a lab node's network namespace, driven over stdin/stdout. */
final class AnnouncerProcess implements AutoCloseable {
  private static final String PREFIX = "@l2 ";
  private static final Duration REPLY = Duration.ofSeconds(10);

  final String node;
  final Mac mac;
  private final LineProcess process;

  private AnnouncerProcess(String node, Mac mac, LineProcess process) {
    this.node = node;
    this.mac = mac;
    this.process = process;
  }

  /** What start-up printed: the process, or the error line it exited with. */
  record Started(Optional<AnnouncerProcess> process, String error) {}

  /** Starts and waits until the announcer runs; fails the test otherwise. */
  static AnnouncerProcess start(
      String netns, String node, Mac mac, List<String> wrapper, String... flags)
      throws InterruptedException {
    Started s = tryStart(netns, node, mac, wrapper, List.of(), flags);
    return s.process().orElseThrow(() -> new AssertionError(node + ": " + s.error()));
  }

  static Started tryStart(
      String netns,
      String node,
      Mac mac,
      List<String> wrapper,
      List<String> jvmFlags,
      String... flags)
      throws InterruptedException {
    List<String> cmd = new ArrayList<>(wrapper);
    cmd.add(javaBinary());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-Dorg.pcap4j.core.pcapLibName=" + libpcap());
    cmd.add("-Djna.tmpdir=" + System.getProperty("java.io.tmpdir"));
    cmd.add("-Xmx64m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.addAll(jvmFlags);
    cmd.add("-cp");
    cmd.add(testClasspath());
    cmd.add(L2AnnouncerMain.class.getName());
    cmd.addAll(List.of(flags));
    LineProcess p = LineProcess.inNetns("l2-" + node, netns, cmd);
    Optional<String> first =
        p.await(
            0,
            l -> l.startsWith(PREFIX + "started") || l.startsWith(PREFIX + "error"),
            Duration.ofSeconds(60));
    if (first.isPresent() && first.get().startsWith(PREFIX + "started")) {
      return new Started(Optional.of(new AnnouncerProcess(node, mac, p)), "");
    }
    p.waitFor(Duration.ofSeconds(5));
    p.close();
    return new Started(
        Optional.empty(),
        first.map(l -> l.substring(PREFIX.length())).orElse("no start line")
            + "\nstdout: "
            + String.join("\n", p.lines())
            + "\nstderr: "
            + String.join("\n", p.stderr()));
  }

  /**
   * Announces with a fencing deadline {@code lease} from now (wall clock) and returns the deadline
   * in epoch milliseconds.
   */
  long announce(InetAddress vip, Duration lease) {
    long deadline = System.currentTimeMillis() + lease.toMillis();
    process.send("announce " + Addresses.format(vip) + " " + deadline);
    return deadline;
  }

  /** Announces and waits for the process to confirm; returns when it called announce() (µs). */
  long announceAndWait(InetAddress vip, Duration lease) throws InterruptedException {
    int from = process.size();
    announce(vip, lease);
    String line =
        process
            .await(
                from, l -> l.startsWith(PREFIX + "announced " + Addresses.format(vip) + " "), REPLY)
            .orElseThrow(() -> new AssertionError(node + " did not confirm announce"));
    return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
  }

  void withdrawAndWait(InetAddress vip) throws InterruptedException {
    int from = process.size();
    process.send("withdraw " + Addresses.format(vip));
    var unused =
        process
            .await(from, l -> l.equals(PREFIX + "withdrawn " + Addresses.format(vip)), REPLY)
            .orElseThrow(() -> new AssertionError(node + " did not confirm withdraw"));
  }

  boolean healthy() throws InterruptedException {
    int from = process.size();
    process.send("health");
    String line =
        process
            .await(from, l -> l.startsWith(PREFIX + "health "), REPLY)
            .orElseThrow(() -> new AssertionError(node + " did not answer health"));
    return line.split(" ")[2].equals("true");
  }

  /** Index to pass to {@link #awaitHealthEvent} to see only later events. */
  int mark() {
    return process.size();
  }

  /** Waits for a health callback line with the given value at or after {@code from}. */
  boolean awaitHealthEvent(int from, boolean value, Duration timeout) throws InterruptedException {
    return process
        .await(from, l -> l.startsWith(PREFIX + "health " + value + " "), timeout)
        .isPresent();
  }

  /** All vipgress_l2_* series: {@code name{labels}} to value. */
  Map<String, Double> metrics() throws InterruptedException {
    int from = process.size();
    process.send("metrics");
    var unused =
        process
            .await(from, l -> l.equals(PREFIX + "metrics-end"), REPLY)
            .orElseThrow(() -> new AssertionError(node + " did not print metrics"));
    Map<String, Double> out = new HashMap<>();
    List<String> lines = process.lines();
    for (String l : lines.subList(from, lines.size())) {
      if (l.startsWith(PREFIX + "metric ")) {
        String rest = l.substring((PREFIX + "metric ").length());
        int sp = rest.lastIndexOf(' ');
        out.put(rest.substring(0, sp), Double.parseDouble(rest.substring(sp + 1)));
      }
    }
    return out;
  }

  double metric(String name, String iface, InetAddress vip) throws InterruptedException {
    return metrics()
        .getOrDefault(
            name + "{interface=\"" + iface + "\",vip=\"" + Addresses.format(vip) + "\"}", 0.0);
  }

  void signal(String sig) throws IOException, InterruptedException {
    process.signal(sig);
  }

  boolean isAlive() {
    return process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  List<String> output() {
    return process.lines();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        process.signal("CONT");
      } catch (IOException e) {
        // gone meanwhile
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process.send("quit");
      try {
        process.waitFor(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (UncheckedIOException e) {
        // stdin closed
      }
    }
    process.close();
  }

  @Override
  public String toString() {
    return "announcer@" + node + "[pid " + process.pid() + "]";
  }

  static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The test JVM's class path: surefire/failsafe put the real one in java.class.path too. */
  static String testClasspath() {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    return cp;
  }

  static String libpcap() {
    for (String p :
        List.of(
            "/usr/lib/x86_64-linux-gnu/libpcap.so.0.8",
            "/usr/lib/aarch64-linux-gnu/libpcap.so.0.8",
            "/usr/lib64/libpcap.so.1",
            "/usr/lib/libpcap.so.1")) {
      if (Files.exists(Path.of(p))) {
        return p;
      }
    }
    throw new UncheckedIOException(
        new IOException("libpcap not found; apt-get install libpcap0.8"));
  }
}
