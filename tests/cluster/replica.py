#!/usr/bin/env python3
"""A node with a real streaming replica of the PostgreSQL primary, checked from outside.

  BIN=target/debug/newsdesk DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_replica \\
      python3 tests/cluster/replica.py

Makes a second PostgreSQL cluster with `pg_basebackup -R` on REPLICA_PORT (5433) on this machine
(allowing replication connections from 127.0.0.1 on the primary if they are not yet), starts a
node with DATABASE_REPLICA_URL pointing at it, and checks that:

- the replica is reported healthy in /readyz and serves the Content API's reads;
- a story published through the node is served through it at once;
- stopping the replica costs no failed request (the primary serves), and /readyz says so;
- starting it again puts it back to work;
- and then everything `three_nodes.py` checks holds with every node reading from the replica.
"""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BIN = os.path.realpath(os.environ["BIN"])
URL = os.environ["DATABASE_URL"]
PORT = int(os.environ.get("PORT", "18130"))
REPLICA_PORT = int(os.environ.get("REPLICA_PORT", "5433"))
WORK = tempfile.mkdtemp()
DATA = os.path.join(WORK, "replica")
PG_VERSION = sorted(os.listdir("/etc/postgresql"))[-1]
PG_BIN = f"/usr/lib/postgresql/{PG_VERSION}/bin"
HBA = f"/etc/postgresql/{PG_VERSION}/main/pg_hba.conf"
node = None


def step(text):
    print(f"--- {text}", flush=True)


def fail(text):
    print(f"FAILED: {text}", file=sys.stderr, flush=True)
    for name in ("node.err", "replica/log"):
        path = os.path.join(WORK, name)
        if os.path.exists(path):
            print(f"--- {name} (tail)", file=sys.stderr)
            print("".join(open(path).readlines()[-20:]), file=sys.stderr)
    sys.exit(1)


def check(condition, text):
    if not condition:
        fail(text)


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def as_postgres(*args):
    return run("runuser", "-u", "postgres", "--", *args)


def pg_ctl(action):
    args = [f"{PG_BIN}/pg_ctl", "-D", DATA, "-w", "-t", "60"]
    if action == "start":
        args += ["-l", os.path.join(DATA, "log"), "-o",
                 f"-p {REPLICA_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={DATA}"]
    else:
        args += ["-m", "fast"]
    as_postgres(*args, action)


def make_replica():
    primary_admin = URL.rsplit("/", 1)[0] + "/postgres"
    hba = open(HBA).read()
    if not any(l.split()[:2] == ["host", "replication"] for l in hba.splitlines() if l.strip()):
        with open(HBA, "a") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")
        run("psql", primary_admin, "-qAtc", "SELECT pg_reload_conf()")
        time.sleep(0.5)
    run(f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-U", "postgres", "-D", DATA, "-R", "-X", "stream",
        "-c", "fast")
    # Debian keeps the configuration outside the data directory: give the copy its own.
    with open(os.path.join(DATA, "postgresql.conf"), "w") as f:
        f.write("hot_standby = on\n")
    with open(os.path.join(DATA, "pg_hba.conf"), "w") as f:
        f.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    open(os.path.join(DATA, "pg_ident.conf"), "w").close()
    for stale in glob.glob(os.path.join(DATA, "postmaster.*")):
        os.remove(stale)
    run("chown", "-R", "postgres:postgres", WORK)
    os.chmod(DATA, 0o700)
    pg_ctl("start")


