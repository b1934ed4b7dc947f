package dev.vipgress.speaker.bgp.transport;

import dev.vipgress.speaker.bgp.fsm.Ticker;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Session timers on the netty event loop that also runs the session: no locks, no threads. */
public record EventLoopTicker(EventLoop loop) implements Ticker {
  @Override
  public Scheduled schedule(Duration delay, Runnable task) {
    var f = loop.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }
}
