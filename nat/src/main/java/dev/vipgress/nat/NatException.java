package dev.vipgress.nat;

/** The egress datapath could not be programmed. */
public class NatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public NatException(String message) {
    super(message);
  }

  public NatException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A tool the datapath needs is not installed. */
  public static final class MissingTool extends NatException {
    private static final long serialVersionUID = 1L;

    public MissingTool(String tool, String debianPackage) {
      super(
          "the `"
              + tool
              + "` binary is missing; install it with `apt-get install "
              + debianPackage
              + "` (or set its path in NatConfig)");
    }
  }

  /**
   * The VXLAN device cannot be set up (no {@code vxlan} kernel module, a clashing VNI/port): the
   * node can still steer to owners on its own segment.
   */
  public static final class TunnelUnavailable extends NatException {
    private static final long serialVersionUID = 1L;

    public TunnelUnavailable(String message) {
      super(message);
    }
  }
}
