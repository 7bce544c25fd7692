#!/usr/bin/env bash
# Load test of the example server on loopback, as LOADTEST.md describes: authenticated
# GET /api/model against a bare axum hello-world route served by the same process, both at full
# speed (wrk) and at a fixed 1,000 requests/s (hey), plus the time from process start to /readyz.
# Needs wrk (apt-get install wrk) and hey (go install github.com/rakyll/hey@latest).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-3900}"
HELLO_PORT="${HELLO_PORT:-3901}"
HEY="${HEY:-$(command -v hey || echo "$HOME/go/bin/hey")}"

cargo build --release -p modelyard-server
BIN="$CARGO_TARGET_DIR/release/modelyard-server"
DATA="$(mktemp -d)"
API="http://127.0.0.1:$PORT"
HELLO="http://127.0.0.1:$HELLO_PORT/"

start_ns=$(date +%s%N)
MODELYARD_JWT_SECRET=loadtest-secret-loadtest-secret-0123456789 RUST_LOG=warn \
  "$BIN" --store "sled://$DATA/store" --bind "127.0.0.1:$PORT" --bench-hello "127.0.0.1:$HELLO_PORT" \
  --role api --api-rate-limit 0 >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DATA"' EXIT
until curl -sf "$API/readyz" >/dev/null; do sleep 0.002; done
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

echo "== full speed: bare hello route"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$HELLO"
echo "== full speed: authenticated GET /api/model"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$API/api/model"
echo "== 1,000 requests/s: bare hello route"
"$HEY" -z "$DURATION" -c 10 -q 100 "$HELLO" | sed -n '/Requests\/sec/p;/Latency distribution/,/99%/p;/Status code distribution/,$p'
echo "== 1,000 requests/s: authenticated GET /api/model"
"$HEY" -z "$DURATION" -c 10 -q 100 -H "Authorization: Bearer $TOKEN" "$API/api/model" | sed -n '/Requests\/sec/p;/Latency distribution/,/99%/p;/Status code distribution/,$p'
