package dev.vipgress.speaker.l2;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** start() fails with a message that names what is missing and how to fix it. */
@ExtendWith(LabExtension.class)
class L2AnnouncerStartIT {
  private static final String NODE = "node3";
  private Lab lab;

  @BeforeEach
  void setUp(Lab lab) {
    this.lab = lab;
  }

  private String startError(List<String> wrapper, List<String> jvmFlags, String iface)
      throws InterruptedException {
    AnnouncerProcess.Started s =
        AnnouncerProcess.tryStart(
            lab.netns(NODE), NODE, Mac.ZERO, wrapper, jvmFlags, "--iface", iface);
    s.process().ifPresent(AnnouncerProcess::close);
    assertTrue(s.process().isEmpty(), "start() should have failed");
    return s.error();
  }

  @Test
  void withoutCapNetRawTheErrorNamesTheCapability() throws Exception {
    String e = startError(List.of("setpriv", "--bounding-set", "-net_raw"), List.of(), "eth0");
    assertTrue(e.startsWith("error ") && e.contains("CAP_NET_RAW") && e.contains("eth0"), e);
  }

  @Test
  void withoutLibpcapTheErrorSaysHowToInstallIt() throws Exception {
    String e =
        startError(
            List.of(),
            List.of("-Dorg.pcap4j.core.pcapLibName=/nonexistent/libpcap.so.0.8"),
            "eth0");
    assertTrue(e.startsWith("error ") && e.contains("libpcap") && e.contains("apt-get"), e);
  }

  @Test
  void aMissingInterfaceIsNamedWithTheOnesThatExist() throws Exception {
    String e = startError(List.of(), List.of(), "nosuch0");
    assertTrue(e.startsWith("error ") && e.contains("nosuch0") && e.contains("eth0"), e);
  }
}
