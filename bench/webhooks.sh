#!/usr/bin/env bash
# Webhook delivery benchmark: publishes STORIES stories (default 1,000) with ENDPOINTS webhook
# endpoints (default 3) subscribed to a receiver on this machine, and reports
#
# - whether every delivery arrived (STORIES × ENDPOINTS), each once;
# - the time from the event (its commit) to its arrival: p50, p99 and the slowest;
# - article-page throughput (wrk, as in bench/load.sh) while publishing with the endpoints
#   subscribed, against the same publishing with none (publishing empties the caches either way,
#   so the two runs differ by the deliveries only).
#
#   bash bench/webhooks.sh
#   STORIES=200 bash bench/webhooks.sh
#
# BIN names the binary (default: a release build made here); DATABASE_URL a database (default:
# a fresh SQLite file).
set -euo pipefail
cd "$(dirname "$0")/.."
STORIES=${STORIES:-1000}
ENDPOINTS=${ENDPOINTS:-3}
PORT=${PORT:-18097}
RX_PORT=${RX_PORT:-18098}
DURATION=${DURATION:-10}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN="$PWD/target/release/newsdesk"
fi
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url=${DATABASE_URL:-sqlite://$work/webhooks.db}

BIN="$BIN" URL="$url" PORT="$PORT" RX_PORT="$RX_PORT" STORIES="$STORIES" ENDPOINTS="$ENDPOINTS" \
  DURATION="$DURATION" WORK="$work" python3 - <<'PY'
import atexit, datetime, http.server, json, os, signal, subprocess, sys, threading, time
import urllib.request

BIN, URL, WORK = os.environ["BIN"], os.environ["URL"], os.environ["WORK"]
PORT, RX_PORT = int(os.environ["PORT"]), int(os.environ["RX_PORT"])
STORIES, ENDPOINTS, DURATION = int(os.environ["STORIES"]), int(os.environ["ENDPOINTS"]), int(os.environ["DURATION"])
BASE = f"http://127.0.0.1:{PORT}"

# The receiver stands for a system on another machine: a process of its own (not sharing this
# one's interpreter with the publishing threads) at a higher CPU priority when run as root, so
# that wrk and the node on the same two cores do not starve it. It writes one line per arrival:
# path, webhook-id, seconds from the event's timestamp to arrival.
RECEIVER = r"""
import datetime, http.server, json, sys, threading
out, lock = open(sys.argv[2], "a", buffering=1), threading.Lock()
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        at = datetime.datetime.now(datetime.timezone.utc)
        sent = datetime.datetime.fromisoformat(json.loads(body)["timestamp"].replace("Z", "+00:00"))
        with lock:
            out.write(f"{self.path} {self.headers['webhook-id']} {(at - sent).total_seconds()}\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 512  # as a web server's; Python's 5 drops connections in a burst
Server(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
"""
ARRIVALS = f"{WORK}/arrivals"
open(ARRIVALS, "w").close()
receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(RX_PORT), ARRIVALS],
                            preexec_fn=(lambda: os.nice(-5)) if os.geteuid() == 0 else None)
atexit.register(receiver.terminate)
def arrivals():
    return [(p, i, float(d)) for p, i, d in (l.split() for l in open(ARRIVALS) if l.endswith("\n"))]

env = dict(os.environ, DATABASE_URL=URL, BIND_ADDRESS=f"127.0.0.1:{PORT}", LOG_FILTER="warn",
           JWT_SECRET="webhook-bench-secret-0123456789abcdef012345", WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
           AUTH_RATE_LIMIT_PER_MINUTE="100000")
proc = subprocess.Popen([BIN, "serve", "--demo"], env=env, cwd=WORK,
                        stdout=open(f"{WORK}/out", "w"), stderr=subprocess.STDOUT)
atexit.register(lambda: proc.poll() is None and proc.send_signal(signal.SIGTERM))
def call(method, path, token=None, body=None, etag=None):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = f"Bearer {token}"
    if etag: headers["if-match"] = etag
    req = urllib.request.Request(BASE + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req) as res:
        raw = res.read()
        return res.status, res.headers, (json.loads(raw) if raw else None)
for _ in range(300):
    try:
        if call("GET", "/readyz")[0] == 200: break
    except OSError:
        time.sleep(0.1)
password = next(l.split()[1] for l in open(f"{WORK}/out") if "password:" in l)
token = call("POST", "/api/v1/auth/login", body={"email": "admin@newsdesk.local", "password": password})[2]["access_token"]
slugs = [i["slug"] for i in call("GET", "/api/v1/articles?lang=en&limit=100")[2]["items"]]
with open(f"{WORK}/pages", "w") as f:
    f.write("\n".join(f"/api/v1/articles/en/{s}" for s in slugs) + "\n")

def wrk():
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{DURATION}s", "-s", "bench/rotate.lua", BASE, "--",
                          f"{WORK}/pages"], capture_output=True, text=True).stdout
    return float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")))

def publish(count):
    for _ in range(count):
        s, h, b = call("POST", "/api/v1/admin/articles", token,
                       {"type": "news", "translation": {"lang": "en", "title": f"Bench {time.monotonic_ns()}",
                                                        "body": "<p>Benchmark story.</p>"}})
        sid = b["id"]
        s, h, t = call("GET", f"/api/v1/admin/articles/{sid}/translations/en", token)
        call("POST", f"/api/v1/admin/articles/{sid}/translations/en/transitions", token,
             {"status": "published"}, etag=h["ETag"])

def publishing_under_load():
    """Publishes STORIES from four threads while wrk reads article pages: (rate, seconds)."""
    started = time.monotonic()
    threads = [threading.Thread(target=publish, args=(STORIES // 4 + (1 if i < STORIES % 4 else 0),))
               for i in range(4)]
    for t in threads: t.start()
    rate = wrk()
    for t in threads: t.join()
    return rate, time.monotonic() - started

quiet, _ = publishing_under_load()
for n in range(ENDPOINTS):
    call("POST", "/api/v1/admin/webhooks", token,
         {"url": f"http://127.0.0.1:{RX_PORT}/r{n}", "events": ["article.published"]})
busy, published_in = publishing_under_load()
expected = STORIES * ENDPOINTS
deadline = time.monotonic() + 60
while len(arrivals()) < expected and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(1)
got = arrivals()
pairs = {(p, i) for p, i, _ in got}
lat = sorted(d for _, _, d in got)
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
print(f"published {STORIES} stories in {published_in:.1f} s with {ENDPOINTS} endpoints subscribed")
print(f"deliveries: {len(got)} arrived of {expected} expected, {len(pairs)} distinct (endpoint, webhook-id)")
print(f"event to arrival: p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, slowest {pct(1.0):.0f} ms")
print(f"article pages while publishing: {quiet:,.0f}/s with no endpoint, {busy:,.0f}/s while delivering "
      f"({100 * busy / quiet:.0f}%)")
sys.exit(0 if len(pairs) == expected and len(got) == expected else 1)
PY
