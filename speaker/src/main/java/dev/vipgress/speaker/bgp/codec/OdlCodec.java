package dev.vipgress.speaker.bgp.codec;

import io.netty.buffer.ByteBuf;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.opendaylight.protocol.bgp.parser.BGPDocumentedException;
import org.opendaylight.protocol.bgp.parser.BGPParsingException;
import org.opendaylight.protocol.bgp.parser.spi.AttributeParser;
import org.opendaylight.protocol.bgp.parser.spi.BGPExtensionProviderActivator;
import org.opendaylight.protocol.bgp.parser.spi.MessageRegistry;
import org.opendaylight.protocol.bgp.parser.spi.PeerSpecificParserConstraint;
import org.opendaylight.protocol.bgp.parser.spi.RevisedErrorHandlingSupport;
import org.opendaylight.protocol.bgp.parser.spi.pojo.DefaultBGPExtensionConsumerContext;
import org.opendaylight.protocol.bgp.parser.spi.pojo.PeerSpecificParserConstraintImpl;
import org.opendaylight.protocol.bgp.parser.spi.pojo.RevisedErrorHandlingSupportImpl;
import org.opendaylight.yang.gen.v1.urn.ietf.params.xml.ns.yang.ietf.inet.types.rev130715.AsNumber;
import org.opendaylight.yang.gen.v1.urn.ietf.params.xml.ns.yang.ietf.inet.types.rev130715.Ipv4AddressNoZone;
import org.opendaylight.yang.gen.v1.urn.ietf.params.xml.ns.yang.ietf.inet.types.rev130715.Ipv4Prefix;
import org.opendaylight.yang.gen.v1.urn.ietf.params.xml.ns.yang.ietf.inet.types.rev130715.Ipv6AddressNoZone;
import org.opendaylight.yang.gen.v1.urn.ietf.params.xml.ns.yang.ietf.inet.types.rev130715.Ipv6Prefix;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.inet.rev180329.ipv6.prefixes.DestinationIpv6Builder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.inet.rev180329.ipv6.prefixes.destination.ipv6.Ipv6Prefixes;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.inet.rev180329.ipv6.prefixes.destination.ipv6.Ipv6PrefixesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.NotifyBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.OpenBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.UpdateBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.BgpParameters;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.BgpParametersBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.bgp.parameters.OptionalCapabilities;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.bgp.parameters.OptionalCapabilitiesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.bgp.parameters.optional.capabilities.CParameters;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.bgp.parameters.optional.capabilities.CParametersBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.open.message.bgp.parameters.optional.capabilities.c.parameters.As4BytesCapabilityBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.Attributes;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.AttributesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.AsPathBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.Communities;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.CommunitiesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.OriginBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.UnrecognizedAttributes;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.UnrecognizedAttributesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.UnrecognizedAttributesKey;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.as.path.Segments;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.path.attributes.attributes.as.path.SegmentsBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.update.message.Nlri;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.update.message.NlriBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.update.message.WithdrawnRoutes;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.update.message.WithdrawnRoutesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.AttributesReach;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.AttributesReachBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.AttributesUnreachBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.CParameters1;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.CParameters1Builder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.RouteRefreshBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.attributes.reach.MpReachNlriBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.attributes.reach.mp.reach.nlri.AdvertizedRoutesBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.attributes.unreach.MpUnreachNlriBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.mp.capabilities.MultiprotocolCapability;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.mp.capabilities.MultiprotocolCapabilityBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.multiprotocol.rev180329.mp.capabilities.RouteRefreshCapabilityBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.AddressFamily;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.BgpOrigin;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.Ipv4AddressFamily;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.Ipv6AddressFamily;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.SubsequentAddressFamily;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.UnicastSubsequentAddressFamily;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.CNextHop;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.Ipv4NextHopCase;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.Ipv4NextHopCaseBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.Ipv6NextHopCase;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.Ipv6NextHopCaseBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.ipv4.next.hop._case.Ipv4NextHopBuilder;
import org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.types.rev200120.next.hop.c.next.hop.ipv6.next.hop._case.Ipv6NextHopBuilder;
import org.opendaylight.yangtools.binding.util.BindingMap;
import org.opendaylight.yangtools.concepts.Registration;
import org.opendaylight.yangtools.yang.common.Uint16;
import org.opendaylight.yangtools.yang.common.Uint32;
import org.opendaylight.yangtools.yang.common.Uint8;

