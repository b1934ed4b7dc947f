package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_HEADER;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ERR_ROUTE_REFRESH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_BAD_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_BAD_TYPE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_NOT_SYNCHRONIZED;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MARKER_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MAX_MESSAGE_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MIN_NOTIFICATION_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MIN_OPEN_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MIN_UPDATE_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ROUTE_REFRESH_INVALID_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.ROUTE_REFRESH_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.TYPE_KEEPALIVE;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.TYPE_NOTIFICATION;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.TYPE_OPEN;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.TYPE_ROUTE_REFRESH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.TYPE_UPDATE;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts the TCP stream into whole messages and checks the 19-octet header (RFC 4271 §4.1, §6.1):
 * marker all ones, length within 19..4096 and the type's bounds, a known type. Emits each message,
 * header included, as a {@link ByteBuf}. A bad header raises {@link BgpProtocolException} with the
 * header error NOTIFICATION; after it everything received is dropped (the session is over).
 */
public final class BgpFramer extends ByteToMessageDecoder {
  private boolean failed;

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (in.readableBytes() < HEADER_LENGTH) {
      return;
    }
    int start = in.readerIndex();
    int length;
    try {
      length = checkHeader(in, start);
    } catch (BgpProtocolException e) {
      failed = true;
      in.skipBytes(in.readableBytes());
      throw e;
    }
    if (in.readableBytes() < length) {
      return;
    }
    out.add(in.readRetainedSlice(length));
  }

  /** Returns the message length, or throws with the RFC 4271 §6.1 NOTIFICATION. */
  static int checkHeader(ByteBuf in, int start) {
    for (int i = 0; i < MARKER_LENGTH; i++) {
      if (in.getByte(start + i) != (byte) 0xff) {
        throw new BgpProtocolException(
            new Notification(ERR_HEADER, HEADER_NOT_SYNCHRONIZED), "marker is not all ones");
      }
    }
    int length = in.getUnsignedShort(start + MARKER_LENGTH);
    int type = in.getUnsignedByte(start + MARKER_LENGTH + 2);
    if (type < TYPE_OPEN || type > TYPE_ROUTE_REFRESH) {
      throw new BgpProtocolException(
          new Notification(ERR_HEADER, HEADER_BAD_TYPE, new byte[] {(byte) type}),
          "unknown message type " + type);
    }
    if (type == TYPE_ROUTE_REFRESH && length != ROUTE_REFRESH_LENGTH) {
      // RFC 7313 §5 (updates RFC 2918): its own error code for this one
      throw new BgpProtocolException(
          new Notification(ERR_ROUTE_REFRESH, ROUTE_REFRESH_INVALID_LENGTH, headerLength(length)),
          "ROUTE-REFRESH of length " + length);
    }
    if (length < minLength(type) || length > maxLength(type)) {
      throw new BgpProtocolException(
          new Notification(ERR_HEADER, HEADER_BAD_LENGTH, headerLength(length)),
          "bad length " + length + " for message type " + type);
    }
    return length;
  }

  private static byte[] headerLength(int length) {
    return new byte[] {(byte) (length >> 8), (byte) length};
  }

  private static int minLength(int type) {
    return switch (type) {
      case TYPE_OPEN -> MIN_OPEN_LENGTH;
      case TYPE_UPDATE -> MIN_UPDATE_LENGTH;
      case TYPE_NOTIFICATION -> MIN_NOTIFICATION_LENGTH;
      case TYPE_ROUTE_REFRESH -> ROUTE_REFRESH_LENGTH;
      default -> HEADER_LENGTH;
    };
  }

  private static int maxLength(int type) {
    return type == TYPE_KEEPALIVE ? HEADER_LENGTH : MAX_MESSAGE_LENGTH;
  }
}
