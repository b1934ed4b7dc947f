package dev.vipgress.nat;

import dev.vipgress.nat.CommandRunner.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code ip -force -batch -} / {@code bridge -force -batch -}: every line is tried, a refused
 * line costs only itself, and each is reported with the tool's own error.
 */
final class IpBatch {
  private static final Pattern FAILED = Pattern.compile("^Command failed -:(\\d+)$");

  private IpBatch() {}

  /** The lines the tool refused, each with the error it printed before saying so. */
  static List<ApplyResult.Refused> refused(List<String> lines, Result r) {
    List<ApplyResult.Refused> out = new ArrayList<>();
    if (r.ok()) {
      return out;
    }
    StringBuilder why = new StringBuilder();
    for (String l : r.stderr().split("\n")) {
      Matcher m = FAILED.matcher(l.strip());
      if (!m.matches()) {
        if (!l.isBlank()) {
          why.append(why.isEmpty() ? "" : " ").append(l.strip());
        }
        continue;
      }
      int n = Integer.parseInt(m.group(1));
      String line = n >= 1 && n <= lines.size() ? lines.get(n - 1) : "line " + n;
      out.add(new ApplyResult.Refused(line, why.isEmpty() ? "refused" : why.toString()));
      why.setLength(0);
    }
    if (out.isEmpty()) {
      throw new NatException("batch failed: " + r.stderr().strip() + " in " + lines);
    }
    return out;
  }
}
