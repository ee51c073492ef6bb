"""The seed walkthrough's batch examples, replayed with requests as written there (Kerberos aside),
with the build's PI estimator in place of spark-examples' SparkPi."""
import json
import os

import pytest
import requests

from conftest import HEADERS, wait_for

EXAMPLES_JAR = os.environ.get("SPARKGATE_EXAMPLES_JAR", "")
PI_CLASS = "io.sparkgate.examples.PiEstimator"
ENDED = ("success", "dead", "killed")


@pytest.fixture(scope="module")
def jar():
    if not EXAMPLES_JAR or not os.path.isfile(EXAMPLES_JAR):
        pytest.fail("SPARKGATE_EXAMPLES_JAR must name the examples jar; run the tests through scripts/test")
    return "file://" + EXAMPLES_JAR


def run_batch(host, data):
    r = requests.post(host + "/batches", data=json.dumps(data), headers=HEADERS)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["state"] == "starting"
    assert r.headers["Location"] == "/batches/%d" % batch["id"]
    r = requests.get(host + "/batches", headers=HEADERS)
    assert batch["id"] in [b["id"] for b in r.json()["sessions"]]
    return wait_for(lambda: requests.get(host + "/batches/%d" % batch["id"], headers=HEADERS).json(),
                    lambda b: b["state"] in ENDED, timeout=300)


def test_sparkpi_batch(host, jar):
    data = {"file": jar, "className": PI_CLASS}
    done = run_batch(host, data)
    assert done["state"] == "success", done
    log = requests.get(host + "/batches/%d/log" % done["id"], params={"size": 1000}).json()["log"]
    assert any(line.startswith("Pi is roughly 3.1") for line in log), log


def test_sparkpi_batch_with_driver_and_executor_sizes(host, jar):
    data = {"file": jar, "className": PI_CLASS, "driverMemory": "1g", "driverCores": 1,
            "executorMemory": "1g", "executorCores": 2}
    done = run_batch(host, data)
    assert done["state"] == "success", done
    assert list(done) == ["id", "name", "owner", "proxyUser", "state", "appId", "appInfo", "log"]


def test_a_local_file_outside_the_whitelist_is_refused(host):
    r = requests.post(host + "/batches", data=json.dumps({"file": "/etc/passwd"}), headers=HEADERS)
    assert r.status_code == 400
    assert "local-dir-whitelist" in r.json()["msg"]
