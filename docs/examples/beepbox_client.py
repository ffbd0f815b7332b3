#!/usr/bin/env python3
"""Script a beepbox from Python: start a job, follow it live, download its files, load a CSV.

    python3 docs/examples/beepbox_client.py --url http://127.0.0.1:8000 --out ./downloads
    BOX_API_KEY=... python3 docs/examples/beepbox_client.py --url http://box.lab.example:8000

Needs `requests` and `pandas` (Debian: apt install python3-requests python3-pandas;
elsewhere: pip install requests pandas). What it does:

1. POST /jobs: a short cyclic voltammetry on every device; the answer holds the run_id.
2. GET /runs/{run_id}/stream: Server-Sent Events (status, mode, points, progress, end), parsed
   with a few lines over requests' iter_lines; it resumes with Last-Event-ID if the connection
   drops. A daemon without the stream route answers 404: then it polls GET /jobs/{run_id}.
3. GET /jobs/{run_id}: the final status and the per-slot counters.
4. GET /runs/{run_id}/zip: every file of the run, saved to --out.
5. Loads each measurement CSV from the ZIP into pandas and prints the run's point count.
"""
import argparse
import datetime
import io
import json
import os
import sys
import time
import zipfile

import pandas as pd
import requests

TERMINAL = {"done", "failed", "cancelled"}

CV = {"start": 0, "vertex1": 0.5, "vertex2": -0.5, "end": 0, "scan_rate": 1, "cycles": 1}


class Box:
    """The HTTP API with the key (if any) on every request."""

    def __init__(self, url, api_key):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def call(self, method, path, **kwargs):
        response = self.session.request(method, self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)
        if response.status_code >= 400:
            # Errors are {"code", "message", "hint", ...}: say which and why.
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response


def start_job(box, devices):
    body = {
        "devices": devices,
        "modes": ["CV"],
        "params_by_mode": {"CV": CV},
        "experiment_name": "PythonExample",
        # The client's own clock, in UTC: it names the run's files (like the reference GUI).
        "client_datetime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return box.call("POST", "/jobs", json=body).json()


def sse_events(lines):
    """Yield (id, event, data) from an iterator of text lines (the text/event-stream format)."""
    event_id, event_type, data = None, "message", []
    for line in lines:
        if line == "":  # a blank line ends an event
            if data:
                yield event_id, event_type, "\n".join(data)
            event_type, data = "message", []
            continue
        if line.startswith(":"):  # a comment: the server's keep-alive
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


def follow_stream(box, run_id):
    """Print live progress from the SSE stream until the `end` event. False if there is no stream route."""
    last_id = None
    for _attempt in range(10):
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id  # resume where the dropped connection stopped
        try:
            with box.session.get(f"{box.url}/runs/{run_id}/stream", headers=headers, stream=True, timeout=(10, 60)) as response:
                if response.status_code == 404:
                    return False
                response.raise_for_status()
                lines = (raw.decode("utf-8") for raw in response.iter_lines(chunk_size=None))
                for event_id, event, data in sse_events(lines):
                    last_id = event_id or last_id
                    payload = json.loads(data)
                    if event == "progress":
                        remaining = payload.get("remaining_s")
                        eta = "?" if remaining is None else f"{remaining:.0f} s"
                        print(f"  {payload['slot']}: {payload.get('progress_pct', 0):5.1f} %  {payload.get('points')} points  {eta} left", flush=True)
                    elif event == "mode":
                        print(f"  {payload['slot']}: {payload['mode']} {payload['state']}", flush=True)
                    elif event == "dropped":
                        print(f"  (stream: {payload.get('count')} events dropped, {payload.get('reason')})", flush=True)
                    elif event == "end":
                        return True
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as error:
            print(f"  stream interrupted ({error.__class__.__name__}), resuming", flush=True)
            time.sleep(1)
            continue
        # The server closed without `end`: reconnect and resume from last_id.
    raise RuntimeError("the stream kept dropping")


def poll_until_done(box, run_id):
    while True:
        job = box.call("GET", f"/jobs/{run_id}").json()
        print(f"  {job['status']}: {job['progress_pct']:.1f} %", flush=True)
        if job["status"] in TERMINAL:
            return
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BEEPBOX_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("BOX_API_KEY", ""), help="API key (default: $BOX_API_KEY)")
    parser.add_argument("--devices", default="all", help='"all" or comma-separated slots, e.g. slot01,slot02')
    parser.add_argument("--out", default=".", help="where to save the run's ZIP")
    args = parser.parse_args()

    box = Box(args.url, args.key)
    devices = "all" if args.devices == "all" else args.devices.split(",")
    job = start_job(box, devices)
    run_id = job["run_id"]
    print(f"run_id: {run_id}", flush=True)

    if not follow_stream(box, run_id):
        print("  (no stream route on this daemon: polling)", flush=True)
        poll_until_done(box, run_id)
    job = box.call("GET", f"/jobs/{run_id}").json()
    print(f"status: {job['status']}")
    if job["status"] != "done":
        for slot in job["slots"]:
            print(f"  {slot['slot']}: {slot['status']} {slot.get('message') or ''}")
        return 1

    archive = box.call("GET", f"/runs/{run_id}/zip", timeout=120).content
    os.makedirs(args.out, exist_ok=True)
    zip_path = os.path.join(args.out, f"{run_id}.zip")
    with open(zip_path, "wb") as f:
        f.write(archive)
    print(f"zip: {zip_path} ({len(archive)} bytes)")

    rows = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        csvs = sorted(n for n in z.namelist() if n.endswith(".csv") and any(n.endswith(f"_{m}.csv") for m in job["modes"]))
        for name in csvs:
            frame = pd.read_csv(z.open(name))
            rows += len(frame)
            print(f"  {name}: {len(frame)} rows, potential {frame['Potential (V)'].min():.3f}..{frame['Potential (V)'].max():.3f} V")
    job_points = sum(slot.get("points", 0) for slot in job["slots"])
    print(f"csv rows: {rows}")
    print(f"points: {job_points}")
    return 0 if rows == job_points else 1


if __name__ == "__main__":
    sys.exit(main())
