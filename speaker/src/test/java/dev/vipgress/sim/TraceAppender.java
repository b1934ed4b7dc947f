package dev.vipgress.sim;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * {@code make sim SEED=n SIM_OPTS=-Dsim.logs=true}: the code under test's log lines (INFO and up)
 * go into the replay trace at the simulated instant they were written. Replay only (one seed, one
 * thread).
 */
final class TraceAppender extends AppenderBase<ILoggingEvent> {
  private final World world;

  private TraceAppender(World world) {
    this.world = world;
  }

  static void install(World world) {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    TraceAppender a = new TraceAppender(world);
    a.setContext(root.getLoggerContext());
    a.start();
    root.detachAndStopAllAppenders();
    root.addAppender(a);
    root.setLevel(Level.INFO);
  }

  @Override
  protected void append(ILoggingEvent e) {
    StringBuilder b = new StringBuilder("log ");
    b.append(e.getLevel()).append(' ').append(e.getLoggerName().replaceAll(".*\\.", ""));
    b.append(": ").append(e.getFormattedMessage());
    if (e.getKeyValuePairs() != null) {
      for (KeyValuePair kv : e.getKeyValuePairs()) {
        b.append(' ').append(kv.key).append('=').append(kv.value);
      }
    }
    world.note(b.toString());
  }
}
