package io.sparkgate.gateway.auth;

import io.vertx.ext.web.RoutingContext;

/**
 * Who a request comes from, as {@link AuthHandler} and {@link Security} established it, stored on
 * the request's {@link RoutingContext}.
 *
 * @param user the authenticated user; null when the gateway authenticates no one
 * @param effectiveUser the user the request acts as: {@code doAs} when given and allowed, else
 *     {@code user}
 */
public record Identity(String user, String effectiveUser) {

  private static final String KEY = "sparkgate.identity";

  /** Nobody authenticated (authentication type none). */
  public static final Identity ANONYMOUS = new Identity(null, null);

  /** The identity of {@code ctx}: anonymous when none was set. */
  public static Identity of(RoutingContext ctx) {
    Identity id = ctx.get(KEY);
    return id == null ? ANONYMOUS : id;
  }

  void store(RoutingContext ctx) {
    ctx.put(KEY, this);
  }
}
