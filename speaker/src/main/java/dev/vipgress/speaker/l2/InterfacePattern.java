package dev.vipgress.speaker.l2;

import java.util.regex.Pattern;

/**
 * An interface name or a shell-style glob over interface names: {@code *} (any run of characters),
 * {@code ?} (one character), {@code [abc]}, {@code [a-z]}, {@code [!a]} / {@code [^a]}. Anything
 * else matches itself.
 */
public final class InterfacePattern {
  /** Linux limits interface names to IFNAMSIZ - 1 characters. */
  private static final int MAX_NAME = 15;

  private final String text;
  private final Pattern regex;
  private final boolean glob;

  private InterfacePattern(String text, Pattern regex, boolean glob) {
    this.text = text;
    this.regex = regex;
    this.glob = glob;
  }

  /**
   * @throws IllegalArgumentException for an empty pattern, one with '/' or whitespace, an
   *     unterminated bracket, or a plain name longer than 15 characters
   */
  public static InterfacePattern compile(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty interface name or pattern");
    }
    StringBuilder re = new StringBuilder();
    boolean glob = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '/' || Character.isWhitespace(c) || c == ':') {
        throw new IllegalArgumentException(
            "interface pattern '" + text + "': '" + c + "' is never in an interface name");
      }
      switch (c) {
        case '*' -> {
          re.append(".*");
          glob = true;
        }
        case '?' -> {
          re.append('.');
          glob = true;
        }
        case '[' -> {
          int end = text.indexOf(']', i + 2);
          if (end < 0) {
            throw new IllegalArgumentException(
                "interface pattern '" + text + "': '[' at " + i + " is not closed");
          }
          String set = text.substring(i + 1, end);
          boolean negate = set.startsWith("!") || set.startsWith("^");
          if (negate) {
            set = set.substring(1);
          }
          re.append('[').append(negate ? "^" : "");
          for (int k = 0; k < set.length(); k++) {
            char s = set.charAt(k);
            boolean range = s == '-' && k > 0 && k < set.length() - 1;
            if (!range && "\\[]^&-".indexOf(s) >= 0) {
              re.append('\\');
            }
            re.append(s);
          }
          re.append(']');
          i = end;
          glob = true;
        }
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    if (!glob && text.length() > MAX_NAME) {
      throw new IllegalArgumentException(
          "interface name '" + text + "' is longer than " + MAX_NAME + " characters");
    }
    return new InterfacePattern(text, Pattern.compile(re.toString()), glob);
  }

  public boolean matches(String interfaceName) {
    return regex.matcher(interfaceName).matches();
  }

  /** True when the text has glob characters; a plain name must exist, a glob may match none. */
  public boolean isGlob() {
    return glob;
  }

  @Override
  public String toString() {
    return text;
  }
}
