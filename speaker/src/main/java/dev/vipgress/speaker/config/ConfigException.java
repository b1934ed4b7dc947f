package dev.vipgress.speaker.config;

import java.util.List;

/**
 * A configuration was rejected; {@link #errors()} lists every problem found, not just the first.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;
  private final List<String> errors;

  public ConfigException(String source, List<String> errors) {
    super("invalid configuration " + source + ":\n  - " + String.join("\n  - ", errors));
    this.errors = List.copyOf(errors);
  }

  public List<String> errors() {
    return errors;
  }
}