/**
 * The only class that sees OpenDaylight's generated YANG types: converts our messages to and from
 * them around {@code bgp-parser-impl} + {@code bgp-inet} (bgp-codec.md).
 *
 * <p>Defect 1 (shared, never-cleared list of unrecognized attributes) is contained by registering a
 * parser of ours for every attribute type the codec has none for, so nothing ever reaches that
 * list; those attributes are read by {@link UpdateValidator} instead. Defect 2 (unknown
 * NOTIFICATION codes throw) is contained by never handing a NOTIFICATION to the codec's parser
 * ({@link BgpMessageDecoder} parses them).
 */
final class OdlCodec {
  /** Attribute types bgp-parser-impl 1.0.0 registers parsers for. */
  static final Set<Integer> TYPES_THE_CODEC_PARSES =
      Set.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 26, 40);

  /** Accepts and drops an attribute: what keeps it off the codec's shared list (defect 1). */
  private static final AttributeParser SKIP = (buffer, builder, constraint) -> {};

  private static final BGPExtensionProviderActivator CATCH_ALL =
      context -> {
        List<Registration> regs = new ArrayList<>();
        for (int type = 0; type <= 255; type++) {
          if (!TYPES_THE_CODEC_PARSES.contains(type)) {
            regs.add(context.registerAttributeParser(type, SKIP));
          }
        }
        return regs;
      };

  private static final PeerSpecificParserConstraint REVISED_ERROR_HANDLING = revised();

  private OdlCodec() {}

  /** Built once (0.2-0.4 s): stateless after defect 1 is contained, so shared by all sessions. */
  private static final class Registry {
    static final MessageRegistry INSTANCE = registry(true);
  }

  static MessageRegistry registry(boolean containDefects) {
    List<BGPExtensionProviderActivator> activators = new ArrayList<>();
    activators.add(new org.opendaylight.protocol.bgp.parser.impl.BGPActivator());
    activators.add(new org.opendaylight.protocol.bgp.inet.BGPActivator());
    if (containDefects) {
      activators.add(CATCH_ALL);
    }
    return new DefaultBGPExtensionConsumerContext(activators).getMessageRegistry();
  }

  static MessageRegistry registry() {
    return Registry.INSTANCE;
  }

  static PeerSpecificParserConstraint revisedErrorHandling() {
    return REVISED_ERROR_HANDLING;
  }

  private static PeerSpecificParserConstraint revised() {
    PeerSpecificParserConstraintImpl c = new PeerSpecificParserConstraintImpl();
    c.addPeerConstraint(
        RevisedErrorHandlingSupport.class, RevisedErrorHandlingSupportImpl.forExternalPeer());
    return c;
  }

  // ---- decoding --------------------------------------------------------------------------

  /** Parses a whole OPEN (header included); codec errors become the NOTIFICATION it names. */
  static Open parseOpen(ByteBuf frame) {
    org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120.Open o;
    try {
      o =
          (org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120
                  .Open)
              registry().parseMessage(frame, null);
    } catch (BGPDocumentedException e) {
      throw new BgpProtocolException(notificationOf(e), "bad OPEN: " + e.getMessage(), e);
    } catch (BGPParsingException | RuntimeException e) {
      throw new BgpProtocolException(
          new Notification(BgpConstants.ERR_OPEN, BgpConstants.OPEN_UNSPECIFIC),
          "bad OPEN: " + e.getMessage(),
          e);
    }
    long as = o.getMyAsNumber().toJava();
    boolean as4 = false;
    boolean refresh = false;
    Set<Family> families = EnumSet.noneOf(Family.class);
    for (BgpParameters p : nonNull(o.getBgpParameters())) {
      for (OptionalCapabilities oc : nonNull(p.getOptionalCapabilities())) {
        CParameters cp = oc.getCParameters();
        if (cp == null) {
          continue;
        }
        if (cp.getAs4BytesCapability() != null) {
          as4 = true;
          as = cp.getAs4BytesCapability().getAsNumber().getValue().toJava();
        }
        CParameters1 mp = cp.augmentation(CParameters1.class);
        if (mp != null) {
          MultiprotocolCapability m = mp.getMultiprotocolCapability();
          if (m != null) {
            familyOf(m.getAfi(), m.getSafi()).ifPresent(families::add);
          }
          refresh |= mp.getRouteRefreshCapability() != null;
        }
      }
    }
    return new Open(
        as,
        o.getHoldTimer().toJava(),
        (Inet4Address) address(o.getBgpIdentifier().getValue()),
        families,
        as4,
        refresh);
  }

  /**
   * The attributes of an UPDATE the {@link UpdateValidator} found well-formed; the codec's own
   * objections are returned as an exception for the caller to treat as withdraw.
   */
  static Optional<PathAttributes> parseAttributes(ByteBuf frame, List<LargeCommunity> large)
      throws BGPDocumentedException, BGPParsingException {
    var u =
        (org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp.message.rev200120
                .Update)
            registry().parseMessage(frame, REVISED_ERROR_HANDLING);
    Attributes a = u.getAttributes();
    if (a == null) {
      return Optional.empty();
    }
    List<Long> asPath = new ArrayList<>();
    if (a.getAsPath() != null) {
      for (Segments s : nonNull(a.getAsPath().getSegments())) {
        for (AsNumber n : nonNull(s.getAsSequence())) {
          asPath.add(n.getValue().toJava());
        }
      }
    }
    Optional<Inet4Address> nh4 = Optional.empty();
    if (a.getCNextHop() instanceof Ipv4NextHopCase c && c.getIpv4NextHop() != null) {
      nh4 = Optional.of((Inet4Address) address(c.getIpv4NextHop().getGlobal().getValue()));
    }
    Optional<Inet6Address> nh6 = Optional.empty();
    AttributesReach reach = a.augmentation(AttributesReach.class);
    if (reach != null
        && reach.getMpReachNlri() != null
        && reach.getMpReachNlri().getCNextHop() instanceof Ipv6NextHopCase c
        && c.getIpv6NextHop() != null
        && c.getIpv6NextHop().getGlobal() != null) {
      nh6 = Optional.of((Inet6Address) address(c.getIpv6NextHop().getGlobal().getValue()));
    }
    List<Community> communities = new ArrayList<>();
    for (Communities c : nonNull(a.getCommunities())) {
      communities.add(
          new Community((int) c.getAsNumber().getValue().toJava(), c.getSemantics().toJava()));
    }
    return Optional.of(new PathAttributes(asPath, nh4, nh6, communities, large));
  }

  private static Notification notificationOf(BGPDocumentedException e) {
    return new Notification(
        e.getError().getCode().toJava(), e.getError().getSubcode().toJava(), e.getData());
  }

  private static Optional<Family> familyOf(AddressFamily afi, SubsequentAddressFamily safi) {
    if (!UnicastSubsequentAddressFamily.VALUE.equals(safi)) {
      return Optional.empty();
    }
    if (Ipv4AddressFamily.VALUE.equals(afi)) {
      return Optional.of(Family.IPV4_UNICAST);
    }
    if (Ipv6AddressFamily.VALUE.equals(afi)) {
      return Optional.of(Family.IPV6_UNICAST);
    }
    return Optional.empty();
  }

  // ---- encoding --------------------------------------------------------------------------

  static void serialize(Open m, ByteBuf out) {
    List<OptionalCapabilities> caps = new ArrayList<>();
    for (Family f :
        EnumSet.copyOf(m.families().isEmpty() ? Set.of(Family.IPV4_UNICAST) : m.families())) {
      caps.add(
          capability(
              new CParametersBuilder()
                  .addAugmentation(
                      new CParameters1Builder()
                          .setMultiprotocolCapability(
                              new MultiprotocolCapabilityBuilder()
                                  .setAfi(afi(f))
                                  .setSafi(UnicastSubsequentAddressFamily.VALUE)
                                  .build())
                          .build())
                  .build()));
    }
    if (m.routeRefresh()) {
      caps.add(
          capability(
              new CParametersBuilder()
                  .addAugmentation(
                      new CParameters1Builder()
                          .setRouteRefreshCapability(new RouteRefreshCapabilityBuilder().build())
                          .build())
                  .build()));
    }
    if (m.fourOctetAs()) {
      caps.add(
          capability(
              new CParametersBuilder()
                  .setAs4BytesCapability(
                      new As4BytesCapabilityBuilder()
                          .setAsNumber(new AsNumber(Uint32.valueOf(m.asNumber())))
                          .build())
                  .build()));
    }
    long twoOctet = m.asNumber() > 0xffff ? BgpConstants.AS_TRANS : m.asNumber();
    registry()
        .serializeMessage(
            new OpenBuilder()
                .setMyAsNumber(Uint16.valueOf(twoOctet))
                .setHoldTimer(Uint16.valueOf(m.holdTime()))
                .setBgpIdentifier(new Ipv4AddressNoZone(m.bgpIdentifier().getHostAddress()))
                .setBgpParameters(
                    List.of(new BgpParametersBuilder().setOptionalCapabilities(caps).build()))
                .build(),
            out);
  }

  private static OptionalCapabilities capability(CParameters c) {
    return new OptionalCapabilitiesBuilder().setCParameters(c).build();
  }

  static void serialize(Update m, ByteBuf out) {
    UpdateBuilder b = new UpdateBuilder();
    List<WithdrawnRoutes> withdrawn4 = new ArrayList<>();
    List<Ipv6Prefixes> withdrawn6 = new ArrayList<>();
    for (Prefix p : m.withdrawn()) {
      if (p.family() == Family.IPV4_UNICAST) {
        withdrawn4.add(
            new WithdrawnRoutesBuilder().setPrefix(new Ipv4Prefix(p.toString())).build());
      } else {
        withdrawn6.add(new Ipv6PrefixesBuilder().setPrefix(new Ipv6Prefix(p.toString())).build());
      }
    }
    List<Nlri> nlri4 = new ArrayList<>();
    List<Ipv6Prefixes> nlri6 = new ArrayList<>();
    for (Prefix p : m.announced()) {
      if (p.family() == Family.IPV4_UNICAST) {
        nlri4.add(new NlriBuilder().setPrefix(new Ipv4Prefix(p.toString())).build());
      } else {
        nlri6.add(new Ipv6PrefixesBuilder().setPrefix(new Ipv6Prefix(p.toString())).build());
      }
    }
    if (!withdrawn4.isEmpty()) {
      b.setWithdrawnRoutes(withdrawn4);
    }
    if (!nlri4.isEmpty()) {
      b.setNlri(nlri4);
    }
    AttributesBuilder ab = null;
    if (m.attributes().isPresent()) {
      ab = attributes(m.attributes().orElseThrow(), !nlri4.isEmpty());
      if (!nlri6.isEmpty()) {
        Inet6Address nh =
            m.attributes()
                .orElseThrow()
                .nextHop6()
                .orElseThrow(() -> new IllegalArgumentException("IPv6 announced without next hop"));
        ab.addAugmentation(
            new AttributesReachBuilder()
                .setMpReachNlri(
                    new MpReachNlriBuilder()
                        .setAfi(Ipv6AddressFamily.VALUE)
                        .setSafi(UnicastSubsequentAddressFamily.VALUE)
                        .setCNextHop(ipv6NextHop(nh))
                        .setAdvertizedRoutes(
                            new AdvertizedRoutesBuilder()
                                .setDestinationType(
                                    new org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns
                                            .yang.bgp.inet.rev180329.update.attributes.mp.reach.nlri
                                            .advertized.routes.destination.type
                                            .DestinationIpv6CaseBuilder()
                                        .setDestinationIpv6(
                                            new DestinationIpv6Builder()
                                                .setIpv6Prefixes(nlri6)
                                                .build())
                                        .build())
                                .build())
                        .build())
                .build());
      }
    }
    if (!withdrawn6.isEmpty()) {
      if (ab == null) {
        ab = new AttributesBuilder();
      }
      ab.addAugmentation(
          new AttributesUnreachBuilder()
              .setMpUnreachNlri(
                  new MpUnreachNlriBuilder()
                      .setAfi(Ipv6AddressFamily.VALUE)
                      .setSafi(UnicastSubsequentAddressFamily.VALUE)
                      .setWithdrawnRoutes(
                          new org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns.yang.bgp
                                  .multiprotocol.rev180329.attributes.unreach.mp.unreach.nlri
                                  .WithdrawnRoutesBuilder()
                              .setDestinationType(
                                  new org.opendaylight.yang.gen.v1.urn.opendaylight.params.xml.ns
                                          .yang.bgp.inet.rev180329.update.attributes.mp.unreach.nlri
                                          .withdrawn.routes.destination.type
                                          .DestinationIpv6CaseBuilder()
                                      .setDestinationIpv6(
                                          new DestinationIpv6Builder()
                                              .setIpv6Prefixes(withdrawn6)
                                              .build())
                                      .build())
                              .build())
                      .build())
              .build());
    }
    if (ab != null) {
      b.setAttributes(ab.build());
    }
    registry().serializeMessage(b.build(), out);
  }

  private static AttributesBuilder attributes(PathAttributes a, boolean ipv4Nlri) {
    AttributesBuilder ab =
        new AttributesBuilder()
            .setOrigin(new OriginBuilder().setValue(BgpOrigin.Igp).build())
            .setAsPath(
                new AsPathBuilder()
                    .setSegments(
                        a.asPath().isEmpty()
                            ? List.of()
                            : List.<Segments>of(
                                new SegmentsBuilder()
                                    .setAsSequence(
                                        a.asPath().stream()
                                            .map(n -> new AsNumber(Uint32.valueOf(n)))
                                            .toList())
                                    .build()))
                    .build());
    if (ipv4Nlri) {
      Inet4Address nh =
          a.nextHop4()
              .orElseThrow(() -> new IllegalArgumentException("IPv4 announced without next hop"));
      ab.setCNextHop(
          new Ipv4NextHopCaseBuilder()
              .setIpv4NextHop(
                  new Ipv4NextHopBuilder()
                      .setGlobal(new Ipv4AddressNoZone(nh.getHostAddress()))
                      .build())
              .build());
    }
    if (!a.communities().isEmpty()) {
      ab.setCommunities(
          a.communities().stream()
              .map(
                  c ->
                      new CommunitiesBuilder()
                          .setAsNumber(new AsNumber(Uint32.valueOf(c.asn())))
                          .setSemantics(Uint16.valueOf(c.value()))
                          .build())
              .toList());
    }
    if (!a.largeCommunities().isEmpty()) {
      // the codec has no LARGE_COMMUNITY type: sent as an optional transitive attribute it passes
      // through verbatim (RFC 8092 §3: optional transitive, type 32)
      byte[] value = new byte[12 * a.largeCommunities().size()];
      int i = 0;
      for (LargeCommunity lc : a.largeCommunities()) {
        i = putInt(value, i, lc.globalAdministrator());
        i = putInt(value, i, lc.localData1());
        i = putInt(value, i, lc.localData2());
      }
      Uint8 type = Uint8.valueOf(BgpConstants.ATTR_LARGE_COMMUNITIES);
      Map<UnrecognizedAttributesKey, UnrecognizedAttributes> unrecognized =
          BindingMap.of(
              new UnrecognizedAttributesBuilder()
                  .withKey(new UnrecognizedAttributesKey(type))
                  .setType(type)
                  .setTransitive(true)
                  .setPartial(false)
                  .setValue(value)
                  .build());
      ab.setUnrecognizedAttributes(unrecognized);
    }
    return ab;
  }

  private static int putInt(byte[] b, int i, long v) {
    b[i] = (byte) (v >>> 24);
    b[i + 1] = (byte) (v >>> 16);
    b[i + 2] = (byte) (v >>> 8);
    b[i + 3] = (byte) v;
    return i + 4;
  }

  private static CNextHop ipv6NextHop(Inet6Address nh) {
    return new Ipv6NextHopCaseBuilder()
        .setIpv6NextHop(
            new Ipv6NextHopBuilder().setGlobal(new Ipv6AddressNoZone(nh.getHostAddress())).build())
        .build();
  }

  static void serialize(RouteRefresh m, ByteBuf out) {
    Family f =
        m.family()
            .orElseThrow(
                () -> new IllegalArgumentException("ROUTE-REFRESH for unknown family " + m));
    registry()
        .serializeMessage(
            new RouteRefreshBuilder()
                .setAfi(afi(f))
                .setSafi(UnicastSubsequentAddressFamily.VALUE)
                .build(),
            out);
  }

  static void serialize(Notification m, ByteBuf out) {
    NotifyBuilder b =
        new NotifyBuilder()
            .setErrorCode(Uint8.valueOf(m.code()))
            .setErrorSubcode(Uint8.valueOf(m.subcode()));
    if (m.data().length > 0) {
      b.setData(m.data());
    }
    registry().serializeMessage(b.build(), out);
  }

  private static AddressFamily afi(Family f) {
    return f == Family.IPV4_UNICAST ? Ipv4AddressFamily.VALUE : Ipv6AddressFamily.VALUE;
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException("codec produced a bad address " + literal, e);
    }
  }

  private static <T> List<T> nonNull(List<T> l) {
    return l == null ? List.of() : l;
  }
}
