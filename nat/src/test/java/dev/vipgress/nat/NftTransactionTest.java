package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.nat.CommandRunner.Result;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One element the kernel refuses costs only itself; stderr as nft 1.0.6 and iproute2 print it. */
class NftTransactionTest {

  /** A stand-in for nft that refuses any line holding {@code bad}, pointing at it like nft. */
  private static Result nftRefusing(List<String> script, String bad, List<String> seen) {
    seen.add(String.join("\n", script));
    StringBuilder err = new StringBuilder();
    for (int i = 0; i < script.size(); i++) {
      int at = script.get(i).indexOf(bad);
      if (at >= 0) {
        err.append("/dev/stdin:")
            .append(i + 1)
            .append(':')
            .append(at + 1)
            .append('-')
            .append(at + bad.length())
            .append(": Error: Could not process rule: No such file or directory\n")
            .append(script.get(i))
            .append('\n');
      }
    }
    return err.isEmpty() ? new Result(0, "", "") : new Result(1, "", err.toString());
  }

  @Test
  void theRefusedElementIsTakenOutOfItsLineAndTheRestCommitted() {
    List<String> seen = new ArrayList<>();
    List<String> script =
        List.of(
            "delete element inet vipgress snat4 { 10.0.0.1, 10.9.9.9 }",
            "delete element inet vipgress steer4 { 10.9.9.9 }",
            "add element inet vipgress snat4 { 10.0.0.3 : 192.168.100.200 }");
    List<ApplyResult.Refused> refused =
        NftTransaction.commit(script, s -> nftRefusing(s, "10.9.9.9", seen));
    assertEquals(
        List.of(
            new ApplyResult.Refused(
                "delete element inet vipgress snat4 { 10.9.9.9 }",
                "nft refused it: Could not process rule: No such file or directory"),
            new ApplyResult.Refused(
                "delete element inet vipgress steer4 { 10.9.9.9 }",
                "nft refused it: Could not process rule: No such file or directory")),
        refused);
    assertEquals(
        "delete element inet vipgress snat4 { 10.0.0.1 }\n"
            + "add element inet vipgress snat4 { 10.0.0.3 : 192.168.100.200 }",
        seen.get(1));
  }

  @Test
  void aFailureNoElementExplainsFailsTheWholeTransaction() {
    NatException e =
        assertThrows(
            NatException.class,
            () ->
                NftTransaction.commit(
                    List.of("add element inet vipgress vips4 { 1.2.3.4 }"),
                    s ->
                        new Result(
                            1, "", "Error: Could not process rule: Device or resource busy")));
    assertTrue(e.getMessage().contains("Device or resource busy"), e.getMessage());
  }

  @Test
  void nftErrorLocationsAsNftPrintsThem() {
    String stderr =
        "/dev/stdin:2:38-45: Error: Could not process rule: No such file or directory\n"
            + "delete element inet vipgress snat4 { 10.9.9.9, 10.0.0.1 }\n"
            + "                                     ^^^^^^^^\n"
            + "/dev/stdin:4:36-56: Error: Could not process rule: File exists\n"
            + "add element inet vipgress snat4s { 10.0.0.5 . 8.8.8.0/25 : 1.1.1.1 }\n"
            + "                                   ^^^^^^^^^^^^^^^^^^^^^\n";
    assertEquals(
        List.of(
            new NftTransaction.Location(2, 38, "Could not process rule: No such file or directory"),
            new NftTransaction.Location(4, 36, "Could not process rule: File exists")),
        NftTransaction.errors(stderr));
    assertEquals(
        0,
        NftTransaction.elementAt(
            "add element inet vipgress snat4s { 10.0.0.5 . 8.8.8.0/25 : 1.1.1.1 }", 36));
    assertEquals(
        1,
        NftTransaction.elementAt("delete element inet vipgress snat4 { 10.0.0.1, 10.9.9.9 }", 48));
    assertEquals(-1, NftTransaction.elementAt("add table inet vipgress", 1));
  }

  @Test
  void ipForceBatchReportsEachRefusedLineWithItsError() {
    List<String> lines =
        List.of(
            "route replace default via 10.1.1.1 table 7600",
            "route replace throw 10.244.0.0/16 table 7600",
            "route replace default via fd76:100::11 table 7601");
    Result r =
        new Result(
            1,
            "",
            "Error: Nexthop has invalid gateway.\nCommand failed -:1\n"
                + "Error: Nexthop has invalid gateway.\nCommand failed -:3\n");
    assertEquals(
        List.of(
            new ApplyResult.Refused(lines.get(0), "Error: Nexthop has invalid gateway."),
            new ApplyResult.Refused(lines.get(2), "Error: Nexthop has invalid gateway.")),
        IpBatch.refused(lines, r));
    assertEquals(List.of(), IpBatch.refused(lines, new Result(0, "", "")));
  }
}
