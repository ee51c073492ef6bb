package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.unboundid.ldap.listener.InMemoryDirectoryServer;
import com.unboundid.ldap.listener.InMemoryDirectoryServerConfig;
import com.unboundid.ldap.listener.InMemoryListenerConfig;
import io.vertx.core.http.HttpMethod;
import java.net.InetAddress;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code sparkgate.auth.type = ldap} with Livy's {@code base-dn} key: Basic credentials bound against
 * a real LDAP server (UnboundID's in-memory directory server, speaking LDAP over a loopback socket).
 */
class LdapAuthTest extends SecureGatewayTestBase {

  private InMemoryDirectoryServer ldap;

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", basic("dave", "s3cret-dave"));
  }

  @Override
  protected Map<String, String> settings() {
    try {
      InMemoryDirectoryServerConfig c = new InMemoryDirectoryServerConfig("dc=example,dc=com");
      c.setListenerConfigs(InMemoryListenerConfig.createLDAPConfig("ldap", InetAddress.getLoopbackAddress(), 0,
          null));
      ldap = new InMemoryDirectoryServer(c);
      ldap.add("dn: dc=example,dc=com", "objectClass: top", "objectClass: domain", "dc: example");
      ldap.add("dn: ou=people,dc=example,dc=com", "objectClass: top", "objectClass: organizationalUnit",
          "ou: people");
      ldap.add("dn: uid=dave,ou=people,dc=example,dc=com", "objectClass: top", "objectClass: inetOrgPerson",
          "uid: dave", "cn: Dave", "sn: D", "userPassword: s3cret-dave");
      ldap.startListening();
    } catch (Exception e) {
      throw new IllegalStateException("the LDAP server did not start", e);
    }
    // Livy's key names: they carry over from livy.conf.
    return Map.of("livy.server.auth.type", "ldap",
        "livy.server.auth.ldap.url", "ldap://127.0.0.1:" + ldap.getListenPort(),
        "livy.server.auth.ldap.base-dn", "ou=people,dc=example,dc=com");
  }

  @AfterAll
  void stopLdap() {
    if (ldap != null) {
      ldap.shutDown(true);
    }
  }

  private Response as(String user, String password, HttpMethod method, String path, String body) {
    return call(method, path, body, Map.of("Authorization", basic(user, password)));
  }

  @Test
  void theRightPasswordBindsAndTheUserOwnsItsSession() {
    Response created = as("dave", "s3cret-dave", HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}");
    assertEquals(201, created.status(), created.body());
    assertEquals("dave", created.json().getString("owner"));
    assertEquals(200, as("dave", "s3cret-dave", HttpMethod.DELETE, "/sessions/" + created.json().getInteger("id"),
        null).status());
  }

  @Test
  void wrongPasswordUnknownUserEmptyPasswordAndDnTricksAre401() {
    String[][] bad = {
        {"dave", "s3cret"}, {"erin", "s3cret-dave"}, {"dave", ""},
        // A name that would change the DN bound as, or an anonymous bind: refused before any bind.
        {"dave,ou=people", "s3cret-dave"}, {"*", "x"}, {"uid=dave", "s3cret-dave"}};
    for (String[] c : bad) {
      Response r = as(c[0], c[1], HttpMethod.GET, "/sessions", null);
      assertEquals(401, r.status(), c[0]);
      assertTrue(r.headers().get("WWW-Authenticate").startsWith("Basic realm="), c[0]);
    }
    assertEquals(401, get("/sessions").status());
  }
}
