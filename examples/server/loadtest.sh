#!/usr/bin/env bash
# Load test of the example server on loopback, as LOADTEST.md describes: authenticated
# GET /api/model against a bare axum hello-world route served by the same process, both at full
# speed (wrk) and at a fixed 1,000 requests/s (hey), one-row predictions of a trained iris model
# at 1,000 requests/s (hey), plus the time from process start to /readyz.
# Needs wrk (apt-get install wrk) and hey (go install github.com/rakyll/hey@latest).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-3900}"
HELLO_PORT="${HELLO_PORT:-3901}"
ROUNDS="${ROUNDS:-5}"
HEY_DURATION="${HEY_DURATION:-10s}"
HEY="${HEY:-$(command -v hey || echo "$HOME/go/bin/hey")}"

PROFILE="${PROFILE:-release}"
cargo build --profile "$PROFILE" -p modelyard-server
PROFILE_DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
BIN="$CARGO_TARGET_DIR/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}$PROFILE_DIR/modelyard-server"
DATA="$(mktemp -d)"
API="http://127.0.0.1:$PORT"
HELLO="http://127.0.0.1:$HELLO_PORT/"

start_ns=$(date +%s%N)
MODELYARD_JWT_SECRET=loadtest-secret-loadtest-secret-0123456789 RUST_LOG=warn \
  "$BIN" --store "sled://$DATA/store" --bind "127.0.0.1:$PORT" --bench-hello "127.0.0.1:$HELLO_PORT" \
  --role all --api-rate-limit 0 >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DATA"' EXIT
until curl -sf "$API/readyz" >/dev/null; do
  kill -0 "$PID" 2>/dev/null || { cat "$DATA/server.log"; echo "the server exited (port $PORT taken?)" >&2; exit 1; }
  sleep 0.002
done
echo "process start to /readyz answering: $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -sf -H 'content-type: application/json' \
  -d '{"username":"load","email":"load@example.com","password":"a long enough passphrase"}' \
  "$API/api/auth/register" | json '["token"]')
DATASET=$(curl -sf -H "authorization: Bearer $TOKEN" -F name=iris -F file=@examples/data/iris.csv \
  "$API/api/data" | json '["dataset"]["id"]')
curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"name\":\"iris\",\"datasetId\":\"$DATASET\",\"target\":\"species\"}" "$API/api/model" >/dev/null
test "$(curl -sf -H "authorization: Bearer $TOKEN" "$API/api/model" | json '["models"][0]["target"]')" = species
MODEL=$(curl -sf -H "authorization: Bearer $TOKEN" "$API/api/model" | json '["models"][0]["id"]')
RUN=$(curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"modelId\":\"$MODEL\",\"epochs\":30}" "$API/api/training/start" | json '["run"]["id"]')
until [ "$(curl -sf -H "authorization: Bearer $TOKEN" "$API/api/training/$RUN" | json '["run"]["status"]')" = completed ]; do
  sleep 0.2
done
PREDICT_BODY='{"rows":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}'
test "$(curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "$PREDICT_BODY" "$API/api/model/$MODEL/predict" | json '["predictions"][0]["label"]')" = setosa

# Full speed: the two routes alternate ROUNDS times, so both see the same machine; the ratio
# reported is the median of the per-round ratios (the bare route swings most between runs).
wrk_line() { # wrk_line <label> <wrk args...>: one line with req/s and p99
  local label=$1 out; shift
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  awk -v label="$label" '/Requests\/sec/{rps=$2} / 99%/{p99=$2} /Non-2xx/{bad=$NF}
    END{printf "%-34s %10.0f req/s   p99 %s%s\n", label, rps, p99, (bad ? "   NON-2xx: " bad : "")}' <<<"$out"
}
RATIOS=()
for round in $(seq "$ROUNDS"); do
  echo "== full speed, round $round of $ROUNDS"
  h=$(wrk_line "bare hello route" "$HELLO"); echo "$h"
  m=$(wrk_line "authenticated GET /api/model" -H "Authorization: Bearer $TOKEN" "$API/api/model")
  echo "$m"
  rps() { awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "req/s") print $i}' <<<"$1"; }
  RATIOS+=("$(awk -v h="$(rps "$h")" -v m="$(rps "$m")" 'BEGIN{printf "%.1f", 100*m/h}')")
  echo "ratio: ${RATIOS[-1]} %"
done
printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{r[NR]=$1} END{printf "== median ratio over %d rounds: %s %% of the bare route (all: ", NR, r[int((NR+1)/2)]}'
echo "${RATIOS[*]})"
# The server's CPU time (user + system, from /proc) over a run, per answer: what a request
# costs the server at a steady 1,000 requests/s, whatever the machine's other load does to latency.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
hey_section() { # hey_section <title> <hey args...>
  local title=$1 before out answers; shift
  echo "== 1,000 requests/s: $title"
  before=$(cpu_ticks)
  out=$("$HEY" -z "$HEY_DURATION" -c 10 -q 100 "$@")
  sed -n '/Requests\/sec/p;/Latency distribution/,/99%/p;/Status code distribution/,$p' <<<"$out"
  answers=$(awk '/\[[0-9]+\]/{n += $2} END{print n + 0}' <<<"$out")
  awk -v t="$(( $(cpu_ticks) - before ))" -v us="$TICK_US" -v n="$answers" \
    'BEGIN{if (n) printf "  server CPU: %.1f us per request (%d answers)\n", t * us / n, n}'
}
hey_section "bare hello route" "$HELLO"
hey_section "authenticated GET /api/model" -H "Authorization: Bearer $TOKEN" "$API/api/model"
hey_section "authenticated POST /api/model/{id}/predict, one iris row" -m POST \
  -T application/json -d "$PREDICT_BODY" -H "Authorization: Bearer $TOKEN" "$API/api/model/$MODEL/predict"
