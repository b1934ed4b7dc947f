package dev.vipgress.speaker.bgp.fsm;

import java.time.Duration;

/**
 * Time as the FSM sees it: the netty event loop in production, a fake that tests advance by hand.
 * Tasks run on the session's thread.
 */
public interface Ticker {
  /** A scheduled task that can be cancelled before it runs. */
  interface Scheduled {
    void cancel();
  }

  Scheduled schedule(Duration delay, Runnable task);

  long nanoTime();
}
