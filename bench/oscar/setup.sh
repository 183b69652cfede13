#!/usr/bin/env bash
# Idempotent setup: venv, database, migrations, seed data.
set -euo pipefail
cd "$(dirname "$0")"
PY=venv/bin/python
if [ ! -x "$PY" ] || ! "$PY" -c 'import oscar, oscarapi, gunicorn, psycopg' 2>/dev/null; then
    python3.11 -m venv venv
    venv/bin/pip install -q --upgrade pip
    venv/bin/pip install -q -r requirements.txt
fi
PSQL=(psql -h 127.0.0.1 -U postgres -d postgres -tAX)
if [ "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname='oscar_bench'")" != 1 ]; then
    "${PSQL[@]}" -c "CREATE DATABASE oscar_bench"
fi
export DJANGO_SETTINGS_MODULE=benchsite.settings
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py seed_bench
