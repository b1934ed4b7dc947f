package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.Family;
import dev.vipgress.speaker.bgp.codec.Notification;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

final class RecordingListener implements SessionListener {
  final List<Negotiated> established = new ArrayList<>();
  final List<String> down = new ArrayList<>();
  final List<Family> refreshes = new ArrayList<>();

  @Override
  public void established(Negotiated negotiated) {
    established.add(negotiated);
  }

  @Override
  public void down(String reason, Optional<Notification> notification) {
    down.add(reason);
  }

  @Override
  public void routeRefresh(Family family) {
    refreshes.add(family);
  }
}
