package dev.vipgress.nat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** A scripted stand-in for nft, ip and conntrack that records what it was asked to do. */
final class FakeRunner implements CommandRunner {
  record Call(List<String> argv, String stdin) {
    String line() {
      return String.join(" ", argv);
    }
  }

  final List<Call> calls = new ArrayList<>();
  String listing = null; // null: no table
  String routes4 = "[]";
  String routes6 = "[]";
  String rules4 = "[]";
  String rules6 = "[]";
  String missing = null;
  String conntrackListing = "";
  final Deque<Result> nftResults = new ArrayDeque<>();

  /** Exact command line → its result, checked before everything else. */
  final java.util.Map<String, Result> scripted = new java.util.HashMap<>();

  static String resource(String name) {
    try (InputStream in = FakeRunner.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalArgumentException("no resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Result run(List<String> argv, String stdin, Duration timeout) {
    calls.add(new Call(argv, stdin));
    String tool = argv.get(0);
    if (tool.equals(missing)) {
      throw new NatException.MissingTool(tool, ProcessCommandRunner.packageOf(tool));
    }
    String line = String.join(" ", argv);
    Result canned = scripted.get(line);
    if (canned != null) {
      return canned;
    }
    if (line.startsWith("nft -j list table")) {
      return listing == null
          ? new Result(1, "", "Error: No such file or directory\nlist table inet vipgress\n")
          : new Result(0, listing, "");
    }
    if (line.equals("ip -j -4 route show table all")) {
      return new Result(0, routes4, "");
    }
    if (line.equals("ip -j -6 route show table all")) {
      return new Result(0, routes6, "");
    }
    if (line.equals("ip -j -4 rule show")) {
      return new Result(0, rules4, "");
    }
    if (line.equals("ip -j -6 rule show")) {
      return new Result(0, rules6, "");
    }
    if (line.equals("nft -f -")) {
      Result r = nftResults.poll();
      if (r == null) {
        r = new Result(0, "", "");
      }
      if (r.ok()) {
        commit(stdin);
      }
      return r;
    }
    if (tool.equals("conntrack") && argv.contains("-L")) {
      return new Result(0, conntrackListing, "");
    }
    if (tool.equals("conntrack") && argv.contains("-D")) {
      return new Result(
          1, "", "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n");
    }
    return new Result(0, "", "");
  }

  /**
   * The tracked elements of the table as the committed nft scripts left them (set name → key →
   * value; the heartbeat's {@code alive} set is left out): a model of the kernel.
   */
  final java.util.Map<String, java.util.Map<String, String>> kernel = new java.util.TreeMap<>();

  private void commit(String script) {
    for (String l : script.split("\n")) {
      if (l.startsWith("delete table ")) {
        kernel.clear();
        continue;
      }
      boolean add = l.startsWith("add element ");
      if (!add && !l.startsWith("delete element ")) {
        continue;
      }
      String[] w = l.split(" ", 6); // add element inet <table> <set> { ... }
      String set = w[4];
      if (set.equals("alive")) {
        continue;
      }
      java.util.Map<String, String> m = kernel.computeIfAbsent(set, k -> new java.util.TreeMap<>());
      String body = l.substring(l.indexOf(" { ") + 3, l.length() - 2);
      for (String item : body.split(", ")) {
        int colon = item.indexOf(" : ");
        String key = colon < 0 ? item : item.substring(0, colon);
        if (add) {
          m.put(key, colon < 0 ? "" : item.substring(colon + 3));
        } else {
          m.remove(key);
        }
      }
      if (m.isEmpty()) {
        kernel.remove(set);
      }
    }
  }

  /** What the running watch hands its lines to (null: none started). */
  java.util.function.Consumer<String> watcher;

  List<String> watchedCommand;

  @Override
  public Watch watch(List<String> argv, java.util.function.Consumer<String> onLine) {
    watchedCommand = argv;
    watcher = onLine;
    return () -> watcher = null;
  }

  List<Call> matching(String prefix) {
    return calls.stream().filter(c -> c.line().startsWith(prefix)).toList();
  }

  /** Every nft script run so far, joined. */
  String nftScripts() {
    StringBuilder b = new StringBuilder();
    for (Call c : matching("nft -f -")) {
      b.append(c.stdin()).append("----\n");
    }
    return b.toString();
  }
}
