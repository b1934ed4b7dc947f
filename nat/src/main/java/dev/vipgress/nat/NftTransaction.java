package dev.vipgress.nat;

import dev.vipgress.nat.CommandRunner.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Commits an nft script so that one unusable element costs only itself. nft transactions are
 * atomic: one refused element refuses the whole script. nft names the refused element (line and
 * columns on stdin), so the element is taken out of its line and the rest committed again, for a
 * few rounds; an error nft does not pin on an element fails the transaction as a whole.
 */
final class NftTransaction {
  /** How many times a script is re-committed without its refused elements. */
  static final int ROUNDS = 4;

  private static final Pattern ERROR =
      Pattern.compile("^/dev/stdin:(\\d+):(\\d+)(?:-(\\d+))?: Error: (.*)$", Pattern.MULTILINE);

  /** Where nft placed an error: 1-based line and column of stdin, and its message. */
  record Location(int line, int column, String message) {}

  private NftTransaction() {}

  /**
   * Commits {@code script} through {@code nft}; returns the elements left out.
   *
   * @throws NatException when the script fails in a way no element explains, or still fails after
   *     {@link #ROUNDS} rounds
   */
  static List<ApplyResult.Refused> commit(List<String> script, Function<List<String>, Result> nft) {
    List<ApplyResult.Refused> refused = new ArrayList<>();
    List<String> lines = script;
    for (int round = 0; round < ROUNDS; round++) {
      Result r = nft.apply(lines);
      if (r.ok()) {
        return refused;
      }
      List<Location> errors = errors(r.stderr());
      Map<Integer, TreeSet<Integer>> drop = new TreeMap<>();
      for (Location e : errors) {
        String line = e.line() <= lines.size() ? lines.get(e.line() - 1) : "";
        int index = elementAt(line, e.column());
        if (index < 0) {
          throw new NatException("nft transaction failed: " + r.stderr().strip());
        }
        if (drop.computeIfAbsent(e.line(), k -> new TreeSet<>()).add(index)) {
          refused.add(
              new ApplyResult.Refused(
                  head(line) + " { " + elements(line).get(index) + " }",
                  "nft refused it: " + e.message()));
        }
      }
      if (drop.isEmpty()) {
        throw new NatException("nft transaction failed: " + r.stderr().strip());
      }
      List<String> next = new ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        TreeSet<Integer> d = drop.get(i + 1);
        if (d == null) {
          next.add(lines.get(i));
          continue;
        }
        List<String> keep = new ArrayList<>(elements(lines.get(i)));
        for (int k : d.descendingSet()) {
          keep.remove(k);
        }
        if (!keep.isEmpty()) {
          next.add(head(lines.get(i)) + " { " + String.join(", ", keep) + " }");
        }
      }
      lines = next;
    }
    throw new NatException(
        "nft transaction still failed after leaving out " + refused.size() + " elements");
  }

  /** Every error location nft printed. */
  static List<Location> errors(String stderr) {
    List<Location> out = new ArrayList<>();
    Matcher m = ERROR.matcher(stderr);
    while (m.find()) {
      out.add(new Location(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(4)));
    }
    return out;
  }

  /**
   * The index of the element of an {@code add/delete element ... { a, b }} line that covers 1-based
   * {@code column}, or -1 if the column is not on an element.
   */
  static int elementAt(String line, int column) {
    int open = line.indexOf(" { ");
    if (!line.contains(" element ") || open < 0 || !line.endsWith(" }")) {
      return -1;
    }
    int pos = open + 3; // 0-based start of the first element
    List<String> els = elements(line);
    for (int i = 0; i < els.size(); i++) {
      int end = pos + els.get(i).length();
      if (column - 1 >= pos && column - 1 < end) {
        return i;
      }
      pos = end + 2;
    }
    return -1;
  }

  private static String head(String line) {
    return line.substring(0, line.indexOf(" { "));
  }

  private static List<String> elements(String line) {
    int open = line.indexOf(" { ");
    return List.of(line.substring(open + 3, line.length() - 2).split(", "));
  }
}
