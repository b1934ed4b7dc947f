package dev.vipgress.nat;

import static dev.vipgress.nat.NatLab.VIP4;
import static dev.vipgress.nat.NatLab.VIP6;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import dev.vipgress.lab.LabExtension;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The egress datapath beside kube-proxy in iptables mode (Debian's iptables: the nf_tables backend,
 * so kube-proxy's chains live in {@code table ip nat} / {@code ip filter} next to our {@code inet}
 * table). node3's kube-proxy is switched to iptables mode for this test only (through the lab, by
 * its recorded PID) and back to nftables mode in {@code finally}.
 */
@ExtendWith(LabExtension.class)
class NatBesideIptablesKubeProxyIT {
  private static final NatLab.Layout LAYOUT =
      new NatLab.Layout(List.of("node1-p1", "node3-p1"), true);
  private static final String NODE = "node3";

  @Test
  void backendsNonBackendsAndServiceTrafficBesideIptablesKubeProxy(Lab lab) {
    NatLab nl = new NatLab(lab);
    nl.awaitQuiet(Duration.ofMinutes(3));
    try {
      mode(lab, "iptables");
      assertEquals("iptables", lab.status().path("kubeProxyModes").path(NODE).asText());
      String nat4 = lab.execOk(NODE, "iptables-save", "-t", "nat");
      String clusterIp =
          lab.kubectl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
              .orThrow("kubectl get svc kubernetes")
              .stdout()
              .trim();
      assertTrue(nat4.contains(":KUBE-SERVICES"), "kube-proxy's iptables chains: " + nat4);
      assertTrue(nat4.contains(clusterIp + "/32"), "it programmed the kubernetes Service");
      String tables = lab.execOk(NODE, "nft", "list", "tables");
      assertFalse(tables.contains("table ip kube-proxy"), "no nftables-mode rules: " + tables);

      NatLab.Agent a1 = nl.agent("node1", "node1", LAYOUT);
      NatLab.Agent a2 = nl.agent("node2", "node1", LAYOUT);
      NatLab.Agent a3 = nl.agent(NODE, "node1", LAYOUT);
      nl.announce("node1", true);
      assertTrue(
          lab.execOk(NODE, "nft", "list", "tables").contains("table inet " + NatLab.TABLE),
          "our table beside iptables-nft's");

      assertEquals(VIP4, nl.seenBy("node3-p1", false), "steered backend egresses as the VIP");
      assertEquals(VIP6, nl.seenBy("node3-p1", true), "and as the IPv6 VIP");
      assertEquals(VIP4, nl.seenBy("node1-p1", false), "the owner's local backend too");
      assertEquals(nl.slotIp("node3-p2", false), nl.seenBy("node3-p2", false), "not a backend");
      assertEquals(nl.slotIp("node3-p2", true), nl.seenBy("node3-p2", true), "not a backend");

      // Service traffic from pods, backend or not, still goes through kube-proxy's iptables DNAT
      for (String slot : List.of("node3-p1", "node3-p2")) {
        ExecResult r =
            lab.exec(
                Duration.ofSeconds(15),
                slot,
                "curl",
                "-sk",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "https://" + clusterIp + ":443/livez");
        String code = r.stdout().trim();
        assertTrue(
            code.matches("[1-5]\\d\\d"),
            slot + " reaches the apiserver via " + clusterIp + ": " + r);
      }
      String ct = lab.exec(NODE, "conntrack", "-L", "-d", clusterIp).stdout();
      assertTrue(
          ct.contains("src=" + lab.ipv4("cp") + " dst=" + nl.slotIp("node3-p1", false)),
          "kube-proxy's DNAT to the apiserver, not our steering, carried it: " + ct);

      // an established flow of the steered backend survives a planned move beside it
      NatLab.Probe flow = nl.flow("node3-p1", false);
      assertTrue(flow.peer.startsWith(VIP4), flow.peer);
      NatLab.sleep(300);
      a2.set("node2", LAYOUT);
      nl.announce("node2", true);
      a1.set("node2", LAYOUT);
      a3.set("node2", LAYOUT);
      long done = System.currentTimeMillis();
      assertTrue(flow.echoesAfter(done, Duration.ofSeconds(30)), "flow survives: " + flow.closed);
      assertEquals(VIP4, nl.seenBy("node3-p1", false), "new connections via the new owner");
      assertTrue(
          lab.execOk(NODE, "iptables-save", "-t", "nat").contains(":KUBE-SERVICES"),
          "kube-proxy's rules untouched by our transactions");
    } finally {
      nl.close();
      mode(lab, "nftables");
    }
    assertTrue(lab.execOk(NODE, "nft", "list", "tables").contains("table ip kube-proxy"));
    assertFalse(
        lab.execOk(NODE, "iptables-save", "-t", "nat").contains("KUBE-SERVICES"),
        "iptables-mode rules cleaned up");
  }

  private static void mode(Lab lab, String mode) {
    lab.cli(Duration.ofMinutes(2), "kube-proxy", NODE, "--mode", mode)
        .orThrow("lab kube-proxy " + NODE + " --mode " + mode);
  }
}
