#!/usr/bin/env bash
# Load benchmark of the Content API. Builds Newsdesk in release mode, seeds an archive with
# `newsdesk seed` (kept between runs), starts the server and measures each endpoint with wrk
# (installed from Debian if missing): requests/s, p50, p99, errors, and the server's peak RSS.
# /healthz is measured in the same run as the ceiling of the HTTP stack on this machine; every
# other endpoint is shown as a ratio of it.
#
#   bash bench/load.sh                                   # SQLite, 100,000 stories × 5 languages
#   STORIES=10000 bash bench/load.sh                     # a smaller archive
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsdesk_bench bash bench/load.sh
#
# Requests spread over many URLs: article pages over the 500 newest stories in every language
# (the part of an archive readers actually read), tag pages over 40 tags × 5 languages, search
# over 10,000 distinct two-word queries; donation prompts over every language, placement and
# tag, resolved for random stories and readers, and events for every prompt and language; the
# partner change feed in pages of 100 from random points (with a partner key the script makes),
# each language's RSS, 40 tags' RSS per language, each language's first sitemap page and news
# sitemap (these four asked for gzip, as feed readers and crawlers do). Each endpoint gets a warm-up pass (WARMUP seconds,
# default 5) before it is measured, as a node that has been serving for a while has its
# readers' pages cached. DURATION (seconds, default 10), CONNECTIONS (default 64) and STORIES
# can be set in the environment; BENCH_DIR keeps the SQLite archive. ENDPOINTS names the ones
# to measure (comma-separated, as in the table; /healthz is always measured):
#
#   ENDPOINTS=search bash bench/load.sh
#
# `article-editing` measures article pages again while an editor saves a published story five
# times a second (EDITS_PER_SECOND): with each change forgetting only what it touched, readers
# should lose less than 5% of `article-by-slug`'s rate.
#
# ENCODING (gzip or br) asks for that compression on every other GET endpoint too, as browsers and
# CDNs do: a cached answer is then the compressed body the cache keeps.
#
#   ENCODING=gzip ENDPOINTS=article-by-slug,tag-page,list-by-tag,home-list,most-read bash bench/load.sh
#
# BIN names a binary to measure instead of a release build made here (to alternate two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
STORIES=${STORIES:-100000}
PORT=${PORT:-18090}
BENCH_DIR=${BENCH_DIR:-$PWD/target/bench}
mkdir -p "$BENCH_DIR"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
if [ -n "${BIN:-}" ]; then
  bin=$(realpath "$BIN")
else
  cargo build --release -q
  bin="$PWD/target/release/newsdesk"
fi
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

