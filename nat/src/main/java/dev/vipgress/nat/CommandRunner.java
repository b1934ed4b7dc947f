package dev.vipgress.nat;

import java.time.Duration;
import java.util.List;

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
}
