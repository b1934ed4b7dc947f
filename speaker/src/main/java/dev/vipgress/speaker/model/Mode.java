package dev.vipgress.speaker.model;

import java.util.Optional;

/** How a VIP is announced: the value of the label {@code vipgress.dev/announce}. */
public enum Mode {
  L2("l2"),
  BGP("bgp");

  private final String label;

  Mode(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static Optional<Mode> fromLabel(String value) {
    for (Mode m : values()) {
      if (m.label.equals(value)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }
}
