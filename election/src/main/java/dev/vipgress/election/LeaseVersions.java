package dev.vipgress.election;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Decides which version of each Lease the view takes, without ever ordering resource versions: they
 * are opaque, and the API server promises only that equal means unchanged. Loop-confined.
 *
 * <p>The watch delivers every object's versions in commit order, but the response to one of this
 * node's writes (or a read) can overtake it. So once the view took a version from a response, it
 * waits for the watch to deliver that same version (its echo) and ignores what the watch delivers
 * for the object until then: those versions precede it. A response whose version the watch has
 * already delivered is no news (the view is at it or past it) and is ignored.
 *
 * <p>A re-list can be older or newer than a response the view took meanwhile; when it shows another
 * version than the awaited echo, the view keeps its own and the object is read again ({@link
 * Listed#READ_AGAIN}): a read returns the latest version, and whether the watch will still deliver
 * it follows from whether the list already held it.
 */
final class LeaseVersions {
  /** Versions remembered per object, to recognise a response the watch already delivered. */
  private static final int RECENT = 4;

  /** What to do with one entry of a re-list. */
  enum Listed {
    TAKE,
    READ_AGAIN
  }

  private final Map<String, String> echo = new HashMap<>();
  private final Map<String, ArrayDeque<String>> recent = new HashMap<>();

  /** Listed version (empty: absent) of objects read again after an ambiguous re-list. */
  private final Map<String, String> ambiguous = new HashMap<>();

  /** The watch delivered version {@code rv} of {@code name}: whether the view takes it. */
  boolean watched(String name, String rv) {
    if (rv == null) {
      return true;
    }
    remember(name, rv);
    String awaited = echo.get(name);
    if (awaited == null) {
      return true;
    }
    if (awaited.equals(rv)) {
      echo.remove(name);
      return true;
    }
    return false;
  }

  /** A write's response returned version {@code rv} of {@code name}: whether the view takes it. */
  boolean answered(String name, String rv) {
    if (rv == null) {
      return true;
    }
    ArrayDeque<String> seen = recent.get(name);
    if (seen != null && seen.contains(rv)) {
      return false;
    }
    echo.put(name, rv);
    return true;
  }

  /**
   * A read returned version {@code rv} of {@code name} (null: not found); the view takes it. After
   * an ambiguous re-list, the watch delivers it later unless the list already held it.
   */
  void read(String name, String rv) {
    String listed = ambiguous.remove(name);
    if (rv == null) {
      echo.remove(name);
      return;
    }
    ArrayDeque<String> seen = recent.get(name);
    if ((listed != null && listed.equals(rv)) || (seen != null && seen.contains(rv))) {
      echo.remove(name);
    } else {
      echo.put(name, rv);
    }
  }

  /** A re-list shows version {@code rv} of {@code name} (null: absent from the list). */
  Listed listed(String name, String rv) {
    String awaited = echo.get(name);
    if (rv != null) {
      remember(name, rv);
    }
    if (awaited == null) {
      return Listed.TAKE;
    }
    if (awaited.equals(rv)) {
      echo.remove(name);
      return Listed.TAKE;
    }
    ambiguous.put(name, rv == null ? "" : rv);
    return Listed.READ_AGAIN;
  }

  /**
   * Whether the view holds a version of {@code name} the watch has not delivered yet (from a
   * response or a read): that version may be newer than everything else in the view, so what it
   * names (a holder's incarnation) cannot be judged against the view until its echo arrives.
   */
  boolean ahead(String name) {
    return echo.containsKey(name);
  }

  /** Whether {@code name} awaits a read after an ambiguous re-list. */
  boolean readPending(String name) {
    return ambiguous.containsKey(name);
  }

  /** The object is gone from the view (deleted): nothing is awaited for it any more. */
  void forget(String name) {
    echo.remove(name);
    ambiguous.remove(name);
  }

  private void remember(String name, String rv) {
    ArrayDeque<String> seen = recent.computeIfAbsent(name, k -> new ArrayDeque<>(RECENT));
    if (seen.size() == RECENT) {
      seen.removeFirst();
    }
    seen.addLast(rv);
  }
}
