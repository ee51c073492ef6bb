package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.ConfigEntry;
import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.testing.FakeSpark;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The security settings: Livy's key names carry over from a livy.conf, and a type without what it
 * needs stops the gateway at start with a message naming the key.
 */
class SecurityConfigTest {

  private static final FakeSpark SPARK = FakeSpark.create();

  @AfterAll
  static void deleteSpark() {
    SPARK.delete();
  }

  private static Map<String, String> base() {
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.spark.home", SPARK.home.toString());
    s.put("sparkgate.agent.jar", SPARK.agentJar.toString());
    return s;
  }

  @Test
  void livysSecurityKeysAreAcceptedInTheFile() throws IOException {
    Path dir = Files.createTempDirectory("sparkgate-livy-conf");
    Files.writeString(dir.resolve(GatewayConfig.FILE_NAME), String.join("\n",
        "sparkgate.spark.home = " + SPARK.home,
        "sparkgate.agent.jar = " + SPARK.agentJar,
        "livy.server.auth.type = kerberos",
        "livy.server.auth.kerberos.principal = HTTP/gw.example.com@EXAMPLE.COM",
        "livy.server.auth.kerberos.keytab = /etc/security/spnego.keytab",
        "livy.server.auth.kerberos.name-rules = RULE:[1:$1@$0](.*@EXAMPLE.COM)s/@.*// DEFAULT",
        "livy.impersonation.enabled = true",
        "livy.superusers = hue, knox",
        "livy.server.access-control.enabled = true",
        "livy.server.access-control.allowed-users = alice,bob",
        "livy.server.access-control.modify-users = ops",
        "livy.server.access-control.view-users = audit",
        "livy.server.csrf-protection.enabled = true",
        "livy.keystore = /etc/livy/keystore.jks",
        "livy.keystore.password = changeit",
        "livy.server.session.max-creation = 7",
        "livy.server.auth.ldap.url = ldap://ldap.example.com",
        "livy.server.auth.ldap.base-dn = ou=people,dc=example,dc=com",
        "livy.server.auth.ldap.username-domain = example.com",
        ""));
    GatewayConfig c = GatewayConfig.load(dir.toString(), Map.of());
    assertEquals(List.of(), c.warnings());
    assertEquals("kerberos", c.get(GatewayConfig.AUTH_TYPE));
    assertEquals("HTTP/gw.example.com@EXAMPLE.COM", c.get(GatewayConfig.AUTH_KERBEROS_PRINCIPAL));
    assertEquals("/etc/security/spnego.keytab", c.get(GatewayConfig.AUTH_KERBEROS_KEYTAB));
    assertEquals("RULE:[1:$1@$0](.*@EXAMPLE.COM)s/@.*// DEFAULT", c.get(GatewayConfig.AUTH_KERBEROS_NAME_RULES));
    assertEquals(true, c.get(GatewayConfig.IMPERSONATION_ENABLED));
    assertEquals(List.of("hue", "knox"), c.get(GatewayConfig.SUPERUSERS));
    assertEquals(true, c.get(GatewayConfig.ACCESS_CONTROL_ENABLED));
    assertEquals(List.of("alice", "bob"), c.get(GatewayConfig.ACCESS_CONTROL_ALLOWED_USERS));
    assertEquals(List.of("ops"), c.get(GatewayConfig.ACCESS_CONTROL_MODIFY_USERS));
    assertEquals(List.of("audit"), c.get(GatewayConfig.ACCESS_CONTROL_VIEW_USERS));
    assertEquals(true, c.get(GatewayConfig.CSRF_PROTECTION));
    assertEquals("/etc/livy/keystore.jks", c.get(GatewayConfig.TLS_KEYSTORE));
    assertEquals("changeit", c.get(GatewayConfig.TLS_KEYSTORE_PASSWORD));
    assertEquals(7, c.get(GatewayConfig.SESSION_MAX_CREATING));
    assertEquals("ldap://ldap.example.com", c.get(GatewayConfig.AUTH_LDAP_URL));
    assertEquals("ou=people,dc=example,dc=com", c.get(GatewayConfig.AUTH_LDAP_BASE_DN));
    assertEquals("example.com", c.get(GatewayConfig.AUTH_LDAP_USERNAME_DOMAIN));
  }

  @Test
  void defaultsAreLivysAndOpen() {
    GatewayConfig c = GatewayConfig.of(base(), Map.of());
    assertEquals("none", c.get(GatewayConfig.AUTH_TYPE));
    assertEquals(false, c.get(GatewayConfig.IMPERSONATION_ENABLED));
    assertEquals(false, c.get(GatewayConfig.ACCESS_CONTROL_ENABLED));
    assertEquals(List.of("*"), c.get(GatewayConfig.ACCESS_CONTROL_ALLOWED_USERS));
    assertEquals(List.of(), c.get(GatewayConfig.SUPERUSERS));
    assertEquals(false, c.get(GatewayConfig.CSRF_PROTECTION));
    assertEquals(100, c.get(GatewayConfig.SESSION_MAX_CREATING));
  }

  @Test
  void badValuesAndMissingSettingsAreNamed() {
    Map<String, String> s = base();
    s.put("livy.impersonation.enabled", "yes");
    s.put("sparkgate.auth.type", "saml");
    var e = assertThrows(io.sparkgate.gateway.ConfigException.class, () -> GatewayConfig.of(s, Map.of()));
    assertTrue(e.getMessage().contains("sparkgate.impersonation.enabled = 'yes'"), e.getMessage());
    assertTrue(e.getMessage().contains("sparkgate.auth.type = 'saml'"), e.getMessage());

    Vertx vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    try {
      for (Map.Entry<String, ConfigEntry<String>> need : Map.of(
          "basic", GatewayConfig.AUTH_HTPASSWD_FILE,
          "jwt", GatewayConfig.AUTH_JWT_KEY_FILE,
          "kerberos", GatewayConfig.AUTH_KERBEROS_KEYTAB).entrySet()) {
        Map<String, String> t = base();
        t.put("sparkgate.auth.type", need.getKey());
        GatewayConfig c = GatewayConfig.of(t, Map.of());
        var missing = assertThrows(IllegalArgumentException.class, () -> Security.create(vertx, c));
        assertTrue(missing.getMessage().contains(need.getValue().key()), missing.getMessage());
      }
      Map<String, String> t = base();
      t.put("sparkgate.auth.type", "ldap");
      var ldap = assertThrows(IllegalArgumentException.class, () -> Security.create(vertx, GatewayConfig.of(t, Map.of())));
      assertTrue(ldap.getMessage().contains("sparkgate.auth.ldap.url"), ldap.getMessage());
    } finally {
      GatewayTestBase.await(vertx.close());
    }
  }
}
