package dev.vipgress.nat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * What {@code nft -j}, {@code ip -j} and {@code bridge -j} print, read with Jackson into plain
 * {@link java.util.Map}s, {@link List}s, numbers, strings and booleans.
 */
final class Json {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /** Parses one JSON document; {@link IllegalArgumentException} if it is not one. */
  static Object parse(String text) {
    try {
      return MAPPER.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** A JSON array, or an empty list for blank text or any other document. */
  static List<?> list(String text) {
    if (text == null || text.isBlank()) {
      return List.of();
    }
    return parse(text) instanceof List<?> l ? l : List.of();
  }
}
