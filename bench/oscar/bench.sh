#!/usr/bin/env bash
# django-oscar-api uncached product-list throughput benchmark.
#   RUNS=2 DURATION=10 bash bench/oscar/bench.sh
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
RUNS=${RUNS:-1}
DURATION=${DURATION:-10}
PORT=8790
BASE="http://127.0.0.1:$PORT"
OUT=$HERE/out
mkdir -p "$OUT"

bash ./setup.sh >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; exit 1; }

if ! command -v wrk >/dev/null; then
    for _ in $(seq 60); do
        apt-get install -y wrk >"$OUT/apt.log" 2>&1 && break
        sleep 5   # dpkg lock held by another apt run
    done
    command -v wrk >/dev/null || { echo "wrk install failed, see $OUT/apt.log" >&2; exit 1; }
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "port $PORT is already in use" >&2; exit 1
fi

venv/bin/python gen_lua.py "$OUT/pages.lua" "$OUT/pages.txt" >/dev/null

unset GUNICORN_CMD_ARGS
DJANGO_SETTINGS_MODULE=benchsite.settings venv/bin/gunicorn -c /dev/null \
    --chdir "$HERE" --bind "127.0.0.1:$PORT" \
    --workers 2 --worker-class sync --threads 1 \
    --no-control-socket --log-level warning --error-logfile "$OUT/gunicorn.log" \
    benchsite.wsgi:application >>"$OUT/gunicorn.log" 2>&1 &
GPID=$!
stop_gunicorn() {
    if kill -0 "$GPID" 2>/dev/null; then
        kill -TERM "$GPID"
        wait "$GPID" 2>/dev/null || true
    fi
}
trap stop_gunicorn EXIT

for i in $(seq 120); do
    if curl -fsS -o /dev/null "$BASE/api/products/?page=1&page_size=20" 2>/dev/null; then break; fi
    kill -0 "$GPID" 2>/dev/null || { echo "gunicorn died, see $OUT/gunicorn.log" >&2; exit 1; }
    [ "$i" = 120 ] && { echo "gunicorn not ready after 60s" >&2; exit 1; }
    sleep 0.5
done

venv/bin/python benchrun.py "$BASE" "$GPID" "$RUNS" "$DURATION" \
    "$OUT/pages.lua" "$OUT/pages.txt" "$OUT"
