#!/usr/bin/env bash
# Crash harness: nothing acknowledged is lost to a `kill -9`.
#
# Each cycle starts a node, drives concurrent writers against it — new stories, translation
# saves, publishes and unpublishes, donation prompt edits, views and prompt events — kills it
# with SIGKILL at a random moment, restarts it and checks:
#
# - every write that got a 2xx is there with its content (a write in flight when the node died
#   may be there or not, but nothing else);
# - nothing is half-done: each translation's version is its newest revision, item cards and the
#   search index hold exactly the published translations, SQLite's `integrity_check` and the
#   FTS5 indexes' integrity checks pass;
# - views and prompt events lost are only those acknowledged within the last flush window
#   (`VIEW_FLUSH_MS`, plus up to a second for that write to take its turn in the database queue
#   behind the writers) before the kill.
#
#   bash bench/crash.sh                         # SQLite, CYCLES=200
#   CYCLES=1000 bash bench/crash.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_crash bash bench/crash.sh
#
# BIN names the binary (default: a release build made here); WRITERS the writer threads (4).
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${CYCLES:-200}
WRITERS=${WRITERS:-4}
PORT=${PORT:-18095}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN="$PWD/target/release/newsdesk"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url=${DATABASE_URL:-sqlite://$work/crash.db}
if [[ "$url" == postgres* ]]; then
  # A fresh database each run: the demo seeds only an empty one.
  name=${url##*/}; name=${name%%\?*}
  PGOPTIONS="--client-min-messages=warning" psql "${url%/*}/postgres" -qc "DROP DATABASE IF EXISTS $name" \
    -c "CREATE DATABASE $name" >/dev/null
fi

BIN="$BIN" URL="$url" PORT="$PORT" CYCLES="$CYCLES" WRITERS="$WRITERS" WORK="$work" python3 - <<'PY'
import json, os, random, signal, sqlite3, subprocess, sys, threading, time
import urllib.error, urllib.request

BIN, URL, PORT, WORK = os.environ["BIN"], os.environ["URL"], int(os.environ["PORT"]), os.environ["WORK"]
CYCLES, WRITERS = int(os.environ["CYCLES"]), int(os.environ["WRITERS"])
FLUSH_MS = 250
BASE = f"http://127.0.0.1:{PORT}"
ENV = dict(os.environ, DATABASE_URL=URL, BIND_ADDRESS=f"127.0.0.1:{PORT}", LOG_FILTER="warn",
           JWT_SECRET="crash-harness-secret-0123456789abcdef0123", VIEW_FLUSH_MS=str(FLUSH_MS),
           PROMPT_EVENTS_PER_MINUTE="0", AUTH_RATE_LIMIT_PER_MINUTE="100000",
           TRUST_FORWARDED_FOR="true", VIEW_BEACONS_PER_MINUTE="0")
pg = URL.startswith("postgres")

def sql(query):
    if pg:
        out = subprocess.run(["psql", URL.split("?")[0], "-Atc", query], capture_output=True, text=True, check=True)
        return [tuple(line.split("|")) for line in out.stdout.splitlines() if line]
    db = sqlite3.connect(URL.split("://", 1)[1])
    try:
        return [tuple(str(v) for v in row) for row in db.execute(query).fetchall()]
    finally:
        db.close()

def request(method, path, token=None, body=None, etag=None, timeout=10, reader=None):
    headers = {"content-type": "application/json"}
    if reader:
        # Each view from a reader of its own: a reader's repeated views count once.
        headers["x-forwarded-for"] = reader
    if token:
        headers["authorization"] = f"Bearer {token}"
    if etag:
        headers["if-match"] = etag
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            raw = res.read()
            return res.status, dict(res.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), None

def start(demo):
    out = open(f"{WORK}/server.out", "a")
    args = [BIN, "serve"] + (["--demo"] if demo else [])
    proc = subprocess.Popen(args, env=ENV, cwd=WORK, stdout=out, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.setpgrp())
    for _ in range(300):
        try:
            if request("GET", "/readyz", timeout=1)[0] == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit("the node did not start:\n" + open(f"{WORK}/server.out").read())
        time.sleep(0.05)
    sys.exit("the node did not become ready")

# What was acknowledged, and what was in flight when the node died.
lock = threading.Lock()
stories = {}        # story id → {"title": acked title, "version": acked version, "status": acked status, "pending": set()}
touched = set()     # stories written to in this cycle
prompts = {}        # prompt id → {"name": acked, "pending": set()}
beacons = []        # times of acknowledged views
events = []         # times of acknowledged prompt events

def writer(token, stop, rng, slugs, prompt_ids):
    while not stop.is_set():
        try:
            kind = rng.random()
            if kind < 0.2 or not stories:
                title = f"Crash story {rng.randrange(10**9)}"
                s, h, b = request("POST", "/api/v1/admin/articles", token,
                                  {"type": "news", "translation": {"lang": "en", "title": title, "body": f"<p>{title}.</p>"}})
                if s == 201:
                    with lock:
                        stories[b["id"]] = {"title": title, "version": 1, "status": "draft", "pending": set()}
                        touched.add(b["id"])
            elif kind < 0.55:
                with lock:
                    sid = rng.choice(list(stories))
                    entry = stories[sid]
                s, h, t = request("GET", f"/api/v1/admin/articles/{sid}/translations/en", token)
                if s != 200:
                    continue
                title = f"Saved {rng.randrange(10**9)}"
                with lock:
                    entry["pending"].add(title)
                    touched.add(sid)
                s, h, b = request("PATCH", f"/api/v1/admin/articles/{sid}/translations/en", token,
                                  {"title": title}, etag=h.get("ETag") or h.get("etag"))
                if s == 200:
                    with lock:
                        if b["version"] > entry["version"]:
                            entry.update(title=title, version=b["version"], status=b["status"])
            elif kind < 0.7:
                with lock:
                    sid = rng.choice(list(stories))
                    entry = stories[sid]
                s, h, t = request("GET", f"/api/v1/admin/articles/{sid}/translations/en", token)
                if s != 200:
                    continue
                to = "draft" if t["status"] == "published" else "published"
                with lock:
                    touched.add(sid)
                s, h, b = request("POST", f"/api/v1/admin/articles/{sid}/translations/en/transitions", token,
                                  {"status": to}, etag=h.get("ETag") or h.get("etag"))
                if s == 200:
                    with lock:
                        if b["version"] > entry["version"]:
                            entry.update(title=b["title"], version=b["version"], status=b["status"])
            elif kind < 0.8 and prompt_ids:
                pid = rng.choice(prompt_ids)
                s, h, p = request("GET", f"/api/v1/admin/donation-prompts/{pid}", token)
                if s != 200:
                    continue
                name = f"Prompt {rng.randrange(10**9)}"
                with lock:
                    prompts.setdefault(pid, {"name": p["name"], "pending": set()})["pending"].add(name)
                s, h, b = request("PATCH", f"/api/v1/admin/donation-prompts/{pid}", token, {"name": name},
                                  etag=h.get("ETag") or h.get("etag"))
                if s == 200:
                    with lock:
                        prompts[pid]["name"] = name
            elif kind < 0.93 and slugs:
                reader = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                s, _, _ = request("POST", f"/api/v1/articles/en/{rng.choice(slugs)}/views",
                                  reader=reader)
                if s == 202:
                    with lock:
                        beacons.append(time.monotonic())
            elif prompt_ids:
                s, _, _ = request("POST", f"/api/v1/donation-prompts/{rng.choice(prompt_ids)}/events", None,
                                  {"type": "impression", "lang": "en"})
                if s == 202:
                    with lock:
                        events.append(time.monotonic())
        except (OSError, ValueError, KeyError):
            time.sleep(0.01)

def views_total():
    return int(sql("SELECT COALESCE(SUM(views), 0) FROM view_counts")[0][0])

def events_total():
    return int(sql("SELECT COALESCE(SUM(impressions), 0) FROM donation_prompt_events")[0][0])

def check(token):
    problems = []
    with lock:
        # What this cycle wrote, and a sample of the rest (which must not have changed either).
        rest = [sid for sid in stories if sid not in touched]
        sample = set(touched) | set(random.sample(rest, min(50, len(rest))))
        touched.clear()
        for sid in sample:
            e = stories[sid]
            s, _, t = request("GET", f"/api/v1/admin/articles/{sid}/translations/en", token)
            if s != 200:
                problems.append(f"story {sid}: acknowledged, now {s}")
                continue
            if t["version"] < e["version"]:
                problems.append(f"story {sid}: version {t['version']} < acknowledged {e['version']}")
            if t["version"] == e["version"] and t["title"] != e["title"]:
                problems.append(f"story {sid}: title {t['title']!r}, acknowledged {e['title']!r}")
            if t["title"] != e["title"] and t["title"] not in e["pending"]:
                problems.append(f"story {sid}: title {t['title']!r} was never written")
            e.update(title=t["title"], version=t["version"], status=t["status"], pending=set())
        for pid, p in prompts.items():
            s, _, b = request("GET", f"/api/v1/admin/donation-prompts/{pid}", token)
            if s != 200 or (b["name"] != p["name"] and b["name"] not in p["pending"]):
                problems.append(f"prompt {pid}: {b and b['name']!r}, acknowledged {p['name']!r}")
            elif b:
                p.update(name=b["name"], pending=set())
    published = "SELECT id FROM translations WHERE status = 'published'"
    pairs = [
        ("translations whose version is not their newest revision",
         "SELECT t.id FROM translations t WHERE t.version <> (SELECT MAX(r.version) FROM revisions r WHERE r.translation_id = t.id)"),
        ("published translations without an item card",
         f"SELECT id FROM ({published}) p WHERE id NOT IN (SELECT translation_id FROM item_cards)"),
        ("item cards of unpublished translations",
         f"SELECT translation_id FROM item_cards WHERE translation_id NOT IN ({published})"),
    ]
    search = "search_index" if pg else "search_documents"
    key = "translation_id" if pg else "id"
    pairs += [
        ("published translations missing from the search index",
         f"SELECT id FROM ({published}) p WHERE id NOT IN (SELECT {key} FROM {search})"),
        ("search documents of unpublished translations",
         f"SELECT {key} FROM {search} WHERE {key} NOT IN ({published})"),
    ]
    for what, query in pairs:
        rows = sql(query)
        if rows:
            problems.append(f"{what}: {rows[:5]}")
    return problems

def integrity():
    if pg:
        return []
    db = sqlite3.connect(URL.split("://", 1)[1])
    try:
        problems = []
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            problems.append(f"integrity_check: {ok}")
        for table in ("search_titles", "search_text"):
            try:
                db.execute(f"INSERT INTO {table}({table}) VALUES('integrity-check')")
            except sqlite3.DatabaseError as e:
                problems.append(f"{table}: {e}")
        return problems
    finally:
        db.close()

proc = None
def finish():
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
import atexit
atexit.register(finish)
proc = start(demo=True)
password = next(l.split()[1] for l in open(f"{WORK}/server.out") if "password:" in l)
def sign_in():
    s, _, b = request("POST", "/api/v1/auth/login", None, {"email": "admin@newsdesk.local", "password": password})
    assert s == 200, s
    return b["access_token"]
token = sign_in()
slugs = [i["slug"] for i in request("GET", "/api/v1/articles?lang=en&limit=100")[2]["items"]]
prompt_ids = [p["id"] for p in request("GET", "/api/v1/admin/donation-prompts?limit=100", token)[2]["items"]]
rng = random.Random(int(os.environ.get("SEED", "1")))
lost_views = lost_events = 0
started = time.monotonic()
for cycle in range(1, CYCLES + 1):
    views_before, events_before = views_total(), events_total()
    with lock:
        beacons.clear(); events.clear()
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(token, stop, random.Random(rng.random()), slugs, prompt_ids))
               for _ in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.2, 1.5))
    os.killpg(proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    problems = integrity()
    proc = start(demo=False)
    token = sign_in()
    problems += check(token)
    # Counts acknowledged more than a flush window before the kill must all be stored. The
    # write of counts waits its turn in the database queue behind the writers' requests, so the
    # window allows a second for that beside the flush interval.
    window = killed_at - (FLUSH_MS + 1000) / 1000
    for name, acked, stored in (("views", beacons, views_total() - views_before),
                                ("prompt events", events, events_total() - events_before)):
        must = sum(1 for t in acked if t < window)
        if stored < must or stored > len(acked):
            problems.append(f"{name}: {stored} stored of {len(acked)} acknowledged ({must} before the flush window)")
        if name == "views":
            lost_views += len(acked) - stored
        else:
            lost_events += len(acked) - stored
    if problems:
        print(f"cycle {cycle}: FAILED")
        for p in problems:
            print("  " + p)
        print("the node's last words:")
        print("".join(open(f"{WORK}/server.out").readlines()[-15:]))
        sys.exit(1)
    if cycle % 10 == 0 or cycle == CYCLES:
        print(f"cycle {cycle}/{CYCLES}: ok; {len(stories)} stories tracked; "
              f"{lost_views} views and {lost_events} events lost in flush windows so far; "
              f"{time.monotonic() - started:.0f} s", flush=True)
os.killpg(proc.pid, signal.SIGTERM)
proc.wait()
print(f"{CYCLES} cycles of kill -9: 0 acknowledged writes lost; {len(stories)} stories, "
      f"{lost_views} views and {lost_events} prompt events lost within the {FLUSH_MS} ms flush window")
PY
