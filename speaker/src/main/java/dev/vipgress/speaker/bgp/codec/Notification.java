package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.CEASE_ADMIN_RESET;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.CEASE_ADMIN_SHUTDOWN;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_CEASE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MAX_SHUTDOWN_MESSAGE;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;

/**
 * NOTIFICATION (RFC 4271 §4.5). Any code and subcode is representable: unknown ones are carried,
 * never rejected (RFC 4271 §6.4: a NOTIFICATION is never answered with one).
 */
public record Notification(int code, int subcode, byte[] data) implements BgpMessage {
  public Notification {
    if (code < 0 || code > 0xff || subcode < 0 || subcode > 0xff) {
      throw new IllegalArgumentException("code/subcode " + code + "/" + subcode + " out of range");
    }
    data = data.clone();
  }

  public Notification(int code, int subcode) {
    this(code, subcode, new byte[0]);
  }

  /**
   * Cease / Administrative Shutdown with a shutdown communication (RFC 8203, RFC 9003 §2): one
   * length octet and UTF-8, cut at a character boundary to 255 octets.
   */
  public static Notification shutdown(String message) {
    return cease(CEASE_ADMIN_SHUTDOWN, message);
  }

  /** Cease with the given subcode and a shutdown communication (empty message: no data). */
  public static Notification cease(int subcode, String message) {
    byte[] utf8 = truncateUtf8(message.getBytes(StandardCharsets.UTF_8));
    if (utf8.length == 0) {
      return new Notification(ERR_CEASE, subcode);
    }
    byte[] data = new byte[utf8.length + 1];
    data[0] = (byte) utf8.length;
    System.arraycopy(utf8, 0, data, 1, utf8.length);
    return new Notification(ERR_CEASE, subcode, data);
  }

  private static byte[] truncateUtf8(byte[] utf8) {
    int n = Math.min(utf8.length, MAX_SHUTDOWN_MESSAGE);
    // back off continuation bytes (10xxxxxx) so no character is cut in half
    while (n < utf8.length && n > 0 && (utf8[n] & 0xc0) == 0x80) {
      n--;
    }
    return Arrays.copyOf(utf8, n);
  }

  /**
   * The shutdown communication of a Cease 2 or 4 (RFC 9003 §2), when the data is one well-formed
   * length-prefixed UTF-8 string; anything else is empty (RFC 9003 §3: not a protocol error).
   */
  public Optional<String> shutdownMessage() {
    if (code != ERR_CEASE
        || (subcode != CEASE_ADMIN_SHUTDOWN && subcode != CEASE_ADMIN_RESET)
        || data.length == 0
        || (data[0] & 0xff) != data.length - 1) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(data, 1, data.length - 1))
              .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }

  @Override
  public byte[] data() {
    return data.clone();
  }

  @Override
  public int type() {
    return BgpConstants.TYPE_NOTIFICATION;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Notification n
        && n.code == code
        && n.subcode == subcode
        && Arrays.equals(n.data, data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * code + subcode) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "Notification[" + code + "/" + subcode + " " + HexFormat.of().formatHex(data) + "]";
  }
}
