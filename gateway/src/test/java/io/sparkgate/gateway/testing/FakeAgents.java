package io.sparkgate.gateway.testing;

import io.sparkgate.gateway.agent.AgentEndpoint;
import io.sparkgate.gateway.agent.AgentSessionHandler;
import io.sparkgate.gateway.session.AgentRegistry;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.Context;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An agent registry without a network: it records what sessions register and send, and lets a test
 * play the agent's part by delivering events on the session's context, exactly as the agent server
 * promises to.
 *
 * <p>A test double of the driver-agent, for the REST layer's and the sessions' own tests: it makes
 * orderings a real driver produces only by chance (a result racing a cancel, a dropped connection,
 * a driver slow to complete) happen on demand. The real agent over real sockets is the end-to-end
 * test's job.
 */
public final class FakeAgents implements AgentRegistry {

  /** One registered session, as the agent server would hold it. */
  public static final class Link implements AgentEndpoint {
    public final int sessionId;
    public final byte[] secret;
    public final Context context;
    public final AgentSessionHandler handler;
    public final List<Command> sent = new CopyOnWriteArrayList<>();
    public volatile boolean connected;
    public volatile boolean accepting = true;
    public volatile boolean unregistered;
    /** How the session registered (fresh, or resumed after a restart). */
    public volatile AgentRegistry.LinkOptions options = AgentRegistry.LinkOptions.NEW;
    /** The highest event seq the session acknowledged (links with holder acks). */
    public final java.util.concurrent.atomic.AtomicLong acknowledged = new java.util.concurrent.atomic.AtomicLong();
    /** The seq of the last event emitted. */
    public volatile long eventSeq;

    Link(int sessionId, byte[] secret, Context context, AgentSessionHandler handler) {
      this.sessionId = sessionId;
      this.secret = secret.clone();
      this.context = context;
      this.handler = handler;
    }

    @Override
    public boolean send(Command command) {
      if (!accepting || unregistered) {
        return false;
      }
      sent.add(command);
      return true;
    }

    @Override
    public boolean connected() {
      return connected && !unregistered;
    }

    @Override
    public long lastCommandSeq() {
      return options.resumed() ? resumedAt + sent.size() : sent.size();
    }

    @Override
    public long appliedEventSeq() {
      return eventSeq;
    }

    @Override
    public void acknowledge(long seq) {
      acknowledged.accumulateAndGet(seq, Math::max);
    }

    private volatile long resumedAt;

    /**
     * The agent of a restored session dials back holding commands up to {@code agentLastCommandSeq}:
     * the stored commands it lacks are sent again, in order, then it is connected.
     */
    public void resume(long agentLastCommandSeq) {
      resumedAt = agentLastCommandSeq;
      for (io.sparkgate.proto.Sequenced lost : options.lostCommands()) {
        if (lost.seq() > agentLastCommandSeq) {
          sent.add((Command) lost.payload());
        }
      }
      eventSeq = Math.max(eventSeq, options.lastEventSeq());
      run(() -> handler.agentResumed(agentLastCommandSeq));
      connect();
    }

    /** The agent connects (on the session's context) and waits until the session has taken it. */
    public void connect() {
      run(() -> {
        connected = true;
        handler.agentConnected();
      });
    }

    /** The connection drops. */
    public void disconnect() {
      run(() -> {
        connected = false;
        handler.agentDisconnected(new java.io.IOException("connection reset by test"));
      });
    }

    /** Delivers {@code event} on the session's context and waits until it was applied. */
    public void emit(Event event) {
      run(() -> {
        eventSeq++;
        handler.agentEvent(event);
      });
    }

    private void run(Runnable r) {
      CountDownLatch done = new CountDownLatch(1);
      context.runOnContext(v -> {
        try {
          r.run();
        } finally {
          done.countDown();
        }
      });
      try {
        if (!done.await(10, TimeUnit.SECONDS)) {
          throw new AssertionError("the session's context did not run the event in time");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  private final Map<Integer, Link> links = new ConcurrentHashMap<>();

  @Override
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler) {
    Link link = new Link(sessionId, secret, context, handler);
    if (links.putIfAbsent(sessionId, link) != null) {
      throw new IllegalStateException("session " + sessionId + " registered twice");
    }
    return link;
  }

  @Override
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler,
      LinkOptions options) {
    Link link = (Link) register(sessionId, secret, context, handler);
    link.options = options;
    link.eventSeq = options.lastEventSeq();
    return link;
  }

  @Override
  public void unregister(int sessionId) {
    Link link = links.get(sessionId);
    if (link != null) {
      link.unregistered = true;
    }
  }

  /** The link of session {@code id}; fails the test when the session never registered. */
  public Link link(int id) {
    Link link = links.get(id);
    if (link == null) {
      throw new AssertionError("session " + id + " never registered with the agent server");
    }
    return link;
  }
}
