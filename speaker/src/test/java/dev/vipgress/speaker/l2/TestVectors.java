package dev.vipgress.speaker.l2;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Frames captured from Linux in {@code testdata/*.hex} ('#' comments, hex in any spacing). */
final class TestVectors {
  private TestVectors() {}

  static byte[] load(String name) {
    try (InputStream in = TestVectors.class.getResourceAsStream("testdata/" + name + ".hex")) {
      if (in == null) {
        throw new IllegalArgumentException("no test vector " + name);
      }
      StringBuilder hex = new StringBuilder();
      for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
        if (!line.startsWith("#")) {
          hex.append(line.replaceAll("\\s", ""));
        }
      }
      return HexFormat.of().parseHex(hex);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
