package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class VipAddressTest {

  @ParameterizedTest
  @CsvSource({
    "192.168.100.200, 192.168.100.200, vip-192-168-100-200",
    "0.0.0.0, 0.0.0.0, vip-0-0-0-0",
    "fd76:100::200, fd76:100::200, vip-fd76-100--200",
    "FD76:0100:0000:0000:0000:0000:0000:0200, fd76:100::200, vip-fd76-100--200",
    "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1, vip-2001-db8--1-0-0-1",
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1, vip-2001-db8-0-1-1-1-1-1",
    "::1, ::1, vip---1",
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1, vip-2001-db8-0-1-1-1-1-1",
    "::, ::, vip---0",
    "2001:db8::, 2001:db8::, vip-2001-db8--0",
    "::ffff:10.1.2.3, 10.1.2.3, vip-10-1-2-3",
    "64:ff9b::192.0.2.33, 64:ff9b::c000:221, vip-64-ff9b--c000-221",
  })
  void canonicalTextAndLeaseName(String in, String literal, String lease) {
    VipAddress v = VipAddress.parse(in);
    assertEquals(literal, v.literal());
    assertEquals(lease, v.leaseName());
    assertEquals(v, VipAddress.fromLeaseName(lease), "the mapping inverts");
    assertTrue(lease.length() <= 253);
    assertTrue(lease.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?"), "a DNS subdomain: " + lease);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.-4",
        "example.com",
        "fe80::1%eth0",
        "1::2::3",
        "1:2:3:4:5:6:7:8:9",
        "12345::1",
        "g::1",
        "1:2:3:4:5:6:7"
      })
  void rejectsWhatIsNotAnAddressLiteral(String in) {
    assertThrows(IllegalArgumentException.class, () -> VipAddress.parse(in));
  }

  @ParameterizedTest
  @ValueSource(strings = {"node-a", "vip-", "vip-1-2-3", "vip-fd76-0100--0200", "vip-1-2-3-4-5"})
  void foreignNamesAreNotVips(String name) {
    assertNull(VipAddress.fromLeaseName(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.1", "fd76:100::1"})
  void familyIsKnown(String in) {
    assertEquals(in.contains(":"), VipAddress.parse(in).ipv6());
    assertFalse(VipAddress.parse(in).leaseName().endsWith("-"));
  }
}