def get(path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers, json.loads(r.read() or b"null")


def send(method, path, body, token, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers, json.loads(r.read() or b"null")


def replica_state():
    return get("/readyz")[2]["replicas"][0]


def until(text, done, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.1)
    fail(f"{text}: not within {seconds} s")


def main():
    global node
    name = URL.rsplit("/", 1)[1].split("?")[0]
    admin_url = URL.rsplit("/", 1)[0] + "/postgres"
    run("psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name}")
    run("psql", admin_url, "-qc", f"CREATE DATABASE {name}")

    step(f"a streaming replica of the primary on port {REPLICA_PORT}")
    make_replica()

    step("a node with the replica")
    replica_url = f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/{name}"
    env = dict(os.environ, DATABASE_URL=URL, DATABASE_REPLICA_URL=replica_url, LOG_FILTER="info",
               BIND_ADDRESS=f"127.0.0.1:{PORT}", JWT_SECRET="replica-test-secret-0123456789abcdef0123",
               MEDIA_STORE=os.path.join(WORK, "media"))
    node = subprocess.Popen([BIN, "serve", "--demo"], cwd=WORK, env=env,
                            stdout=open(os.path.join(WORK, "node.out"), "w"),
                            stderr=open(os.path.join(WORK, "node.err"), "w"))
    until("the node ready", lambda: _ready(), 60)
    until("the replica healthy", lambda: replica_state()["healthy"])
    password = next(l.split()[-1] for l in open(os.path.join(WORK, "node.out")) if "password:" in l)
    _, session = send("POST", "/auth/login", {"email": "admin@newsdesk.local", "password": password}, None)
    admin = session["access_token"]

    step("reads go to the replica, and a story published through the node is served at once")
    before = replica_state()["reads"]
    for lang in ("en", "ru", "ka"):
        check(get(f"/api/v1/articles?lang={lang}")[0] == 200, "a list")
    check(replica_state()["reads"] > before, "the replica served no read")
    _, story = send("POST", "/admin/articles", {"type": "news", "translation": {
        "lang": "en", "title": "Published while a replica follows", "body": "<p>Text.</p>"}}, admin)
    path = f"/admin/articles/{story['id']}/translations/en"
    _, hdrs, t = get(f"/api/v1{path}", admin)
    send("POST", path + "/transitions", {"status": "published"}, admin, {"If-Match": hdrs["ETag"]})
    status, _, page = get(f"/api/v1/articles/en/{t['slug']}")
    check(status == 200 and page["title"] == "Published while a replica follows", f"{status} {page}")
    _, _, listed = get("/api/v1/articles?lang=en&limit=5")
    check(listed["items"][0]["slug"] == t["slug"], "the new story leads the list at once")

    step("stopping the replica costs no failed request")
    words = ["georgia", "talks", "bus", "metro", "energy", "forum", "crossing", "routes", "news"]
    failures, served = [], [0]
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            q = random.choice(words) + " " + random.choice(words)
            try:
                status, _, _ = get("/api/v1/articles?lang=en&q=" + urllib.request.quote(q))
                if status != 200:
                    failures.append(status)
                served[0] += 1
            except urllib.error.HTTPError as e:
                failures.append(e.code)
            except Exception as e:
                failures.append(str(e))

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for r in readers:
        r.start()
    time.sleep(1)
    pg_ctl("stop")
    until("the replica reported down", lambda: not replica_state()["healthy"], 5)
    time.sleep(2)
    down = replica_state()
    pg_ctl("start")
    until("the replica healthy again", lambda: replica_state()["healthy"], 20)
    reads_back = replica_state()["reads"]
    time.sleep(1)
    stop.set()
    for r in readers:
        r.join()
    check(not failures, f"{len(failures)} failed reads: {failures[:5]}")
    check(replica_state()["reads"] > reads_back, "the replica serves again")
    print(f"    {served[0]} searches, none failed; while down: {down}")
    _, _, metrics = None, None, urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics").read().decode()
    check("newsdesk_replica_fallbacks_total" in metrics, "the fallbacks metric")
    print("replica: every check held")

    step("three nodes on the primary, each reading from the replica")
    node.send_signal(signal.SIGTERM)
    node.wait(30)
    cluster = "newsdesk_cluster_replica"
    os.environ["DATABASE_URL"] = URL.rsplit("/", 1)[0] + "/" + cluster
    os.environ["DATABASE_REPLICA_URL"] = f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/{cluster}"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import three_nodes
    try:
        three_nodes.main()
    finally:
        for p in three_nodes.processes:
            if p.poll() is None:
                p.kill()


def _ready():
    try:
        return get("/readyz")[0] == 200
    except Exception:
        return False


if __name__ == "__main__":
    try:
        main()
    finally:
        if node and node.poll() is None:
            node.send_signal(signal.SIGTERM)
            node.wait(30)
        if os.path.exists(os.path.join(DATA, "PG_VERSION")):
            try:
                pg_ctl("stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(WORK, ignore_errors=True)
