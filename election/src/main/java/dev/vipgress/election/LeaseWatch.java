package dev.vipgress.election;

import io.kubernetes.client.openapi.models.V1Lease;
import java.util.List;

/**
 * A list-then-watch of the vipgress Leases of one namespace (label {@code
 * app.kubernetes.io/managed-by=vipgress}). After every (re)list it hands over the full list; then
 * every change, in the order the API server committed them.
 */
public interface LeaseWatch extends AutoCloseable {

  /** Receives what the watch sees; called from the watch's own thread. */
  interface Sink {
    /** Every Lease that exists, after a (re)list; Leases not in it are gone. */
    void snapshot(List<V1Lease> leases);

    /** {@code ADDED}, {@code MODIFIED} or {@code DELETED}. */
    void event(String type, V1Lease lease);

    /** The watch broke (it reconnects by itself); for logs and metrics. */
    void broken(Throwable cause);
  }

  void start(Sink sink);

  /** Requests made so far (list pages and watch starts). */
  default long requests() {
    return 0;
  }

  /** Drops the current connection and watches again from the last resource version seen. */
  void reconnect();

  @Override
  void close();
}
