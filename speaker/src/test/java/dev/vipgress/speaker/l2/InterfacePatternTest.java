package dev.vipgress.speaker.l2;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InterfacePatternTest {

  @ParameterizedTest
  @CsvSource({
    "eth0, eth0, true",
    "eth0, eth01, false",
    "eth*, eth0, true",
    "eth*, eth, true",
    "eth*, veth0, false",
    "en?0, ens0, true",
    "en?0, ens10, false",
    "bond[0-9], bond3, true",
    "bond[0-9], bonda, false",
    "eth[!0], eth1, true",
    "eth[!0], eth0, false",
    "eth[^0], eth0, false",
    "br-*, br-1a2b, true",
    "vlan.100, vlan.100, true",
    "vlan.100, vlanX100, false",
    "*, lo, true",
    "a[-b], -, false",
    "a[-b], a-, true",
    "e+h0, e+h0, true",
    "e+h0, eeh0, false",
  })
  void matches(String pattern, String name, boolean expected) {
    InterfacePattern p = InterfacePattern.compile(pattern);
    if (expected) {
      assertTrue(p.matches(name), pattern + " ~ " + name);
    } else {
      assertFalse(p.matches(name), pattern + " !~ " + name);
    }
  }

  @Test
  void globsAreToldFromNames() {
    assertFalse(InterfacePattern.compile("eth0").isGlob());
    assertTrue(InterfacePattern.compile("eth*").isGlob());
    assertTrue(InterfacePattern.compile("eth[01]").isGlob());
  }

  @Test
  void rejectsWhatCannotBeAnInterfaceName() {
    assertThrows(IllegalArgumentException.class, () -> InterfacePattern.compile(""));
    assertThrows(IllegalArgumentException.class, () -> InterfacePattern.compile("eth 0"));
    assertThrows(IllegalArgumentException.class, () -> InterfacePattern.compile("a/b"));
    assertThrows(IllegalArgumentException.class, () -> InterfacePattern.compile("eth[0"));
    assertThrows(
        IllegalArgumentException.class, () -> InterfacePattern.compile("averyveryverylongname"));
  }
}
