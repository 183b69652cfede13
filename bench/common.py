"""Helpers shared by the benchmarks."""

from __future__ import annotations

import subprocess
import urllib.parse


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named in `database_url` if it does not exist yet
    (with psql, as the URL's user, on the URL's host), so a fresh machine can run
    `make bench`; each benchmark then runs `migrate` with its own settings."""
    url = urllib.parse.urlsplit(database_url)
    name = url.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name in {database_url!r}")
    psql = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    exists = subprocess.run(
        [*psql, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],  # noqa: S608 - name checked alphanumeric above  # nosec B608
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run([*psql, "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
