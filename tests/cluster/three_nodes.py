#!/usr/bin/env python3
"""Three Newsdesk processes on one PostgreSQL database, checked from outside as an operator would.

  BIN=target/debug/newsdesk DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_cluster \\
      python3 tests/cluster/three_nodes.py

The database is dropped and made afresh. What must hold:

- three nodes starting at once on an empty database apply every migration once;
- the scheduler publishes each due translation once, and each publication reaches a webhook
  endpoint once, whichever node's scheduler and sender took it;
- failed sign-ins spread over the nodes lock the account on every node;
- a session signed out through one node, and a partner key revoked through one node, are refused
  by every node within CONTENT_FRESHNESS_MS;
- a change through one node is served by the others within the same bound;
- a node killed with SIGKILL in the middle of writes loses no write it acknowledged.
"""
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

BIN = os.path.realpath(os.environ["BIN"])
URL = os.environ["DATABASE_URL"]
PORT = int(os.environ.get("PORT", "18120"))
FRESHNESS_MS = 1000
WORK = tempfile.mkdtemp()
ENV = dict(
    os.environ,
    DATABASE_URL=URL,
    LOG_FILTER="warn",
    JWT_SECRET="three-nodes-secret-0123456789abcdef0123",
    SCHEDULER_INTERVAL_MS="200",
    CONTENT_FRESHNESS_MS=str(FRESHNESS_MS),
    WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
    WEBHOOK_POLL_MS="100",
    MEDIA_STORE=os.path.join(WORK, "media"),
)
processes = []


def step(text):
    print(f"--- {text}", flush=True)


def fail(text):
    print(f"FAILED: {text}", file=sys.stderr, flush=True)
    for i, _ in enumerate(processes):
        path = os.path.join(WORK, f"node{i}.err")
        if os.path.exists(path):
            print(f"--- node {i} log (tail)", file=sys.stderr)
            print("".join(open(path).readlines()[-20:]), file=sys.stderr)
    sys.exit(1)


def check(condition, text):
    if not condition:
        fail(text)


