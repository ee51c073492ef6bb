"""A non-Java client of the push streams: Python requests reading Server-Sent Events (stream=True,
parsed by hand, as a notebook extension without an SSE library would), against the gateway that
scripts/sparkgate started. A Scala statement prints a line every 200 ms for 3 s: its first line
must arrive while it still runs, and a client that drops mid-statement resumes with Last-Event-ID
and gets every event exactly once."""
import json

import requests

from conftest import HEADERS, wait_for

TICKER = 'for (i <- 1 to 15) { println(s"tick $i"); Thread.sleep(200) }'
FINAL = ("available", "error", "cancelled")


def sse_events(response):
    """Yields (id, event, data) for each event of a text/event-stream response, as it arrives."""
    event_id, event, data = None, "message", []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if line == "":
            if data:
                yield event_id, event, json.loads("\n".join(data))
            event_id, event, data = None, "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


def test_sse_from_python_live_output_and_resume(host):
    r = requests.post(host + "/sessions", data=json.dumps({"kind": "spark", "name": "streams-py"}), headers=HEADERS)
    assert r.status_code == 201, r.text
    session_url = host + r.headers["location"]
    try:
        session = wait_for(lambda: requests.get(session_url).json(),
                           lambda s: s["state"] in ("idle", "error", "dead"), timeout=240)
        assert session["state"] == "idle", session

        # Live output: the first line arrives while the statement is still running.
        r = requests.post(session_url + "/statements", data=json.dumps({"code": TICKER}), headers=HEADERS)
        assert r.status_code == 201, r.text
        statement_url = host + r.headers["location"]
        seen = []
        with requests.get(statement_url + "/events", stream=True, timeout=120,
                          headers={"Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            events = sse_events(stream)
            for event_id, event, data in events:
                seen.append((event_id, event, data))
                if event == "output":
                    assert requests.get(statement_url).json()["state"] == "running"
                    assert data["text"].startswith("tick 1")
                    break
                assert not (event == "statement" and data["state"] in FINAL), f"ended before any output: {seen}"
            # Read two more lines, then drop the connection mid-statement.
            for event_id, event, data in events:
                seen.append((event_id, event, data))
                if event == "output" and "tick 3" in data["text"]:
                    break

        # Resume after the last id received: the rest, up to the final state, each event once.
        last_id = seen[-1][0]
        with requests.get(statement_url + "/events", stream=True, timeout=120,
                          headers={"Last-Event-ID": str(last_id)}) as stream:
            assert stream.status_code == 200
            for event_id, event, data in sse_events(stream):
                seen.append((event_id, event, data))
            # The server ends a statement's stream after its final state.
        ids = [e[0] for e in seen]
        assert ids == sorted(set(ids)), ids
        assert seen[-1][1] == "statement" and seen[-1][2]["state"] == "available"
        text = "".join(d["text"] for _, e, d in seen if e == "output")
        assert text == "".join(f"tick {i}\n" for i in range(1, 16))
        assert seen[-1][2] == requests.get(statement_url).json()
    finally:
        requests.delete(session_url)
