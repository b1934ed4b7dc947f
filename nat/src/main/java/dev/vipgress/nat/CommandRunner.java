package dev.vipgress.nat;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Runs a program; the seam between the applier and the kernel tools (faked in tests). */
public interface CommandRunner {

  /** What a program printed and how it exited. */
  record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /**
   * Runs {@code argv} with {@code stdin} (may be empty) and waits for it.
   *
   * @throws NatException.MissingTool if the program does not exist
   * @throws NatException if it cannot be started or does not finish within {@code timeout}
   */
  Result run(List<String> argv, String stdin, Duration timeout);

  /**
   * Like {@link #run(List, String, Duration)}, but {@code stdin} is computed only once the program
   * is running (and ready to read it): what it holds is as fresh as it can be when the program acts
   * on it — the kernel heartbeat's expiry is computed this way.
   */
  default Result run(List<String> argv, Supplier<String> stdin, Duration timeout) {
    return run(argv, stdin.get(), timeout);
  }

  /**
   * Runs a long-lived program that prints events ({@code ip monitor}) and hands each line it prints
   * to {@code onLine}, on a thread of its own; restarted if it exits, until the returned handle is
   * closed. {@code onLine} must only record or enqueue.
   */
  Watch watch(List<String> argv, Consumer<String> onLine);

  /** A running {@link #watch}; closing it stops the program. */
  interface Watch extends AutoCloseable {
    @Override
    void close();
  }
}
