package dev.vipgress.speaker.l2;

/**
 * The ICMPv6 checksum: the 16-bit one's complement of the one's complement sum over the IPv6
 * pseudo-header (RFC 8200 section 8.1) and the ICMPv6 message (RFC 4443 section 2.3).
 */
final class Icmpv6Checksum {
  private Icmpv6Checksum() {}

  /**
   * The checksum of the ICMPv6 message at {@code frame[offset..offset+length)} between {@code
   * source} and {@code destination} (16 bytes each). Computing it over a message whose checksum
   * field holds a correct checksum gives 0.
   */
  static int compute(byte[] source, byte[] destination, byte[] frame, int offset, int length) {
    long sum = 0;
    sum += sum16(source, 0, 16);
    sum += sum16(destination, 0, 16);
    sum += (length >>> 16) & 0xFFFF;
    sum += length & 0xFFFF;
    sum += L2Constants.IPPROTO_ICMPV6;
    sum += sum16(frame, offset, length);
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    return (int) (~sum & 0xFFFF);
  }

  private static long sum16(byte[] b, int offset, int length) {
    long sum = 0;
    int i = offset;
    int end = offset + length;
    for (; i + 1 < end; i += 2) {
      sum += ((b[i] & 0xFF) << 8) | (b[i + 1] & 0xFF);
    }
    if (i < end) {
      sum += (b[i] & 0xFF) << 8;
    }
    return sum;
  }
}
