package dev.vipgress.election;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One elector as a process, a lab tool for the ITs and {@code make bench-election} (so it lives
 * with the tests, not in the module's main code): prints every event as a JSON line on stdout (with
 * its {@link System#nanoTime()}, comparable across processes of one host) and takes commands on
 * stdin ({@code healthy true|false}, {@code candidacy a,b,c}, {@code metrics}, {@code close}).
 * SIGTERM closes the elector gracefully.
 */
@Command(name = "elector", mixinStandardHelpOptions = true, description = "One LeaseElector.")
public final class ElectorMain implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--kubeconfig", required = true, description = "kubeconfig of the API server")
  String kubeconfig;

  @Option(names = "--namespace", required = true, description = "namespace of the Leases")
  String namespace;

  @Option(names = "--node", required = true, description = "this elector's node name")
  String node;

  @Option(names = "--vips", split = ",", description = "VIPs to compete for")
  List<String> vips = List.of();

  @Option(names = "--vip-count", description = "compete for N consecutive IPv4 VIPs")
  int vipCount;

  @Option(names = "--vip-base", description = "first of --vip-count (default ${DEFAULT-VALUE})")
  String vipBase = "10.20.0.0";

  @Option(names = "--lease-duration-ms")
  Long leaseDurationMs;

  @Option(names = "--renew-interval-ms")
  Long renewIntervalMs;

  @Option(names = "--startup-grace-ms")
  Long startupGraceMs;

  @Option(names = "--api-concurrency")
  Integer apiConcurrency;

  @Option(names = "--owner-events", description = "also print ownerChanged events")
  boolean ownerEvents;

  public static void main(String[] args) {
    System.exit(new CommandLine(new ElectorMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    ElectionConfig.Builder b = ElectionConfig.builder(namespace);
    if (leaseDurationMs != null) {
      b.leaseDuration(java.time.Duration.ofMillis(leaseDurationMs));
    }
    if (renewIntervalMs != null) {
      b.renewInterval(java.time.Duration.ofMillis(renewIntervalMs));
    }
    if (apiConcurrency != null) {
      b.apiConcurrency(apiConcurrency);
    }
    if (startupGraceMs != null) {
      b.startupGrace(java.time.Duration.ofMillis(startupGraceMs));
    }
    ElectionConfig config = b.build();
    PrintStream out =
        new PrintStream(
            new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
            false,
            StandardCharsets.UTF_8);
    JsonLines lines = new JsonLines(out, ownerEvents);

    ApiClient client = Config.fromConfig(kubeconfig);
    LeaseElector elector = new LeaseElector(config, client, node, lines);
    elector.setCandidacy(candidacy());
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  elector.close();
                  lines.line(lines.event("closed"));
                  lines.flush();
                  closed.countDown();
                }));
    elector.start();
    lines.line(lines.event("started").put("node", node).put("pid", ProcessHandle.current().pid()));

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String cmd;
    while ((cmd = in.readLine()) != null) {
      String[] w = cmd.trim().split("\\s+", 2);
      switch (w[0]) {
        case "healthy" -> elector.setHealthy(Boolean.parseBoolean(w[1]));
        case "candidacy" ->
            elector.setCandidacy(
                w.length < 2 ? Set.of() : new LinkedHashSet<>(Arrays.asList(w[1].split(","))));
        case "metrics" -> {
          ElectionMetrics m = elector.metrics();
          lines.line(
              lines
                  .event("metrics")
                  .put("requests", m.apiRequests())
                  .put("renewals", m.renewals())
                  .put("owned", m.ownedVips())
                  .put("fences", m.fences())
                  .put("conflicts", m.conflicts()));
        }
        case "close" -> System.exit(0);
        default -> {}
      }
    }
    closed.await(); // stdin closed: keep running until SIGTERM / SIGKILL
    return 0;
  }

  Set<String> candidacy() {
    Set<String> out = new LinkedHashSet<>(vips);
    long start = VipAddress.parse(vipBase).value().longValueExact();
    for (long i = 0; i < vipCount; i++) {
      long a = start + i;
      out.add((a >> 24 & 255) + "." + (a >> 16 & 255) + "." + (a >> 8 & 255) + "." + (a & 255));
    }
    return out;
  }

  /**
   * The listener: one JSON object per line (renewals: one line per heartbeat). Lines carry the time
   * of the call; output is flushed every few milliseconds, not per line, so thousands of events do
   * not slow the elector's event thread.
   */
  private static final class JsonLines implements ElectionListener {
    private final PrintStream out;
    private final boolean ownerEvents;

    JsonLines(PrintStream out, boolean ownerEvents) {
      this.out = out;
      this.ownerEvents = ownerEvents;
      Thread.ofPlatform()
          .daemon()
          .name("elector-main-flush")
          .start(
              () -> {
                while (true) {
                  try {
                    Thread.sleep(5);
                  } catch (InterruptedException e) {
                    return;
                  }
                  flush();
                }
              });
    }

    ObjectNode event(String ev) {
      return JSON.createObjectNode().put("ev", ev).put("t", System.nanoTime());
    }

    synchronized void line(ObjectNode o) {
      out.println(o.toString());
    }

    synchronized void flush() {
      out.flush();
    }

    @Override
    public void acquired(String vip, long deadline) {
      line(event("acquired").put("vip", vip).put("deadline", deadline));
    }

    @Override
    public void renewed(String vip, long deadline) {
      renewedAll(Set.of(vip), deadline);
    }

    @Override
    public void renewedAll(Set<String> vips, long deadline) {
      line(event("renewed").put("n", vips.size()).put("deadline", deadline));
    }

    @Override
    public void lost(String vip) {
      lost(vip, LossReason.TAKEN);
    }

    @Override
    public void lost(String vip, LossReason reason) {
      line(event("lost").put("vip", vip).put("reason", reason.name()));
    }

    @Override
    public void ownerChanged(String vip, Optional<String> node) {
      if (ownerEvents) {
        line(event("owner").put("vip", vip).put("node", node.orElse("")));
      }
    }
  }
}
