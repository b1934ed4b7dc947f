package dev.vipgress.speaker.bgp.codec;

import static dev.vipgress.speaker.bgp.codec.BgpConstants.HEADER_LENGTH;
import static dev.vipgress.speaker.bgp.codec.BgpConstants.MARKER_LENGTH;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes a {@link BgpMessage}, header included (RFC 4271 §4.1). */
public final class BgpMessageEncoder extends MessageToByteEncoder<BgpMessage> {
  public BgpMessageEncoder() {
    super(BgpMessage.class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, BgpMessage msg, ByteBuf out) {
    encode(msg, out);
  }

  public static void encode(BgpMessage msg, ByteBuf out) {
    switch (msg) {
      case Keepalive k -> {
        for (int i = 0; i < MARKER_LENGTH; i++) {
          out.writeByte(0xff);
        }
        out.writeShort(HEADER_LENGTH);
        out.writeByte(BgpConstants.TYPE_KEEPALIVE);
      }
      case Open o -> OdlCodec.serialize(o, out);
      case Update u -> OdlCodec.serialize(u, out);
      case Notification n -> OdlCodec.serialize(n, out);
      case RouteRefresh r -> OdlCodec.serialize(r, out);
    }
  }
}
