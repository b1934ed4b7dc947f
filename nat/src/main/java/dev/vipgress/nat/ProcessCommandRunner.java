package dev.vipgress.nat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Runs programs as child processes. */
public final class ProcessCommandRunner implements CommandRunner {

  @Override
  public Result run(List<String> argv, String stdin, Duration timeout) {
    return run(argv, () -> stdin, timeout);
  }

  @Override
  public Result run(List<String> argv, Supplier<String> stdin, Duration timeout) {
    Process p;
    try {
      p = new ProcessBuilder(argv).start();
    } catch (IOException e) {
      String tool = argv.get(0);
      String msg = String.valueOf(e.getMessage()) + " " + e.getCause();
      if (msg.contains("error=2") || msg.contains("No such file or directory")) {
        throw new NatException.MissingTool(tool, packageOf(tool));
      }
      throw new NatException("cannot start " + tool + ": " + e.getMessage(), e);
    }
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try (OutputStream in = p.getOutputStream()) {
      String text = stdin.get();
      if (!text.isEmpty()) {
        in.write(text.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      // the program exited without reading; its exit code and stderr tell why
    }
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new NatException(argv.get(0) + " did not finish within " + timeout);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new NatException("interrupted while running " + argv.get(0), e);
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  @Override
  public Watch watch(List<String> argv, Consumer<String> onLine) {
    java.util.concurrent.atomic.AtomicBoolean closed =
        new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<Process> current =
        new java.util.concurrent.atomic.AtomicReference<>();
    Thread t =
        Thread.ofVirtual()
            .name("nat-watch")
            .start(
                () -> {
                  while (!closed.get()) {
                    try {
                      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
                      current.set(p);
                      if (closed.get()) {
                        p.destroy();
                      }
                      try (var r =
                          new java.io.BufferedReader(
                              new java.io.InputStreamReader(
                                  p.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = r.readLine()) != null) {
                          onLine.accept(line);
                        }
                      }
                      p.waitFor();
                    } catch (IOException e) {
                      // cannot start it: try again below
                    } catch (InterruptedException e) {
                      return;
                    }
                    if (!closed.get()) {
                      // it exited (or never started): events may have been missed
                      onLine.accept("");
                      try {
                        Thread.sleep(1000);
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  }
                });
    return () -> {
      closed.set(true);
      Process p = current.get();
      if (p != null) {
        p.destroy();
      }
      t.interrupt();
    };
  }

  /** The Debian package that ships a tool (for error messages). */
  static String packageOf(String tool) {
    String name = tool.substring(tool.lastIndexOf('/') + 1);
    return switch (name) {
      case "nft" -> "nftables";
      case "conntrack" -> "conntrack";
      case "ip", "bridge" -> "iproute2";
      default -> name;
    };
  }

  private static CompletableFuture<String> drain(InputStream s) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (s) {
            return new String(s.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        r -> Thread.ofVirtual().name("nat-cmd-io").start(r));
  }
}
