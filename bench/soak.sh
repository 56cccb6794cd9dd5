#!/usr/bin/env bash
# Soak: MINUTES (default 30) of mixed load on one node over the SQLite archive of
# bench/load.sh (STORIES, default 10,000; seeded once into BENCH_DIR): readers on article pages,
# lists, tag pages, search and most read, beacons beside them, and an editor saving a story's
# title every second. Reports, minute by minute, the readers' requests/s and p99 and every
# error, and the node's RSS sampled every 10 s, then whether memory stayed flat after the
# warm-up (growth < 10% from minute 3 to the end), nothing failed and p99 stayed stable.
#
#   bash bench/soak.sh
#   MINUTES=5 bash bench/soak.sh
#
# BIN names the binary (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-30}
STORIES=${STORIES:-10000}
PORT=${PORT:-18096}
BENCH_DIR=${BENCH_DIR:-$PWD/target/bench}
mkdir -p "$BENCH_DIR"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN="$PWD/target/release/newsdesk"
fi
BIN=$(realpath "$BIN")
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
url="sqlite://$BENCH_DIR/archive-$STORIES.db"
export DATABASE_URL="$url" JWT_SECRET="bench-only-secret-0123456789abcdef0123456789" LOG_FILTER=warn
export TRUST_FORWARDED_FOR=true AUTH_RATE_LIMIT_PER_MINUTE=100000
marker="$BENCH_DIR/seeded-$(echo "$url" | md5sum | cut -c1-8)-$STORIES"
if [ ! -f "$marker" ]; then
  "$BIN" seed --stories "$STORIES" --languages 5
  touch "$marker"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
email="soak-$(date +%s)@newsdesk.local"
password="soak-password-$(date +%s)-x"
echo "$password" | "$BIN" user create --email "$email" --name "Soak editor" --role editor >/dev/null

BIN="$BIN" PORT="$PORT" WORK="$work" MINUTES="$MINUTES" EMAIL="$email" PASSWORD="$password" python3 - <<'PY'
import json, os, re, subprocess, threading, time, urllib.error, urllib.parse, urllib.request

BIN, WORK = os.environ["BIN"], os.environ["WORK"]
PORT, MINUTES = int(os.environ["PORT"]), int(os.environ["MINUTES"])
BASE = f"http://127.0.0.1:{PORT}"
env = dict(os.environ, BIND_ADDRESS=f"127.0.0.1:{PORT}")
server = subprocess.Popen([BIN, "serve"], cwd=WORK, env=env, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/server.err", "w"))

def call(method, path, body=None, token=None, headers=()):
    req = urllib.request.Request(BASE + path, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in headers:
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers, json.loads(r.read() or b"null")

for _ in range(300):
    try:
        urllib.request.urlopen(BASE + "/readyz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
def sign_in():
    _, login = call("POST", "/api/v1/auth/login", {"email": os.environ["EMAIL"], "password": os.environ["PASSWORD"]})
    return login["access_token"]
token = sign_in()

langs = ["en", "ru", "ka", "hy", "az"]
reads, beacons = [], []
for lang in langs:
    _, page = call("GET", f"/api/v1/articles?lang={lang}&limit=100")
    for item in page["items"]:
        slug = urllib.parse.quote(item["slug"])
        reads.append(f"/api/v1/articles/{lang}/{slug}")
        beacons.append(f"/api/v1/articles/{lang}/{slug}/views")
        for t in item["tags"][:1]:
            reads.append(f"/api/v1/tags/{urllib.parse.quote(t['slug'])}/articles?lang={lang}")
    reads += [f"/api/v1/articles?lang={lang}", f"/api/v1/articles/most-read?lang={lang}"]
    words = [w for item in page["items"][:20] for w in item["title"].split() if len(w) > 4]
    reads += [f"/api/v1/articles?lang={lang}&q={urllib.parse.quote(w)}" for w in words[:20]]
open(f"{WORK}/reads", "w").write("\n".join(reads) + "\n")
open(f"{WORK}/beacons", "w").write("\n".join(beacons) + "\n")

rss = []
stop = threading.Event()
def sample():
    while not stop.is_set():
        with open(f"/proc/{server.pid}/status") as f:
            kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        rss.append((time.monotonic(), kb / 1024))
        stop.wait(10)
threading.Thread(target=sample, daemon=True).start()

writes = {"ok": 0, "failed": 0}
def write():
    global token
    _, mine = call("GET", "/api/v1/admin/articles?lang=en&limit=1", token=token)
    story = mine["items"][0]["id"]
    n = 0
    while not stop.is_set():
        n += 1
        try:
            h, _ = call("GET", f"/api/v1/admin/articles/{story}/translations/en", token=token)
            call("PATCH", f"/api/v1/admin/articles/{story}/translations/en", {"title": f"Soak edit {n}"}, token=token,
                 headers=[("If-Match", h["ETag"])])
            writes["ok"] += 1
        except urllib.error.HTTPError as e:
            if e.code == 401:
                # Access tokens last 15 minutes: sign in again, as an editor's tool would.
                token = sign_in()
                continue
            writes["failed"] += 1
            print("write failed:", e, flush=True)
        except Exception as e:
            writes["failed"] += 1
            print("write failed:", e, flush=True)
        stop.wait(1)
threading.Thread(target=write, daemon=True).start()

def wrk(args, method="GET"):
    env = dict(os.environ, METHOD=method)
    return subprocess.run(["wrk", "--latency"] + args, capture_output=True, text=True, env=env).stdout

def parse(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return rps, p99, errors

minutes = []
start = time.monotonic()
print("minute  reads/s   p99 ms  errors  beacons/s  errors  RSS MB", flush=True)
for minute in range(1, MINUTES + 1):
    results = {}
    def run(name, args, method="GET"):
        results[name] = parse(wrk(args, method))
    b = threading.Thread(target=run, args=("beacons", ["-t1", "-c8", "-d60s", "-s", "bench/rotate.lua", BASE, "--", f"{WORK}/beacons"], "POST"))
    b.start()
    run("reads", ["-t2", "-c48", "-d60s", "-s", "bench/rotate.lua", BASE, "--", f"{WORK}/reads"])
    b.join()
    now_rss = rss[-1][1] if rss else 0
    minutes.append((results["reads"], results["beacons"], now_rss))
    r, bcn = results["reads"], results["beacons"]
    print(f"{minute:6d} {r[0]:9.0f} {r[1]:8.1f} {r[2]:7d} {bcn[0]:10.0f} {bcn[2]:7d} {now_rss:7.0f}", flush=True)
stop.set()
server.terminate()
server.wait()

warm = [m for t, m in rss if t - start >= 120] or [m for _, m in rss]
growth = (warm[-1] - warm[0]) / warm[0] * 100
p99s = [m[0][1] for m in minutes]
errors = sum(m[0][2] + m[1][2] for m in minutes)
print(f"\nRSS after the warm-up {warm[0]:.0f} MB → at the end {warm[-1]:.0f} MB ({growth:+.1f}%), highest {max(warm):.0f} MB"
      f"{' — flat' if growth < 10 else ' — GREW'}")
print(f"readers' p99 by minute: first {p99s[0]:.1f} ms, median {sorted(p99s)[len(p99s) // 2]:.1f} ms, "
      f"last {p99s[-1]:.1f} ms, highest {max(p99s):.1f} ms")
print(f"errors: {errors}; editor's saves: {writes['ok']} done, {writes['failed']} failed")
if open(f"{WORK}/server.err").read().count("panicked"):
    print("the server panicked")
PY
