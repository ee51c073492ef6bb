package io.sparkgate.gateway.session;

import io.vertx.core.buffer.Buffer;
import java.util.Objects;
import java.util.function.Function;

/**
 * How a session's events show its objects: the same JSON the REST API answers (the api package
 * supplies it), so that an event's data is exactly what a GET returns at that moment. Kept as
 * functions so the domain does not depend on the REST layer.
 *
 * @param session a session as {@code GET /sessions/{id}} returns it
 * @param statement a statement as {@code GET /sessions/{id}/statements/{sid}} returns it; a constant
 *     function, so {@link Statement#rendered} renders each value once for events and GETs alike
 */
public record SessionViews(Function<InteractiveSession, Buffer> session, Function<Statement, Buffer> statement) {
  public SessionViews {
    Objects.requireNonNull(session, "session");
    Objects.requireNonNull(statement, "statement");
  }
}
