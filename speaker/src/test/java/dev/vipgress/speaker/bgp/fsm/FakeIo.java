package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.BgpMessage;
import java.util.ArrayList;
import java.util.List;

/** Records what the session asked of its connection. */
final class FakeIo implements SessionIo {
  int connects;
  int disconnects;
  final List<BgpMessage> sent = new ArrayList<>();

  @Override
  public void connect() {
    connects++;
  }

  @Override
  public void send(BgpMessage message) {
    sent.add(message);
  }

  @Override
  public void disconnect() {
    disconnects++;
  }

  BgpMessage last() {
    return sent.get(sent.size() - 1);
  }

  <T extends BgpMessage> List<T> sent(Class<T> type) {
    return sent.stream().filter(type::isInstance).map(type::cast).toList();
  }
}