def psql(sql):
    out = subprocess.run(["psql", URL, "-Atc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def start(i, *args):
    err = open(os.path.join(WORK, f"node{i}.err"), "w")
    out = open(os.path.join(WORK, f"node{i}.out"), "w")
    p = subprocess.Popen([BIN, "serve", *args], cwd=WORK, stdout=out, stderr=err,
                         env=dict(ENV, BIND_ADDRESS=f"127.0.0.1:{PORT + i}"))
    return p


def ready(i, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT + i}/readyz", timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    fail(f"node {i} is not ready")


def call(i, method, path, body=None, token=None, headers=None, expect=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT + i}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    data = json.loads(raw) if raw else None
    if expect is not None and status != expect:
        fail(f"{method} {path} on node {i}: {status}, expected {expect}: {data}")
    return status, hdrs, data


def within(bound_ms, text, done):
    started = time.monotonic()
    while not done():
        if (time.monotonic() - started) * 1000 > bound_ms + 500:
            fail(f"{text}: not within {bound_ms} ms")
        time.sleep(0.02)
    return (time.monotonic() - started) * 1000


def main():
    name = URL.rsplit("/", 1)[1].split("?")[0]
    admin_url = URL.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)

    step("three nodes start at once on an empty database")
    processes.extend(start(i) for i in range(3))
    for i in range(3):
        ready(i)
    migrations = len(os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "migrations", "postgres")))
    applied = psql("SELECT count(*), count(DISTINCT version) FROM __diesel_schema_migrations")
    check(applied == f"{migrations}|{migrations}", f"migrations applied: {applied}, expected {migrations} once each")

    step("the demo content, through a fourth process that exits")
    demo = start(3, "--demo")
    ready(3)
    demo.send_signal(signal.SIGTERM)
    demo.wait(30)
    password = next(l.split()[-1] for l in open(os.path.join(WORK, "node3.out")) if "password:" in l)
    _, _, session = call(0, "POST", "/auth/login", {"email": "admin@newsdesk.local", "password": password}, expect=200)
    admin = session["access_token"]

    step("a webhook endpoint on this machine")
    received = []
    lock = threading.Lock()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            with lock:
                received.append((self.headers["webhook-id"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    rx = http.server.ThreadingHTTPServer(("127.0.0.1", PORT + 9), Receiver)
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    _, _, hook = call(0, "POST", "/admin/webhooks", {"url": f"http://127.0.0.1:{PORT + 9}/hook",
                                                     "events": ["article.published"]}, admin, expect=201)

    step("the scheduler publishes each due translation once, and each is announced once")
    due = (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()
    scheduled = []
    for n in range(12):
        node = n % 3
        _, _, story = call(node, "POST", "/admin/articles", {
            "type": "news", "translation": {"lang": "en", "title": f"Scheduled story {n}", "body": "<p>Due.</p>"}},
            admin, expect=201)
        path = f"/admin/articles/{story['id']}/translations/en"
        _, hdrs, t = call(node, "GET", path, token=admin, expect=200)
        call(node, "POST", path + "/transitions", {"status": "scheduled", "scheduled_at": due}, admin,
             headers={"If-Match": hdrs["ETag"]}, expect=200)
        scheduled.append((story["id"], t["id"], t["slug"]))
    for story, _, slug in scheduled:
        within(15_000, f"story {story} published", lambda: call(1, "GET", f"/articles/en/{slug}")[0] == 200)
    ids = ",".join(str(t) for _, t, _ in scheduled)
    twice = psql(f"SELECT count(*) FROM (SELECT translation_id FROM revisions WHERE translation_id IN ({ids}) "
                 f"AND status = 'published' GROUP BY translation_id HAVING count(*) > 1) AS d")
    check(twice == "0", f"{twice} translations were published more than once")
    stories = {s for s, _, _ in scheduled}
    slugs = {slug for _, _, slug in scheduled}

    def announced():
        with lock:
            return [e for e in received if e[1].get("data", {}).get("slug") in slugs]

    within(20_000, "every publication announced", lambda: len(announced()) >= len(stories))
    time.sleep(1)
    events = announced()
    check(len(events) == len(stories) and len({e[0] for e in events}) == len(stories),
          f"{len(events)} deliveries for {len(stories)} publications: {[e[1]['data'] for e in events][:3]}")

    step("failed sign-ins over the three nodes lock the account on each")
    call(0, "POST", "/admin/users", {"email": "reporter@newsdesk.local", "display_name": "Reporter",
                                     "role": "author", "password": "a long reporter password"}, admin, expect=201)
    for n in range(5):
        call(n % 3, "POST", "/auth/login", {"email": "reporter@newsdesk.local", "password": f"wrong {n}"})
    for i in range(3):
        status, _, _ = call(i, "POST", "/auth/login",
                            {"email": "reporter@newsdesk.local", "password": "a long reporter password"})
        check(status == 429, f"node {i} let a locked account sign in ({status})")

    step("a session signed out through one node is refused by every node")
    _, _, s = call(1, "POST", "/auth/login", {"email": "admin@newsdesk.local", "password": password}, expect=200)
    for i in range(3):
        call(i, "GET", "/auth/me", token=s["access_token"], expect=200)
    call(0, "POST", "/auth/logout", token=s["access_token"], expect=204)
    for i in (1, 2):
        took = within(FRESHNESS_MS, f"sign-out seen by node {i}",
                      lambda: call(i, "GET", "/auth/me", token=s["access_token"])[0] == 401)
        print(f"    node {i}: {took:.0f} ms")

    step("a partner key revoked through one node is refused by every node")
    _, _, partner = call(0, "POST", "/admin/partners", {"name": "Regional partner", "contact_email": "p@partner.example",
                                                        "requests_per_minute": 1000}, admin, expect=201)
    key = partner["key"]
    for i in range(3):
        call(i, "GET", "/syndication/changes?limit=1", token=key, expect=200)
    call(0, "POST", f"/admin/partners/{partner['partner']['id']}/keys", {"grace_hours": 0}, admin, expect=201)
    for i in (1, 2):
        took = within(FRESHNESS_MS, f"revocation seen by node {i}",
                      lambda: call(i, "GET", "/syndication/changes?limit=1", token=key)[0] == 401)
        print(f"    node {i}: {took:.0f} ms")

    step("a change through one node is served by the others")
    story, _, slug = scheduled[0]
    path = f"/admin/articles/{story}/translations/en"
    for i in range(3):
        call(i, "GET", f"/articles/en/{slug}", expect=200)
    _, hdrs, _ = call(0, "GET", path, token=admin, expect=200)
    call(0, "PATCH", path, {"subtitle": "Seen everywhere"}, admin, headers={"If-Match": hdrs["ETag"]}, expect=200)
    for i in (1, 2):
        took = within(FRESHNESS_MS, f"the change served by node {i}",
                      lambda: call(i, "GET", f"/articles/en/{slug}")[2]["subtitle"] == "Seen everywhere")
        print(f"    node {i}: {took:.0f} ms")

    step("a node killed mid-write loses nothing it acknowledged")
    story, _, _ = scheduled[1]
    path = f"/admin/articles/{story}/translations/en"
    acknowledged, attempted = [], []
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                _, hdrs, _ = call(2, "GET", path, token=admin)
                attempted.append(f"write {n}")
                status, _, t = call(2, "PATCH", path, {"subtitle": f"write {n}"}, admin,
                                    headers={"If-Match": hdrs["ETag"]})
                if status == 200:
                    acknowledged.append((f"write {n}", t["version"]))
            except Exception:
                return

    w = threading.Thread(target=writer)
    w.start()
    time.sleep(2)
    processes[2].send_signal(signal.SIGKILL)
    processes[2].wait()
    stop.set()
    w.join()
    check(acknowledged, "no write was acknowledged before the kill")
    _, _, now = call(0, "GET", path, token=admin, expect=200)
    last, version = acknowledged[-1]
    check(now["version"] >= version, f"version {now['version']} is behind the acknowledged {version}")
    check(now["subtitle"] in (last, attempted[-1]), f"{now['subtitle']!r}: the acknowledged {last!r} was lost")
    print(f"    {len(acknowledged)} writes acknowledged before SIGKILL; the last is there")

    if os.environ.get("DATABASE_REPLICA_URL"):
        for i in range(2):
            readiness = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT + i}/readyz"))
            replica = readiness["replicas"][0]
            check(replica["healthy"] and replica["reads"] > 0, f"node {i}'s replica: {replica}")
            print(f"    node {i} read from the replica {replica['reads']} times")

    for p in processes[:2]:
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    for i in range(3):
        log = open(os.path.join(WORK, f"node{i}.err")).read()
        check("panicked" not in log, f"node {i} panicked")
    print("three nodes: every check held")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
