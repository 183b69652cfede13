#!/usr/bin/env bash
# What the image installs, tried as an operator would: a fresh venv from requirements.txt
# alone (no dev requirements), production settings, a Redis broker, a real Celery worker and
# gunicorn through gunicorn.conf.py. A registration must reach the worker through the outbox
# and the broker, and its verification email must be delivered; /health/ready must be ok.
# Needs PostgreSQL and Redis on 127.0.0.1 (5432, 6379), as .ci/run provides.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-runtime
if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r requirements.txt

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=ecommerce.settings.production
export SECRET_KEY="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export JWT_SIGNING_KEY="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export ALLOWED_HOSTS=127.0.0.1,localhost
export SECURE_SSL_REDIRECT=false
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/ecommerce_runtime_smoke
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ecommerce_runtime_smoke'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE ecommerce_runtime_smoke"
export REDIS_URL=redis://127.0.0.1:6379/6
export CELERY_BROKER_URL=redis://127.0.0.1:6379/7
export EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
export EMAIL_FILE_PATH="$work/mail"
export PORT=18181 WEB_CONCURRENCY=2 GUNICORN_THREADS=2 GUNICORN_ACCESSLOG=/dev/null
redis-cli -n 7 flushdb >/dev/null

"$VENV/bin/python" manage.py migrate --noinput >/dev/null
# Invoices are PDFs (WeasyPrint over the system's Pango, which the Dockerfile installs):
# rendering one proves the runtime requirements and the system libraries fit together.
"$VENV/bin/python" manage.py shell -c "
from core.documents import render_pdf
pdf = render_pdf('payments/documents/credit_note.html', {'number': 'CN-SMOKE', 'lines': [], 'total': '0.00'})
assert pdf.startswith(b'%PDF-'), pdf[:16]
"
echo "PDF rendered by WeasyPrint"
"$VENV/bin/celery" -A ecommerce worker --loglevel=WARNING --concurrency=1 --pool=solo >"$work/worker.log" 2>&1 &
pids+=($!)
"$VENV/bin/gunicorn" -c gunicorn.conf.py ecommerce.wsgi:application >"$work/gunicorn.log" 2>&1 &
pids+=($!)

email="smoke-$(date +%s)-$RANDOM@example.com"
"$VENV/bin/python" manage.py shell -c "
from accounts.services import user_register
user_register(email='$email', password='Smoke-test-passphrase-1')
" >/dev/null

for _ in $(seq 1 60); do
  if grep -rqs "$email" "$work/mail"; then break; fi
  sleep 0.5
done
if ! grep -rqs "$email" "$work/mail"; then
  echo "FAIL: the verification email for $email was not delivered through the Redis broker"
  tail -n 40 "$work/worker.log"
  exit 1
fi
echo "verification email delivered through the outbox, Redis broker and worker"

for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1 && break
  sleep 0.5
done
ready=$(curl -sS "http://127.0.0.1:$PORT/health/ready")
echo "health/ready: $ready"
echo "$ready" | grep -q '"status": "ok"' || { tail -n 40 "$work/gunicorn.log"; exit 1; }
echo "runtime smoke passed"
