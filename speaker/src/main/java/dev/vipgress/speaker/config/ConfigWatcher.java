package dev.vipgress.speaker.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration file when its content changes (a ConfigMap update swaps a symlink, so
 * content, not mtime, is compared). A bad change keeps the last good configuration: the caller is
 * told through {@code onStale} and keeps running.
 */
public final class ConfigWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);
  private final Path file;
  private final Consumer<SpeakerConfig> onChange;
  private final Consumer<ConfigException> onStale;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "config-watch");
            t.setDaemon(true);
            return t;
          });
  private String lastText;
  private volatile SpeakerConfig current;

  public ConfigWatcher(
      Path file,
      SpeakerConfig initial,
      Consumer<SpeakerConfig> onChange,
      Consumer<ConfigException> onStale) {
    this.file = file;
    this.current = initial;
    this.onChange = onChange;
    this.onStale = onStale;
    try {
      lastText = Files.readString(file);
    } catch (IOException e) {
      lastText = null;
    }
  }

  public SpeakerConfig current() {
    return current;
  }

  public void start() {
    var unused = timer.scheduleWithFixedDelay(this::check, 2, 2, TimeUnit.SECONDS);
  }

  void check() {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      return;
    }
    if (text.equals(lastText)) {
      return;
    }
    lastText = text;
    try {
      SpeakerConfig next = ConfigLoader.parse(text, file.toString());
      if (!next.equals(current)) {
        current = next;
        LOG.atInfo().addKeyValue("file", file.toString()).log("configChanged");
        onChange.accept(next);
      } else {
        onChange.accept(next);
      }
    } catch (ConfigException e) {
      LOG.atError()
          .addKeyValue("file", file.toString())
          .addKeyValue("errors", e.errors())
          .addKeyValue("keeping", "last-good")
          .log("configRejected");
      onStale.accept(e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
