package io.sparkgate.gateway.session;

import java.util.Collection;

/**
 * Limits on creating sessions beyond the gateway's total: how many may be starting at once (Livy's
 * {@code livy.server.session.max-creation}: a burst of creations would launch as many JVMs at once)
 * and how many live sessions one owner may have. Checked by {@link SessionManager#create} on the
 * sessions' context before anything is allocated, so an excess request is refused at once and
 * costs nothing.
 *
 * @param maxCreating sessions in {@code not_started} or {@code starting} at most
 * @param maxPerOwner live sessions of one owner at most; 0 for no limit
 */
public record CreationLimits(int maxCreating, int maxPerOwner) {

  /** Livy's answer when too many sessions are being created (its exact words, which clients match). */
  public static final String TOO_MANY_CREATING = "Rejected, too many sessions are being created!";

  /** No limit but the total. */
  public static final CreationLimits NONE = new CreationLimits(Integer.MAX_VALUE, 0);

  public CreationLimits {
    if (maxCreating < 1 || maxPerOwner < 0) {
      throw new IllegalArgumentException("maxCreating must be positive and maxPerOwner not negative");
    }
  }

  /**
   * Refuses a session of {@code owner} (null without authentication) with a {@link SessionException}:
   * BAD_REQUEST (400, as Livy) while {@link #maxCreating} are starting, TOO_MANY (429) when the owner
   * has {@link #maxPerOwner} live sessions.
   */
  void check(String owner, Collection<InteractiveSession> sessions) {
    int creating = 0;
    int owned = 0;
    for (InteractiveSession s : sessions) {
      SessionState state = s.state();
      if (state == SessionState.NOT_STARTED || state == SessionState.STARTING) {
        creating++;
      }
      if (owner != null && !state.isFinished() && owner.equals(s.owner())) {
        owned++;
      }
    }
    if (creating >= maxCreating) {
      throw SessionException.badRequest(TOO_MANY_CREATING);
    }
    if (maxPerOwner > 0 && owned >= maxPerOwner) {
      throw new SessionException(SessionException.Reason.TOO_MANY, "User '" + owner + "' has " + owned
          + " live sessions, the most one user may have (sparkgate.session.max-per-user); delete one first");
    }
  }
}
