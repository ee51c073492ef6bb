"""The seed's client against a Kerberos-secured gateway: Python requests with requests-kerberos.

Creates a session, waits for it to be idle, runs a statement and prints what a user would look at,
one line each, for KerberosAuthTest to check. Then tries without credentials.
usage: kerberos_client.py URL
"""
import json
import sys
import time

import requests
from requests_kerberos import REQUIRED, HTTPKerberosAuth

url = sys.argv[1]
auth = HTTPKerberosAuth(mutual_authentication=REQUIRED)
headers = {"Content-Type": "application/json"}


def poll(path, field, want, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = requests.get(url + path, auth=auth)
        r.raise_for_status()
        if r.json()[field] == want:
            return r.json()
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {path} {field}={want}")


r = requests.post(url + "/sessions", data=json.dumps({"kind": "pyspark"}), headers=headers, auth=auth)
print("create", r.status_code, flush=True)
r.raise_for_status()
session = r.json()
print("session", session["id"], session["owner"], flush=True)
poll(f"/sessions/{session['id']}/state", "state", "idle")
r = requests.post(url + f"/sessions/{session['id']}/statements", data=json.dumps({"code": "1 + 1"}),
                  headers=headers, auth=auth)
print("statement", r.status_code, flush=True)
r.raise_for_status()
done = poll(f"/sessions/{session['id']}/statements/{r.json()['id']}", "state", "available")
print("output", json.dumps(done["output"], sort_keys=True), flush=True)

r = requests.get(url + "/sessions")
print("anonymous", r.status_code, r.headers.get("WWW-Authenticate"), flush=True)
