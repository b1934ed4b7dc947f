package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 5952 text, as nft, iproute2, tcpdump and the election's Lease names write addresses. */
class AddressesFormatTest {
  @ParameterizedTest
  @CsvSource({
    "fd76:100:0:0:0:0:0:241, fd76:100::241",
    "FD76:0100::0241, fd76:100::241",
    "::, ::",
    "::1, ::1",
    "fe80::, fe80::",
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
    "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
    "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
    "192.168.100.241, 192.168.100.241",
  })
  void formats(String in, String out) throws Exception {
    assertEquals(out, Addresses.format(InetAddress.getByName(in)));
  }

  @ParameterizedTest
  @CsvSource({"300.1.1.1", "1.2.3", "1.2.3.4.5", "example.com", "1..2.3", "fd76::zz", "''"})
  void rejectsWhatIsNotALiteralWithoutAskingTheResolver(String in) {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> Addresses.parse(in));
  }
}
