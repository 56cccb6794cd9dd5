#!/usr/bin/env bash
# How fast a change made through one node is served by another. Starts NODES nodes (default 3)
# on one database, saves a published story's title through the first CHANGES times (default
# 200), and after each save asks every other node for the story's page until it shows the new
# title; reports p50, p99 and the slowest of those waits. On PostgreSQL nodes hear each change as
# it commits (LISTEN/NOTIFY); on SQLite they read the content version every
# CONTENT_FRESHNESS_MS / 2.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_propagation bash bench/propagation.sh
#   bash bench/propagation.sh                 # SQLite, for comparison
#
# BIN names the binary (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-3}
CHANGES=${CHANGES:-200}
PORT=${PORT:-18110}
if [ -n "${BIN:-}" ]; then
  BIN=$(realpath "$BIN")
else
  cargo build --release -q
  BIN="$PWD/target/release/newsdesk"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url=${DATABASE_URL:-sqlite://$work/propagation.db}

BIN="$BIN" URL="$url" PORT="$PORT" NODES="$NODES" CHANGES="$CHANGES" WORK="$work" python3 - <<'PY'
import atexit, json, os, subprocess, time, urllib.error, urllib.request

BIN, URL, WORK = os.environ["BIN"], os.environ["URL"], os.environ["WORK"]
PORT, NODES, CHANGES = int(os.environ["PORT"]), int(os.environ["NODES"]), int(os.environ["CHANGES"])
env = dict(os.environ, DATABASE_URL=URL, LOG_FILTER="warn",
           JWT_SECRET="propagation-bench-secret-0123456789abcdef")
if URL.startswith("postgres"):
    base, name = URL.rsplit("/", 1)
    subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
nodes = []
for i in range(NODES):
    port = PORT + i
    # The first node adds the demo content (languages, stories, an admin) to the empty database.
    args = [BIN, "serve", "--demo"] if i == 0 else [BIN, "serve"]
    p = subprocess.Popen(args, env=dict(env, BIND_ADDRESS=f"127.0.0.1:{port}"), cwd=WORK,
                         stdout=open(f"{WORK}/node{i}.out", "w"), stderr=open(f"{WORK}/node{i}.err", "w"))
    nodes.append((p, f"http://127.0.0.1:{port}/api/v1"))
    atexit.register(p.terminate)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
            break
        except Exception:
            time.sleep(0.1)
    else:
        raise SystemExit(f"node {i} did not start: {open(f'{WORK}/node{i}.err').read()}")
password = next(l.split()[-1] for l in open(f"{WORK}/node0.out") if "password:" in l)

def call(api, method, path, body=None, headers=None):
    req = urllib.request.Request(api + path, method=method, headers=headers or {},
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        return r.headers, json.load(r)

a = nodes[0][1]
_, token = call(a, "POST", "/auth/login", {"email": "admin@newsdesk.local", "password": password})
auth = {"Authorization": "Bearer " + token["access_token"]}
_, stories = call(a, "GET", "/admin/articles?status=published&lang=en&limit=1", headers=auth)
story = stories["items"][0]["id"]
path = f"/admin/articles/{story}/translations/en"
h, t = call(a, "GET", path, headers=auth)
page = f"/articles/en/{t['slug']}"
for _, api in nodes:
    call(api, "GET", page)
time.sleep(1.5)
waits = []
for i in range(1, CHANGES + 1):
    title = f"Propagation {i}"
    h, _ = call(a, "GET", path, headers=auth)
    call(a, "PATCH", path, {"subtitle": title}, {**auth, "If-Match": h["ETag"]})
    saved = time.monotonic()
    for _, api in nodes[1:]:
        while call(api, "GET", page)[1]["subtitle"] != title:
            if time.monotonic() - saved > 10:
                raise SystemExit(f"node {api} did not show change {i} in 10 s")
            time.sleep(0.002)
        waits.append((time.monotonic() - saved) * 1000)
waits.sort()
q = lambda f: waits[min(len(waits) - 1, int(f * len(waits)))]
backend = URL.split(":")[0]
print(f"{backend}, {NODES} nodes, {CHANGES} changes: a change through node 1 is served by the others "
      f"after p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, slowest {waits[-1]:.1f} ms")
PY
