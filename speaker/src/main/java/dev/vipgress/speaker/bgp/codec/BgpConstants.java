package dev.vipgress.speaker.bgp.codec;

/** Wire constants of BGP-4, each with the RFC section that defines it. */
public final class BgpConstants {
  private BgpConstants() {}

  /** RFC 4271 §4.1: marker (16 × 0xff), length (2), type (1). */
  public static final int MARKER_LENGTH = 16;

  public static final int HEADER_LENGTH = 19;

  /** RFC 4271 §4.1: no message is longer than 4096 octets (we do not negotiate RFC 8654). */
  public static final int MAX_MESSAGE_LENGTH = 4096;

  /** RFC 4271 §4.2: the fixed part of an OPEN is 29 octets including the header. */
  public static final int MIN_OPEN_LENGTH = 29;

  /** RFC 4271 §4.3: withdrawn-routes length (2) + total-path-attribute length (2). */
  public static final int MIN_UPDATE_LENGTH = 23;

  /** RFC 4271 §4.5: code (1) + subcode (1). */
  public static final int MIN_NOTIFICATION_LENGTH = 21;

  /** RFC 2918 §3: AFI (2), reserved (1), SAFI (1). */
  public static final int ROUTE_REFRESH_LENGTH = 23;

  public static final int BGP_VERSION = 4;

  // RFC 4271 §4.1 message types; ROUTE-REFRESH from RFC 2918 §3.
  public static final int TYPE_OPEN = 1;
  public static final int TYPE_UPDATE = 2;
  public static final int TYPE_NOTIFICATION = 3;
  public static final int TYPE_KEEPALIVE = 4;
  public static final int TYPE_ROUTE_REFRESH = 5;

  // RFC 4271 §4.5 error codes; 5 from RFC 6608, 7 from RFC 7313.
  public static final int ERR_HEADER = 1;
  public static final int ERR_OPEN = 2;
  public static final int ERR_UPDATE = 3;
  public static final int ERR_HOLD_TIMER = 4;
  public static final int ERR_FSM = 5;
  public static final int ERR_CEASE = 6;
  public static final int ERR_ROUTE_REFRESH = 7;

  // RFC 4271 §6.1 header subcodes.
  public static final int HEADER_NOT_SYNCHRONIZED = 1;
  public static final int HEADER_BAD_LENGTH = 2;
  public static final int HEADER_BAD_TYPE = 3;

  // RFC 4271 §6.2 OPEN subcodes; 7 from RFC 5492.
  public static final int OPEN_UNSPECIFIC = 0;
  public static final int OPEN_UNSUPPORTED_VERSION = 1;
  public static final int OPEN_BAD_PEER_AS = 2;
  public static final int OPEN_BAD_BGP_ID = 3;
  public static final int OPEN_UNSUPPORTED_PARAMETER = 4;
  public static final int OPEN_UNACCEPTABLE_HOLD_TIME = 6;
  public static final int OPEN_UNSUPPORTED_CAPABILITY = 7;

  // RFC 4271 §6.3 UPDATE subcodes.
  public static final int UPDATE_MALFORMED_ATTRIBUTE_LIST = 1;
  public static final int UPDATE_UNRECOGNIZED_WELL_KNOWN = 2;
  public static final int UPDATE_INVALID_NETWORK_FIELD = 10;
  public static final int UPDATE_MALFORMED_AS_PATH = 11;

  // RFC 6608 §3 FSM subcodes.
  public static final int FSM_UNEXPECTED_IN_OPENSENT = 1;
  public static final int FSM_UNEXPECTED_IN_OPENCONFIRM = 2;
  public static final int FSM_UNEXPECTED_IN_ESTABLISHED = 3;

  // RFC 4486 §4 Cease subcodes (shutdown message: RFC 8203 / RFC 9003).
  public static final int CEASE_ADMIN_SHUTDOWN = 2;
  public static final int CEASE_ADMIN_RESET = 4;
  public static final int CEASE_CONNECTION_REJECTED = 5;
  public static final int CEASE_COLLISION_RESOLUTION = 7;

  /** RFC 7313 §5: ROUTE-REFRESH with a length other than 23. */
  public static final int ROUTE_REFRESH_INVALID_LENGTH = 1;

  /** RFC 9003 §2: the shutdown communication is at most 255 octets of UTF-8. */
  public static final int MAX_SHUTDOWN_MESSAGE = 255;

  // RFC 4271 §5.1, RFC 1997, RFC 4760, RFC 8092 path attribute type codes.
  public static final int ATTR_ORIGIN = 1;
  public static final int ATTR_AS_PATH = 2;
  public static final int ATTR_NEXT_HOP = 3;
  public static final int ATTR_MED = 4;
  public static final int ATTR_LOCAL_PREF = 5;
  public static final int ATTR_ATOMIC_AGGREGATE = 6;
  public static final int ATTR_AGGREGATOR = 7;
  public static final int ATTR_COMMUNITIES = 8;
  public static final int ATTR_MP_REACH = 14;
  public static final int ATTR_MP_UNREACH = 15;
  public static final int ATTR_LARGE_COMMUNITIES = 32;

  // RFC 4271 §4.3 attribute flag bits.
  public static final int FLAG_OPTIONAL = 0x80;
  public static final int FLAG_TRANSITIVE = 0x40;
  public static final int FLAG_PARTIAL = 0x20;
  public static final int FLAG_EXTENDED_LENGTH = 0x10;

  // RFC 4271 §4.3 AS_PATH segment types.
  public static final int AS_SET = 1;
  public static final int AS_SEQUENCE = 2;

  /** RFC 6793 §9: the 2-octet AS placed in OPEN when the real one needs 4 octets. */
  public static final int AS_TRANS = 23456;
}
