"""The seed's Livy walkthrough (shared/seed/livy-walkthrough.md), replayed with Python requests
against the gateway that scripts/sparkgate started, with Scala code in a `spark` session.

Each step is the walkthrough's own call, in its order; what is asserted is what a Livy user reads
off the JSON."""
import json
import textwrap

import requests

from conftest import HEADERS, wait_for


def test_walkthrough_in_a_scala_session(host):
    # Start a session.
    data = {"kind": "spark", "name": "walkthrough"}
    r = requests.post(host + "/sessions", data=json.dumps(data), headers=HEADERS)
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["kind"] == "spark"
    assert session["name"] == "walkthrough"
    assert session["state"] in ("not_started", "starting")
    assert set(session) >= {"id", "name", "appId", "owner", "proxyUser", "state", "kind", "appInfo", "log"}
    assert r.headers["location"] == f"/sessions/{session['id']}"

    # Get the session state, polling until it is idle.
    session_url = host + r.headers["location"]
    session = wait_for(lambda: requests.get(session_url, headers=HEADERS).json(),
                       lambda s: s["state"] in ("idle", "error", "dead"), timeout=180)
    assert session["state"] == "idle", session
    assert session["appId"], session
    state = requests.get(session_url + "/state", headers=HEADERS).json()
    assert state == {"id": session["id"], "state": "idle"}

    # Execute sample code.
    statements_url = session_url + "/statements"
    data = {"code": textwrap.dedent("""println("hi")""")}
    r = requests.post(statements_url, data=json.dumps(data), headers=HEADERS)
    assert r.status_code == 201, r.text
    statement = r.json()
    assert statement["state"] in ("waiting", "running", "available")
    assert statement["code"] == 'println("hi")'

    # Poll for the result.
    statement_url = host + r.headers["location"]
    statement = wait_for(lambda: requests.get(statement_url, headers=HEADERS).json(),
                         lambda s: s["state"] in ("available", "error", "cancelled"), timeout=60)
    assert statement["state"] == "available"
    assert statement["output"] == {
        "status": "ok",
        "execution_count": statement["id"],
        "data": {"text/plain": "hi\n"},
    }
    assert statement["progress"] == 1.0

    # Calculate the value of PI.
    data = {"code": textwrap.dedent("""
        val NUM_SAMPLES = 100000
        val count = sc.parallelize(1 to NUM_SAMPLES).filter { _ =>
          val x = math.random
          val y = math.random
          x * x + y * y < 1
        }.count()
        println(f"Pi is roughly ${4.0 * count / NUM_SAMPLES}%f")
        """)}
    r = requests.post(statements_url, data=json.dumps(data), headers=HEADERS)
    assert r.status_code == 201, r.text
    statement_url = host + r.headers["location"]
    statement = wait_for(lambda: requests.get(statement_url, headers=HEADERS).json(),
                         lambda s: s["state"] in ("available", "error", "cancelled"), timeout=120)
    assert statement["output"]["status"] == "ok", statement
    text = statement["output"]["data"]["text/plain"]
    pi = float(text.split("Pi is roughly ")[1].split()[0])
    assert 3.0 < pi < 3.3, text
    assert statement["progress"] == 1.0

    listing = requests.get(statements_url, headers=HEADERS).json()
    assert listing["total_statements"] == 2
    assert [s["id"] for s in listing["statements"]] == [0, 1]


    # Close and delete the session.
    r = requests.delete(session_url, headers=HEADERS)
    assert r.status_code == 200
    assert r.json() == {"msg": "deleted"}
    # As Livy: listed shutting_down while the driver stops, then gone.
    r = requests.get(session_url, headers=HEADERS)
    assert r.status_code == 404 or r.json()["state"] == "shutting_down", r.text
    wait_for(lambda: requests.get(session_url, headers=HEADERS).status_code, lambda code: code == 404, timeout=60)
    sessions = requests.get(host + "/sessions", headers=HEADERS).json()
    assert session["id"] not in [s["id"] for s in sessions["sessions"]]


def test_walkthrough_in_a_pyspark_session(host):
    """The seed's pyspark part: a session of kind pyspark, the PI example in Python 3."""
    r = requests.post(host + "/sessions", data=json.dumps({"kind": "pyspark", "name": "walkthrough-py"}),
                      headers=HEADERS)
    assert r.status_code == 201, r.text
    session_url = host + r.headers["location"]
    session = wait_for(lambda: requests.get(session_url, headers=HEADERS).json(),
                       lambda s: s["state"] in ("idle", "error", "dead"), timeout=180)
    assert session["state"] == "idle", session
    assert session["kind"] == "pyspark"

    statements_url = session_url + "/statements"
    data = {"code": textwrap.dedent("""
        import random
        NUM_SAMPLES = 100000
        def sample(p):
          x, y = random.random(), random.random()
          return 1 if x*x + y*y < 1 else 0
        count = sc.parallelize(range(0, NUM_SAMPLES)).map(sample).reduce(lambda a, b: a + b)
        print("Pi is roughly %f" % (4.0 * count / NUM_SAMPLES))
        """)}
    r = requests.post(statements_url, data=json.dumps(data), headers=HEADERS)
    assert r.status_code == 201, r.text
    statement_url = host + r.headers["location"]
    statement = wait_for(lambda: requests.get(statement_url, headers=HEADERS).json(),
                         lambda s: s["state"] in ("available", "error", "cancelled"), timeout=120)
    assert statement["output"]["status"] == "ok", statement
    pi = float(statement["output"]["data"]["text/plain"].split("Pi is roughly ")[1].split()[0])
    assert 3.0 < pi < 3.3
    assert statement["progress"] == 1.0

    # The walkthrough's own Python 2 line gets Python 3's answer, as a Livy error output.
    r = requests.post(statements_url, data=json.dumps({"code": 'print "hi"'}), headers=HEADERS)
    statement = wait_for(lambda: requests.get(host + r.headers["location"], headers=HEADERS).json(),
                         lambda s: s["state"] in ("available", "error", "cancelled"), timeout=60)
    assert statement["output"]["status"] == "error"
    assert statement["output"]["ename"] == "SyntaxError"

    # Livy's extras a client may use: the session by name, statements newest first, the API version.
    by_name = requests.get(host + "/sessions/walkthrough-py/statements?order=desc&size=1", headers=HEADERS).json()
    assert [s["id"] for s in by_name["statements"]] == [1]
    assert by_name["total_statements"] == 2
    livy_v1 = {"Accept": "application/vnd.livy.v0.1+json"}
    assert requests.get(host + "/sessions/walkthrough-py/state", headers=livy_v1).json()["state"] == "idle"
    r = requests.get(session_url, headers={"Accept": "application/vnd.livy.v0.2+json"})
    assert r.status_code == 406 and "msg" in r.json()
    version = requests.get(host + "/version", headers=HEADERS).json()
    assert {"version", "user", "revision", "branch", "date", "url"} <= set(version)

    assert requests.delete(session_url, headers=HEADERS).json() == {"msg": "deleted"}
