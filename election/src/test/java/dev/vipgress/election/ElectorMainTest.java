package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ElectorMainTest {
  @Test
  void argumentsGiveTheCandidacy() {
    ElectorMain m = new ElectorMain();
    new CommandLine(m)
        .parseArgs(
            "--kubeconfig",
            "k",
            "--namespace",
            "ns",
            "--node",
            "n1",
            "--vips",
            "10.0.0.1,10.0.0.2",
            "--vip-count",
            "2",
            "--vip-base",
            "10.20.0.255",
            "--lease-duration-ms",
            "2000");
    assertEquals(Set.of("10.0.0.1", "10.0.0.2", "10.20.0.255", "10.20.1.0"), m.candidacy());
    assertEquals(2000L, m.leaseDurationMs);
  }

  @Test
  void aMissingRequiredOptionIsAUsageError() {
    assertNotEquals(0, new CommandLine(new ElectorMain()).execute("--namespace", "ns"));
  }
}
