package dev.vipgress.speaker.announce;

import java.net.InetAddress;

/**
 * Announces the VIPs this node owns by one protocol.
 *
 * <p>Fencing: every announcement carries a deadline on the {@link System#nanoTime()} clock. An
 * implementation stops announcing a VIP at that deadline on its own, even if nobody calls {@link
 * #withdraw} (the reconciler may be stuck, the JVM may have been frozen), so the deadline must be
 * earlier than the moment another node may take the VIP over. Re-announcing extends it.
 *
 * <p>Methods may be called from any thread; none blocks on the network.
 */
public interface Announcer extends AutoCloseable {

  /**
   * Opens what the protocol needs (capture handles, sessions).
   *
   * @throws AnnouncerException when that is impossible, with a message that names the missing piece
   *     (library, capability, interface) and how to provide it
   */
  void start() throws AnnouncerException;

  /**
   * Starts (or keeps) announcing {@code vip} until {@code fencingDeadlineNanos} ({@link
   * System#nanoTime()} clock). Idempotent; a later call with a later deadline extends it. A call
   * for a VIP that is not announced yet (or whose deadline had passed) is a takeover.
   */
  void announce(InetAddress vip, long fencingDeadlineNanos);

  /** Stops announcing {@code vip} at once. Unknown VIPs are ignored. */
  void withdraw(InetAddress vip);

  /**
   * Stops announcing all of {@code vips} at once (BGP: in as few UPDATEs as fit). Default: one by
   * one.
   */
  default void withdrawAll(java.util.Collection<InetAddress> vips) {
    vips.forEach(this::withdraw);
  }

  /**
   * Whether this announcer can announce at all (for L2: every announcing interface is up). The
   * daemon reports unhealthy to election while this is false.
   */
  boolean healthy();

  /**
   * Whether this announcer can announce {@code vip} now (BGP: an established session carries its
   * family). The node competes only for the VIPs it can announce. Default: {@link #healthy()}.
   */
  default boolean canAnnounce(InetAddress vip) {
    return healthy();
  }

  /** This node's labels as last seen (announcers that select peers by node label follow them). */
  default void nodeLabels(java.util.Map<String, String> labels) {}

  /**
   * Registers a callback run, on an announcer thread, whenever {@link #healthy()} flips. Callbacks
   * must not block (enqueue and return).
   */
  void onHealthChange(Runnable callback);

  /** Stops announcing everything and releases all resources. Idempotent. */
  @Override
  void close();
}
