#!/usr/bin/env bash
# Media benchmark: uploads a 12-megapixel JPEG (4000×3000, a phone photo's detail and EXIF with
# GPS, made with Pillow from PyPI in a cached virtualenv) to a node started with `serve --demo`,
# and reports
#
# - the time to the upload's answer and to the last rendition (targets: < 1 s, < 5 s);
# - the node's resident memory before, at its peak during the upload and its renditions, and
#   5 s after (target: < 200 MB added, and back down after);
# - a rendition served (a 640-pixel WebP) and a demo article page with its picture, against
#   `/healthz`, with wrk as in bench/load.sh (target: the rendition ≥ 50% of `/healthz`).
#
#   bash bench/media.sh
#   UPLOADS=3 bash bench/media.sh      # more uploads, one after another (each a new photo)
#
# BIN names the binary (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18095}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
UPLOADS=${UPLOADS:-3}
PILLOW_VERSION=11.3.0
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN="$PWD/target/release/newsdesk"
fi
BIN=$(realpath "$BIN")
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
venv="${XDG_CACHE_HOME:-$HOME/.cache}/newsdesk-bench/venv-pillow-${PILLOW_VERSION}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import PIL' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "pillow==${PILLOW_VERSION}"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

BIN="$BIN" PORT="$PORT" WORK="$work" DURATION="$DURATION" CONNECTIONS="$CONNECTIONS" UPLOADS="$UPLOADS" \
  "$venv/bin/python" - <<'PY'
import io, json, os, random, re, subprocess, threading, time, urllib.request
from PIL import Image, ImageDraw, ImageFilter

BIN, WORK = os.environ["BIN"], os.environ["WORK"]
PORT, DURATION, CONNECTIONS = int(os.environ["PORT"]), int(os.environ["DURATION"]), int(os.environ["CONNECTIONS"])
UPLOADS = int(os.environ["UPLOADS"])
BASE = f"http://127.0.0.1:{PORT}"

def photo(seed):
    """A 4000x3000 JPEG with a photo's fine detail, orientation 1 and GPS in its EXIF."""
    rnd = random.Random(seed)
    small = Image.effect_noise((1000, 750), 60).convert("RGB")
    img = small.resize((4000, 3000), Image.BICUBIC)
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    img = Image.blend(img, noise, 0.35)
    d = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rnd.randrange(4000), rnd.randrange(3000)
        r = rnd.randrange(10, 160)
        d.ellipse((x, y, x + r, y + r), fill=tuple(rnd.randrange(256) for _ in range(3)))
    img = img.filter(ImageFilter.DETAIL)
    exif = Image.Exif()
    exif[0x0112] = 1
    gps = {1: "N", 2: (41.0, 42.0, 54.0), 3: "E", 4: (44.0, 49.0, 38.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()

env = dict(os.environ, DATABASE_URL=f"sqlite://{WORK}/media.db", BIND_ADDRESS=f"127.0.0.1:{PORT}",
           JWT_SECRET="bench-only-secret-0123456789abcdef0123456789", LOG_FILTER="warn",
           AUTH_RATE_LIMIT_PER_MINUTE="100000")
server = subprocess.Popen([BIN, "serve", "--demo"], cwd=WORK, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
password = None
for line in server.stdout:
    m = re.search(r"password:\s*(\S+)", line)
    if m:
        password = m.group(1)
        break
threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()

def call(method, path, body=None, token=None, ctype="application/json"):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")

for _ in range(200):
    try:
        urllib.request.urlopen(BASE + "/readyz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
token = call("POST", "/api/v1/auth/login", json.dumps({"email": "admin@newsdesk.local", "password": password}).encode())["access_token"]

def rss_mb():
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

# The demo's own pictures finish first.
for item in call("GET", "/api/v1/admin/media", token=token)["items"]:
    while call("GET", f"/api/v1/admin/media/{item['id']}", token=token)["status"] != "ready":
        time.sleep(0.1)
time.sleep(2)

results = []
for n in range(UPLOADS):
    data = photo(n)
    baseline = rss_mb()
    peak = [baseline]
    sampling = [True]
    def sample():
        while sampling[0]:
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.01)
    t = threading.Thread(target=sample)
    t.start()
    started = time.monotonic()
    item = call("POST", "/api/v1/admin/media", data, token=token, ctype="image/jpeg")
    answered = time.monotonic() - started
    while item["status"] != "ready":
        time.sleep(0.02)
        item = call("GET", f"/api/v1/admin/media/{item['id']}", token=token)
    finished = time.monotonic() - started
    sampling[0] = False
    t.join()
    time.sleep(5)
    after = rss_mb()
    results.append((len(data), answered, finished, baseline, peak[0], after, len(item["renditions"])))
    print(f"upload {n + 1}: {len(data) / 1e6:.1f} MB, {item['width']}x{item['height']}: answer {answered * 1000:.0f} ms, "
          f"all {len(item['renditions'])} renditions {finished * 1000:.0f} ms; RSS {baseline:.0f} MB → peak {peak[0]:.0f} MB "
          f"(+{peak[0] - baseline:.0f}) → {after:.0f} MB 5 s later", flush=True)
    for r in item["renditions"]:
        body = urllib.request.urlopen(r["url"].replace(r["url"].split("/media/")[0], BASE), timeout=10).read()
        assert b"Exif" not in body, r["name"]

def local(url):
    return BASE + "/media/" + url.split("/media/", 1)[1]
sizes = {r["name"]: r["bytes"] for r in item["renditions"]}
renditions = [(f"rendition {name} ({sizes[name] / 1024:.0f} KB)", local(next(r["url"] for r in item["renditions"] if r["name"] == name)))
              for name in ("w320.webp", "w640.webp")]
pages = call("GET", "/api/v1/articles?lang=en&limit=50")["items"]
with_picture = next(p for p in pages if p.get("image") and p["image"].get("media_id"))
article = f"{BASE}/api/v1/articles/en/{with_picture['slug']}"

def wrk(url):
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", url],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return rps, float(p99.group(1)) * scale

for _, url in renditions + [("", article), ("", BASE + "/healthz")]:
    wrk(url)  # warm-up
healthz = wrk(BASE + "/healthz")
for name, url in renditions + [("article page with its picture", article)]:
    rps, p99 = wrk(url)
    print(f"{name}: {rps:,.0f}/s ({rps / healthz[0]:.0%} of /healthz {healthz[0]:,.0f}/s), p99 {p99:.1f} ms", flush=True)
server.terminate()
server.wait()
PY
