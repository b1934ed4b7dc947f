package dev.vipgress.speaker.announce;

/** An announcer cannot start; the message says what is missing and how to fix it. */
public final class AnnouncerException extends Exception {
  private static final long serialVersionUID = 1L;

  public AnnouncerException(String message) {
    super(message);
  }

  public AnnouncerException(String message, Throwable cause) {
    super(message, cause);
  }
}
