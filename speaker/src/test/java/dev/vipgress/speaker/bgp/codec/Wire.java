package dev.vipgress.speaker.bgp.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;

/** Builds raw BGP messages for tests, byte by byte as the RFCs lay them out. */
final class Wire {
  private Wire() {}

  static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replaceAll("\\s+", ""));
  }

  /** Header (marker, length, type) + body. */
  static byte[] message(int type, byte[] body) {
    ByteBuf b = Unpooled.buffer();
    for (int i = 0; i < 16; i++) {
      b.writeByte(0xff);
    }
    b.writeShort(19 + body.length);
    b.writeByte(type);
    b.writeBytes(body);
    return bytes(b);
  }

  /** An UPDATE: withdrawn-routes field, attributes, NLRI (each already encoded). */
  static byte[] update(byte[] withdrawn, byte[] attributes, byte[] nlri) {
    ByteBuf b = Unpooled.buffer();
    b.writeShort(withdrawn.length).writeBytes(withdrawn);
    b.writeShort(attributes.length).writeBytes(attributes);
    b.writeBytes(nlri);
    return message(2, bytes(b));
  }

  static byte[] attr(int flags, int type, byte[] value) {
    ByteBuf b = Unpooled.buffer();
    b.writeByte(flags).writeByte(type);
    if ((flags & 0x10) != 0) {
      b.writeShort(value.length);
    } else {
      b.writeByte(value.length);
    }
    b.writeBytes(value);
    return bytes(b);
  }

  static byte[] concat(byte[]... parts) {
    ByteBuf b = Unpooled.buffer();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return bytes(b);
  }

  /** ORIGIN IGP, AS_PATH [65001], NEXT_HOP 192.0.2.1: a valid IPv4 attribute set. */
  static byte[] baseAttributes() {
    return concat(
        attr(0x40, 1, hex("00")),
        attr(0x40, 2, hex("02 01 0000fde9")),
        attr(0x40, 3, hex("c0000201")));
  }

  static byte[] bytes(ByteBuf b) {
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(literal, e);
    }
  }
}
