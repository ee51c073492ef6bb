package io.sparkgate.proto;

import io.netty.channel.ChannelException;

/** Nothing arrived from the peer for too long; {@link HeartbeatHandler} closed the connection. */
public class HeartbeatTimeoutException extends ChannelException {
  public HeartbeatTimeoutException(String message) {
    super(message);
  }
}
