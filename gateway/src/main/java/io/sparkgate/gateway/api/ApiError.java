package io.sparkgate.gateway.api;

/**
 * A client error found by the REST layer, answered with {@code status} and {@code {"msg": message}}.
 * Carries no stack trace: it is control flow.
 */
public final class ApiError extends RuntimeException {

  private final int status;

  public ApiError(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, message);
  }

  static ApiError notFound(String message) {
    return new ApiError(404, message);
  }
}
