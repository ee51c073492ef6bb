package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Hadoop's auth_to_local rules as Livy's livy.server.auth.kerberos.name-rules takes them. */
class KerberosNameRulesTest {

  @Test
  void defaultStripsOnlyTheGatewaysOwnRealm() {
    KerberosNameRules r = new KerberosNameRules("DEFAULT", "EXAMPLE.COM");
    assertEquals("alice", r.shortName("alice@EXAMPLE.COM"));
    assertEquals("alice", r.shortName("alice"));
    assertNull(r.shortName("alice@OTHER.ORG"));
    assertNull(r.shortName("svc/host@EXAMPLE.COM"));
  }

  @Test
  void rulesMapInOrderWithSubstitutionGlobalAndLowerCase() {
    KerberosNameRules r = new KerberosNameRules(
        "RULE:[2:$1@$0](spark@EXAMPLE.COM)s/.*/sparkuser/\n"
            + "RULE:[1:$1@$0](.*@PARTNER.ORG)s/@.*//L\n"
            + "RULE:[1:$1](a.b.c)s/\\./-/g\n"
            + "DEFAULT", "EXAMPLE.COM");
    assertEquals("sparkuser", r.shortName("spark/node1.example.com@EXAMPLE.COM"));
    assertNull(r.shortName("hdfs/node1.example.com@EXAMPLE.COM"));
    assertEquals("carol", r.shortName("Carol@PARTNER.ORG"));
    assertEquals("a-b-c", r.shortName("a.b.c@EXAMPLE.COM"));
    assertEquals("dave", r.shortName("dave@EXAMPLE.COM"));
    assertNull(r.shortName("dave@ELSEWHERE.NET"));
  }

  @Test
  void aRuleThatLeavesARealmOrIsGarbageIsRefused() {
    KerberosNameRules keep = new KerberosNameRules("RULE:[1:$1@$0](.*)", "EXAMPLE.COM");
    assertNull(keep.shortName("alice@EXAMPLE.COM"));
    assertThrows(IllegalArgumentException.class, () -> new KerberosNameRules("RULE:oops", "EXAMPLE.COM"));
    assertThrows(IllegalArgumentException.class, () -> new KerberosNameRules("  ", "EXAMPLE.COM"));
  }
}
