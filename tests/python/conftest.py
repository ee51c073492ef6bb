"""Shared fixtures: the gateway under test is the one scripts/test started with scripts/sparkgate."""
import os
import time

import pytest
import requests

BASE_URL = os.environ.get("SPARKGATE_URL", "http://127.0.0.1:8998")
HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="session")
def host():
    try:
        requests.get(BASE_URL + "/version", timeout=5).raise_for_status()
    except requests.RequestException as e:  # pragma: no cover - says what to do instead of a stack
        pytest.fail(f"no gateway at {BASE_URL} ({e}); run the tests through scripts/test")
    return BASE_URL


def wait_for(fetch, done, timeout, interval=0.2):
    """Polls fetch() until done(value) holds, as a Livy client does; returns the last value."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting; last value: {value}")
        time.sleep(interval)
        value = fetch()
    return value
