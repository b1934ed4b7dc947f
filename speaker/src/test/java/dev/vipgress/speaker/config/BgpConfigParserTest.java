package dev.vipgress.speaker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.Family;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BgpConfigParserTest {
  @Test
  void noBgpSectionMeansNoPeers() throws Exception {
    assertEquals(BgpConfig.NONE, ConfigLoader.parse("{}", "t").bgp());
  }

  @Test
  void readsPeersWithDefaultsFromTheSection() throws Exception {
    BgpConfig b =
        ConfigLoader.parse(
                """
                bgp:
                  localASN: 4200000011
                  communities: ["64512:100"]
                  peers:
                    - address: 192.168.100.1
                      peerASN: 64512
                    - address: fd76:100::1
                      peerASN: 64512
                      localASN: 65001
                      port: 1179
                      holdTime: 9s
                      keepalive: 3s
                      password: s3cret
                      sourceAddress: fd76:100::11
                      ebgpMultihop: 2
                      routerID: 10.0.0.11
                      nodeSelector: {rack: a}
                      families: [ipv6]
                """,
                "t")
            .bgp();
    assertEquals(List.of(Community.parse("64512:100")), b.communities());
    BgpConfig.Peer p = b.peers().get(0);
    assertEquals(InetAddress.getByName("192.168.100.1"), p.address());
    assertEquals(179, p.port());
    assertEquals(4_200_000_011L, p.localAsn());
    assertEquals(Duration.ofSeconds(90), p.holdTime());
    assertEquals(Set.of(Family.IPV4_UNICAST, Family.IPV6_UNICAST), p.families());
    assertEquals(Optional.empty(), p.password());
    BgpConfig.Peer q = b.peers().get(1);
    assertEquals(65001, q.localAsn());
    assertEquals("[fd76:100:0:0:0:0:0:1]:1179", q.name());
    assertEquals(Duration.ofSeconds(9), q.holdTime());
    assertEquals(Optional.of("s3cret"), q.password());
    assertEquals(2, q.ebgpMultihop());
    assertEquals(Map.of("rack", "a"), q.nodeSelector());
    assertEquals(Set.of(Family.IPV6_UNICAST), q.families());
    assertFalse(q.toString().contains("s3cret"), "the password never reaches a log");
    assertTrue(q.selects(Map.of("rack", "a", "zone", "1")));
    assertFalse(q.selects(Map.of("rack", "b")));
  }

  @Test
  void everyPeerErrorIsNamedAtOnce() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
                    bgp:
                      communities: ["70000:1"]
                      peers:
                        - address: router1
                          peerASN: 64512
                        - address: 192.168.100.1
                          peerASN: 4294967296
                          localASN: 65001
                          holdTime: 2s
                          sourceAddress: fd76::1
                          families: [ipv5]
                          color: blue
                        - address: 192.168.100.2
                          localASN: 65001
                          peerASN: 65001
                          ebgpMultihop: 3
                    """,
                    "t"));
    String all = String.join("\n", e.errors());
    for (String want :
        List.of(
            "bgp.communities: community 70000:1",
            "bgp.peers[0].address 'router1' is not an IP address",
            "bgp.peers[0] (router1): no localASN",
            "peerASN 4294967296 must be an AS number",
            "holdTime 2s must be 0 or whole seconds from 3s to 65535s",
            "sourceAddress fd76:0:0:0:0:0:0:1 is not of the peer's family",
            "'ipv5' is not ipv4 or ipv6",
            "unknown key 'color'",
            "ebgpMultihop applies to eBGP only")) {
      assertTrue(all.contains(want), "missing '" + want + "' in:\n" + all);
    }
  }

  @Test
  void aPeerListedTwiceForTheSameNodesIsRejected() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
                    bgp:
                      localASN: 65001
                      peers:
                        - {address: 192.168.100.1, peerASN: 64512}
                        - {address: 192.168.100.1, peerASN: 64513}
                    """,
                    "t"));
    assertTrue(e.errors().get(0).contains("listed twice"), e.errors().toString());
  }
}