url=${DATABASE_URL:-sqlite://$BENCH_DIR/archive-$STORIES.db}
export DATABASE_URL="$url" JWT_SECRET="bench-only-secret-0123456789abcdef0123456789" LOG_FILTER=warn
# Readers arrive through a proxy that names them in X-Forwarded-For (see bench/rotate.lua).
export TRUST_FORWARDED_FOR=true
marker="$BENCH_DIR/seeded-$(echo "$url" | md5sum | cut -c1-8)-$STORIES"
if [ ! -f "$marker" ]; then
  echo "seeding $STORIES stories into ${url%%\?*} (once; kept for later runs)"
  "$bin" seed --stories "$STORIES" --languages 5
  touch "$marker"
fi

views_in_db() {
  python3 - "$url" <<'PY'
import sys, subprocess, sqlite3
url = sys.argv[1]
import os
sql = os.environ.get("SQL", "SELECT COALESCE(SUM(views), 0) FROM view_counts")
if url.startswith("postgres"):
    print(subprocess.run(["psql", url.split("?")[0], "-Atc", sql], capture_output=True, text=True).stdout.strip())
else:
    print(sqlite3.connect(url.split("://", 1)[1]).execute(sql).fetchone()[0])
PY
}
# A server that has been running has its archive in the OS page cache; read the SQLite file
# once so a run starts there too, and not with whatever a build or a seed left in memory.
if [[ "$url" == sqlite://* ]]; then db_file=${url#sqlite://}; cat "${db_file%%\?*}" >/dev/null; fi
# The same for PostgreSQL's files of this database, when the server is on this machine and its
# data directory readable (it is for a superuser on the bench machine).
if [[ "$url" == postgres* ]]; then
  pg_dir=$(psql "${url%%\?*}" -Atc "SELECT current_setting('data_directory') || '/base/' || oid FROM pg_database WHERE datname = current_database()" 2>/dev/null || true)
  if [ -n "$pg_dir" ] && [ -r "$pg_dir" ]; then cat "$pg_dir"/* >/dev/null 2>&1 || true; fi
fi
views_before=$(views_in_db)
events_before=$(SQL="SELECT COALESCE(SUM(impressions + clicks + dismissals), 0) FROM donation_prompt_events" views_in_db)

start_server() {
  (cd "$work" && exec env BIND_ADDRESS="127.0.0.1:$PORT" "$bin" serve >"$work/out" 2>"$work/err") &
  server=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start:" >&2; cat "$work/err" >&2; exit 1
}
# An editor, for `article-editing`.
editor_password="bench-editor-password-0123"
printf '%s\n' "$editor_password" | "$bin" user create --email editor@bench.local --name "Bench Editor" \
  --role editor >/dev/null 2>&1 || true
# A partner whose rate the benchmark stays under.
partner_key=$("$bin" partner create --name "Benchmark partner" --email bench@newsdesk.local \
  --requests-per-minute 1000000 2>/dev/null)
start_server

# The URLs to spread requests over, read from the API itself.
api="http://127.0.0.1:$PORT/api/v1"
PARTNER_KEY="$partner_key" python3 - "$api" "$work" <<'PY'
import json, os, sys, urllib.request, urllib.parse, random, time
api, work = sys.argv[1], sys.argv[2]
get = lambda path: json.load(urllib.request.urlopen(api + path))
langs = [l["code"] for l in get("/languages")["items"]]
articles, tags, lists, search, words = [], [], [], [], {}
for lang in langs:
    cursor, seen = None, 0
    while seen < 500:
        page = get(f"/articles?lang={lang}&limit=100" + (f"&cursor={cursor}" if cursor else ""))
        for item in page["items"]:
            articles.append(f"/api/v1/articles/{lang}/{item['slug']}")
            words.setdefault(lang, set()).update(item["title"].lower().split())
        seen += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    for tag in get(f"/tags?lang={lang}")["items"][:40]:
        tags.append(f"/api/v1/tags/{tag['slug']}/articles?lang={lang}")
        lists.append(f"/api/v1/articles?lang={lang}&tag={tag['slug']}")
rng = random.Random(7)
for lang, ws in words.items():
    ws = sorted(ws)
    for _ in range(2000):
        q = " ".join(rng.sample(ws, 2))
        search.append(f"/api/v1/articles?lang={lang}&q=" + urllib.parse.quote(q))
def write(name, rows):
    with open(f"{work}/{name}", "w") as f:
        f.write("\n".join(rows) + "\n")
write("article", articles)
write("tag", tags)
write("list", lists)
write("search", search)
write("beacon", [a + "/views" for a in articles])
write("mostread", [f"/api/v1/articles/most-read?lang={l}&period={p}" for l in langs for p in ("1d", "7d", "30d")])
write("home", [f"/api/v1/articles?lang={l}" for l in langs])
placements = ["header", "article_end", "article_inline", "sidebar", "popup", "footer"]
tag_slugs = sorted({t.split("/")[4] for t in tags})
write("prompts", [f"/api/v1/donation-prompts?lang={l}&placement={p}" for l in langs for p in placements]
      + [f"/api/v1/donation-prompts?lang={l}&placement=article_end&tag={t}" for l in langs for t in tag_slugs])
resolve = []
for _ in range(20000):
    lang, slug = rng.choice(articles).split("/")[4:6]
    resolve.append(f"/api/v1/donation-prompts/resolve?lang={lang}&placement=article_end&article={slug}&visitor=r{rng.randrange(10**6)}")
write("resolve", resolve)
prompt_ids = sorted({p["id"] for l in langs for p in get(f"/donation-prompts?lang={l}")["items"]})
kinds = ["impression"] * 8 + ["click", "dismiss"]
write("events", [f"/api/v1/donation-prompts/{i}/events\t" + json.dumps({"type": k, "lang": l})
                 for i in prompt_ids for k in kinds for l in langs])
# Points in the change feed to read on from: where each page of 500 ends.
partner = {"Authorization": "Bearer " + os.environ["PARTNER_KEY"]}
cursors, since = [], ""
while True:
    page = json.load(urllib.request.urlopen(urllib.request.Request(
        api + "/syndication/changes?limit=500" + since, headers=partner)))
    cursors.append(page["next"])
    since = "&since=" + page["next"]
    if not page["has_more"]:
        break
write("changes", [f"/api/v1/syndication/changes?limit=100&since={c}" for c in cursors[:-1] or cursors])
write("rss", [f"/api/v1/feeds/{l}.rss" for l in langs])
# Tag pages are /api/v1/tags/<slug>/articles?lang=<lang>.
write("tagrss", [f"/api/v1/feeds/{t.split('lang=')[1]}/tags/{t.split('/')[4]}.rss" for t in tags])
write("sitemap", [f"/sitemaps/{l}-1.xml" for l in langs])
write("news", [f"/sitemaps/news-{l}.xml" for l in langs])
# A sitemap page built with nothing cached: the largest one there is.
started = time.monotonic()
body = urllib.request.urlopen(api.replace("/api/v1", "") + f"/sitemaps/{langs[0]}-1.xml").read()
with open(f"{work}/sitemap-cold", "w") as f:
    f.write(f"{body.count(b'<url>')} {time.monotonic() - started:.2f}\n")
PY

# A long-running node has its readers' pages in its cache; a pass before measuring gets there.
warm() { # paths-file [HEADER]
  local extra=(-H "User-Agent: Mozilla/5.0 (bench reader)")
  if [ -n "${2:-}" ]; then extra+=(-H "$2"); fi
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP:-5}s" "${extra[@]}" \
    -s bench/rotate.lua "http://127.0.0.1:$PORT" -- "$work/$1" >/dev/null
}

measure() { # name paths-file [METHOD [HEADER]] → "name|rps|p50|p99|errors|requests|rss after"
  local report extra=(-H "User-Agent: Mozilla/5.0 (bench reader)")
  if [ -n "${4:-}" ]; then extra+=(-H "$4"); fi
  if [ "$2" != "-" ] && [ "${3:-GET}" = GET ]; then warm "$2" "${4:-}"; fi
  if [ "$2" = "-" ]; then
    report=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/healthz")
  else
    report=$(METHOD=${3:-GET} wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      "${extra[@]}" -s bench/rotate.lua "http://127.0.0.1:$PORT" -- "$work/$2")
  fi
  local rps p50 p99 errors total
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$report")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  total=$(awk '/requests in/ {print $1}' <<<"$report")
  errors=$(awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print (s == "" ? "0" : s)}' <<<"$report")
  local rss
  rss=$(awk '/VmRSS/ {printf "%d MB", $2 / 1024}' "/proc/$server/status")
  echo "$1|$rps|$p50|$p99|$errors|$total|$rss"
}

# An editor saving one published story EDITS_PER_SECOND times a second until stopped; the number
# of saves made lands in $work/edits.
edit_loop() {
  EDITOR_PASSWORD="$editor_password" RATE="${EDITS_PER_SECOND:-5}" python3 - "$api" "$work" <<'PY' &
import json, os, sys, time, urllib.request
api, work = sys.argv[1], sys.argv[2]
def call(method, path, body=None, headers=None):
    req = urllib.request.Request(api + path, method=method, headers=headers or {},
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        return r.headers, json.load(r)
_, token = call("POST", "/auth/login", {"email": "editor@bench.local", "password": os.environ["EDITOR_PASSWORD"]})
auth = {"Authorization": "Bearer " + token["access_token"]}
_, stories = call("GET", "/admin/articles?status=published&lang=en&limit=1", headers=auth)
story = stories["items"][0]["id"]
path = f"/admin/articles/{story}/translations/en"
rate, made, start = float(os.environ["RATE"]), 0, time.monotonic()
while not os.path.exists(f"{work}/stop-editing"):
    headers, _ = call("GET", path, headers=auth)
    call("PATCH", path, {"subtitle": f"Updated {made}"}, {**auth, "If-Match": headers["ETag"]})
    made += 1
    time.sleep(max(0, start + made / rate - time.monotonic()))
with open(f"{work}/edits", "w") as f:
    f.write(f"{made} {made / (time.monotonic() - start):.1f}\n")
PY
  editor=$!
}

# A reader's repeated views of a story are answered and not counted; /metrics says how many.
repeated() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^newsdesk_views_repeated_total / {print $2}'; }
results=("$(measure healthz -)")
beacons=0 events=0 repeats_before=$(repeated)
for spec in article-by-slug:article tag-page:tag list-by-tag:list home-list:home most-read:mostread \
  search:search view-beacon:beacon:POST prompts-eligible:prompts prompt-resolve:resolve \
  prompt-event:events:POST change-feed:changes:GET:partner feed-rss:rss:GET:gzip \
  tag-rss:tagrss:GET:gzip sitemap-page:sitemap:GET:gzip news-sitemap:news:GET:gzip \
  article-editing:article; do
  IFS=: read -r name file method auth <<<"$spec"
  [[ ",${ENDPOINTS:-$name}," == *",$name,"* ]] || continue
  header=""
  # Feed readers and crawlers ask for gzip; partners send their key.
  case ${auth:-} in
    partner) header="Authorization: Bearer $partner_key" ;;
    gzip) header="Accept-Encoding: gzip" ;;
    *) if [ -n "${ENCODING:-}" ] && [ "${method:-GET}" = GET ]; then header="Accept-Encoding: $ENCODING"; fi ;;
  esac
  if [ "$name" = article-editing ]; then
    rm -f "$work/stop-editing" "$work/edits"
    edit_loop
    sleep 1
  fi
  results+=("$(measure "$name" "$file" "${method:-GET}" "$header")")
  if [ "$name" = article-editing ]; then
    touch "$work/stop-editing"
    wait "$editor"
  fi
  case $name in
    view-beacon) beacons=$(cut -d'|' -f6 <<<"${results[-1]}") ;;
    prompt-event) events=$(cut -d'|' -f6 <<<"${results[-1]}") ;;
  esac
done
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
repeats=$(( $(repeated) - repeats_before ))

# Every view and prompt event acknowledged must be in the database after a clean shutdown.
kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
counted=$(( $(views_in_db) - views_before ))
events_counted=$(( $(SQL="SELECT COALESCE(SUM(impressions + clicks + dismissals), 0) FROM donation_prompt_events" views_in_db) - events_before ))

ceiling=$(cut -d'|' -f2 <<<"${results[0]}")
printf '\n%-16s %12s %8s %10s %10s %10s  %s\n' endpoint "requests/s" "ratio" p50 p99 "RSS after" errors
for row in "${results[@]}"; do
  IFS='|' read -r name rps p50 p99 errors _ rss <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN {printf "%.0f%%", 100 * a / b}')
  printf '%-16s %12s %8s %10s %10s %10s  %s\n' "$name" "$rps" "$ratio" "$p50" "$p99" "$rss" "$errors"
done
printf '\npeak RSS: %d MB; %s stories × 5 languages; backend %s; %s connections, %ss per endpoint%s\n' \
  $((peak_kb / 1024)) "$STORIES" "${url%%:*}" "$CONNECTIONS" "$DURATION" "${ENCODING:+; Accept-Encoding: $ENCODING}"
read -r cold_urls cold_secs <"$work/sitemap-cold"
printf 'uncached sitemap page: %s URLs in %s s\n' "$cold_urls" "$cold_secs"
printf 'views: %s beacons answered with 202 (%s repeats of a reader not counted), %s more in the database after a clean shutdown\n' \
  "$beacons" "$repeats" "$counted"
printf 'prompt events: %s answered with 202, %s more in the database after a clean shutdown\n' \
  "$events" "$events_counted"
if [ -f "$work/edits" ]; then
  read -r edits edit_rate <"$work/edits"
  printf 'article-editing: %s saves of a published story during it (%s a second)\n' "$edits" "$edit_rate"
fi
