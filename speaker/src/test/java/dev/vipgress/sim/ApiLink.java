package dev.vipgress.sim;

import io.kubernetes.client.openapi.ApiException;

/**
 * One machine's connection to the API server: whether it gets through (outage for everyone, or this
 * machine partitioned from the API but not from its peers), how slow it is, and whether responses
 * get lost (the write may still have been applied).
 */
final class ApiLink {
  private final World world;
  private final SimApiServer server;
  boolean partitioned;
  long slowUntil = Long.MIN_VALUE;
  long slowMillis;
  long lossyUntil = Long.MIN_VALUE;
  double lossRate;

  ApiLink(World world, SimApiServer server) {
    this.world = world;
    this.server = server;
  }

  boolean reachable() {
    return !partitioned && !server.down();
  }

  private boolean slow() {
    return world.now() < slowUntil;
  }

  /** Time until a request reaches the server (or, when unreachable, until it fails). */
  long requestDelay() {
    if (!reachable()) {
      // refused at once, or a timeout
      return world.chance(0.5) ? world.micros(200, 2_000) : world.nanosBetween(200, 1_000);
    }
    return world.micros(200, 3_000) + (slow() ? world.nanosBetween(slowMillis / 2, slowMillis) : 0);
  }

  /** Time until the response is back with the caller. */
  long responseDelay() {
    return world.micros(100, 2_000) + (slow() ? world.nanosBetween(slowMillis / 2, slowMillis) : 0);
  }

  /** Before a request is served: fails it when the server is out of reach. */
  void beforeRequest() throws ApiException {
    if (!reachable()) {
      throw new ApiException(0, "connection refused (simulated)");
    }
    if (world.now() < lossyUntil && world.chance(lossRate)) {
      throw new ApiException(0, "request lost (simulated timeout)");
    }
  }

  /** After a write was applied: its response may still be lost. */
  void afterWrite() throws ApiException {
    if (world.now() < lossyUntil && world.chance(lossRate)) {
      throw new ApiException(0, "response lost after the write was applied (simulated timeout)");
    }
  }
}
