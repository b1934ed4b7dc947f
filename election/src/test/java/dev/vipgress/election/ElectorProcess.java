package dev.vipgress.election;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@link ElectorMain} in a child JVM (so it can be SIGKILLed), its JSON event lines fed into a
 * {@link Timeline}. Stopped only through its own process handle.
 */
final class ElectorProcess implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  final String node;
  private final Process process;
  private final Writer stdin;
  private final Timeline timeline;
  final ConcurrentHashMap<String, Long> owned = new ConcurrentHashMap<>();
  private final List<String> lines = new ArrayList<>();
  private final List<String> errors = new ArrayList<>();
  private volatile boolean started;
  private final java.util.concurrent.CountDownLatch outDone =
      new java.util.concurrent.CountDownLatch(1);

  private ElectorProcess(String node, Process process, Timeline timeline) {
    this.node = node;
    this.process = process;
    this.timeline = timeline;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread.ofPlatform().daemon().name("elector-" + node + "-out").start(this::readOut);
    Thread.ofPlatform().daemon().name("elector-" + node + "-err").start(this::readErr);
  }

  static ElectorProcess start(
      String kubeconfig, String namespace, String node, Set<String> vips, Timeline timeline) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isEmpty()) {
      cp = System.getProperty("java.class.path");
    }
    List<String> cmd =
        List.of(
            java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-cp",
            cp,
            ElectorMain.class.getName(),
            "--kubeconfig",
            kubeconfig,
            "--namespace",
            namespace,
            "--node",
            node,
            "--vips",
            String.join(",", vips));
    try {
      Process p = new ProcessBuilder(cmd).start();
      ElectorProcess ep = new ElectorProcess(node, p, timeline);
      long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!ep.started) {
        if (!p.isAlive() || System.nanoTime() > end) {
          throw new AssertionError("elector " + node + " did not start: " + ep.errors);
        }
        Thread.sleep(20);
      }
      return ep;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private void readOut() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        handle(l);
      }
    } catch (IOException e) {
      // process gone
    } finally {
      outDone.countDown();
    }
  }

  private void readErr() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        synchronized (errors) {
          errors.add(l);
        }
      }
    } catch (IOException e) {
      // process gone
    }
  }

  private void handle(String line) {
    synchronized (lines) {
      lines.add(line);
    }
    JsonNode n;
    try {
      n = JSON.readTree(line);
    } catch (IOException e) {
      return; // not an event line
    }
    String ev = n.path("ev").asText(null);
    String vip = n.path("vip").asText(null);
    long t = n.path("t").asLong();
    long deadline = n.path("deadline").asLong();
    if (ev == null) {
      return;
    }
    switch (ev) {
      case "started" -> started = true;
      case "acquired" -> {
        owned.put(vip, deadline);
        timeline.add(new Timeline.Event(t, node, "acquired", vip, deadline, null));
      }
      case "renewed" -> {
        long d = deadline;
        owned.replaceAll((k, v) -> d);
        timeline.add(new Timeline.Event(t, node, "renewed", null, deadline, null));
      }
      case "lost" -> {
        owned.remove(vip);
        timeline.add(new Timeline.Event(t, node, "lost", vip, 0, null));
      }
      default -> {}
    }
  }

  Set<String> ownedNow() {
    long now = System.nanoTime();
    Set<String> s = new java.util.TreeSet<>();
    owned.forEach(
        (v, d) -> {
          if (d - now > 0) {
            s.add(v);
          }
        });
    return s;
  }

  void command(String line) throws IOException {
    stdin.write(line + "\n");
    stdin.flush();
  }

  long pid() {
    return process.pid();
  }

  /**
   * SIGKILL, through the process handle: {@code Process.destroy*} would also close our ends of its
   * pipes and lose the lines it wrote last.
   */
  void kill() throws InterruptedException {
    process.toHandle().destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
    outDone.await(5, TimeUnit.SECONDS);
  }

  /** SIGTERM: the elector releases its VIPs. */
  void terminate() throws InterruptedException {
    process.toHandle().destroy();
    process.waitFor(20, TimeUnit.SECONDS);
    outDone.await(5, TimeUnit.SECONDS);
  }

  String stdout() {
    synchronized (lines) {
      return String.join("\n", lines);
    }
  }

  String stderr() {
    synchronized (errors) {
      return String.join("\n", errors);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
