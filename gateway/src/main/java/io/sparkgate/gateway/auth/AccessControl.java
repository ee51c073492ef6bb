package io.sparkgate.gateway.auth;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Who may do what, with Livy's rules ({@code AccessManager}): superusers, modify-users, view-users and
 * allowed-users, {@code *} meaning everyone. A null user means the gateway authenticates no one
 * ({@code sparkgate.auth.type = none}): then every check passes.
 *
 * <ul>
 *   <li>use the gateway at all: anyone on any list (allowed-users defaults to {@code *});</li>
 *   <li>read a session (its state, log, statements): its owner, view-, modify- and superusers;</li>
 *   <li>change a session (statements, cancel, completion, delete): its owner, modify- and superusers;</li>
 *   <li>impersonate another user: superusers only, with or without access control.</li>
 * </ul>
 *
 * <p>With access control off (the default, as in Livy) every user may read and change every session;
 * the impersonation rule still holds. Immutable; safe from any thread.
 */
public final class AccessControl {

  private static final String ANYONE = "*";

  private final boolean enabled;
  private final Set<String> superUsers;
  private final Set<String> viewers;
  private final Set<String> modifiers;
  private final Set<String> allowed;

  public AccessControl(boolean enabled, List<String> superUsers, List<String> modifyUsers, List<String> viewUsers,
      List<String> allowedUsers) {
    this.enabled = enabled;
    this.superUsers = Set.copyOf(superUsers);
    this.modifiers = union(superUsers, modifyUsers);
    this.viewers = union(superUsers, modifyUsers, viewUsers);
    this.allowed = union(superUsers, modifyUsers, viewUsers, allowedUsers);
  }

  /** No authentication, no lists: everyone may do everything (the local default). */
  public static AccessControl open() {
    return new AccessControl(false, List.of(), List.of(), List.of(), List.of(ANYONE));
  }

  @SafeVarargs
  private static Set<String> union(List<String>... lists) {
    Set<String> s = new HashSet<>();
    for (List<String> l : lists) {
      s.addAll(l);
    }
    return Set.copyOf(s);
  }

  public boolean enabled() {
    return enabled;
  }

  /** Whether {@code user} may use the gateway at all. */
  public boolean isAllowed(String user) {
    return !enabled || user == null || allowed.contains(ANYONE) || allowed.contains(user);
  }

  /** Whether {@code user} is a superuser (always checked: impersonation depends on it). */
  public boolean isSuperUser(String user) {
    return user == null || superUsers.contains(ANYONE) || superUsers.contains(user);
  }

  /** Whether {@code user} may read what {@code owner} owns. */
  public boolean canView(String owner, String user) {
    return user == null || user.equals(owner) || !enabled || viewers.contains(ANYONE) || viewers.contains(user);
  }

  /** Whether {@code user} may change what {@code owner} owns. */
  public boolean canModify(String owner, String user) {
    return user == null || user.equals(owner) || !enabled || modifiers.contains(ANYONE) || modifiers.contains(user);
  }

  /** Whether {@code user} may act as {@code target} (itself, or any user for a superuser). */
  public boolean canImpersonate(String target, String user) {
    return target.equals(user) || isSuperUser(user);
  }
}
