package dev.vipgress.speaker.bgp.codec;

import io.netty.handler.codec.DecoderException;

/**
 * A received message that RFC 4271 / RFC 7606 answers with a NOTIFICATION and a reset of this one
 * session: carries the NOTIFICATION to send.
 */
public final class BgpProtocolException extends DecoderException {
  private static final long serialVersionUID = 1L;

  private final transient Notification notification;

  public BgpProtocolException(Notification notification, String message) {
    super(message);
    this.notification = notification;
  }

  public BgpProtocolException(Notification notification, String message, Throwable cause) {
    super(message, cause);
    this.notification = notification;
  }

  public Notification notification() {
    return notification;
  }
}
