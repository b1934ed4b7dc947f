package dev.vipgress.lab;

/** What a command run in a lab host printed and how it exited. */
public record ExecResult(int exitCode, String stdout, String stderr) {
  public boolean ok() {
    return exitCode == 0;
  }

  /** Throws unless the command exited 0, with everything it printed in the message. */
  public ExecResult orThrow(String what) {
    if (!ok()) {
      throw new LabException(
          what + " exited " + exitCode + "\nstdout: " + stdout + "\nstderr: " + stderr);
    }
    return this;
  }
}
