package dev.vipgress.speaker.l2;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A background process (announcer, tcpdump, {@code ip monitor}) whose stdout lines are kept with
 * the wall-clock time they arrived, so tests can wait for a line and look at everything later.
 * Stopped by its own PID only.
 */
final class LineProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final List<String> lines = new ArrayList<>();
  private final List<String> errLines = new ArrayList<>();
  private final Writer stdin;

  private LineProcess(String name, Process process) {
    this.name = name;
    this.process = process;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    pump(process.getInputStream(), lines, "out");
    pump(process.getErrorStream(), errLines, "err");
  }

  static LineProcess start(String name, List<String> command) {
    try {
      return new LineProcess(name, new ProcessBuilder(command).start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code ip netns exec NETNS command...}; ip execs the command, so the PID is the command's. */
  static LineProcess inNetns(String name, String netns, List<String> command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
    full.addAll(command);
    return start(name, full);
  }

  private void pump(InputStream in, List<String> into, String stream) {
    Thread.ofPlatform()
        .daemon()
        .name(name + "-" + stream)
        .start(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                  synchronized (this) {
                    into.add(l);
                    notifyAll();
                  }
                }
              } catch (IOException e) {
                // process gone
              }
            });
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  synchronized int size() {
    return lines.size();
  }

  synchronized List<String> lines() {
    return List.copyOf(lines);
  }

  synchronized List<String> stderr() {
    return List.copyOf(errLines);
  }

  /** The first stdout line at index {@code from} or later that matches, waiting up to timeout. */
  synchronized Optional<String> await(int from, Predicate<String> match, Duration timeout)
      throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    int i = from;
    while (true) {
      for (; i < lines.size(); i++) {
        if (match.test(lines.get(i))) {
          return Optional.of(lines.get(i));
        }
      }
      long left = end - System.nanoTime();
      if (left <= 0) {
        return Optional.empty();
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Waits for a stderr line (tcpdump says "listening on" there once the capture runs). */
  synchronized boolean awaitStderr(Predicate<String> match, Duration timeout)
      throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (errLines.stream().noneMatch(match)) {
      long left = end - System.nanoTime();
      if (left <= 0 || !process.isAlive()) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
    }
    return true;
  }

  void send(String line) {
    try {
      stdin.write(line + "\n");
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot write to stdin: " + e.getMessage(), e);
    }
  }

  /** Sends a signal to this process's PID (never by name). */
  void signal(String signal) throws IOException, InterruptedException {
    int rc =
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
            .inheritIO()
            .start()
            .waitFor();
    if (rc != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " exited " + rc);
    }
  }

  boolean waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** SIGTERM, then SIGKILL after 3 s; also resumes a stopped process first. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    try {
      signal("CONT");
      process.destroy();
      if (!process.waitFor(3, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(3, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  @Override
  public String toString() {
    return name + "[pid " + process.pid() + "]";
  }
}
