# syntax=docker/dockerfile:1
# Multi-stage image: build wheels with compilers in the first stage, run slim as non-root.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=ecommerce.settings.production \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    GUNICORN_THREADS=4
# WeasyPrint (invoice and credit-note PDFs) lays text out with Pango through cffi: Pango and
# its FreeType back end, HarfBuzz's subsetter (fonts embedded in the PDFs are subset), and
# the fonts the document templates name (DejaVu; Liberation as a fallback).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=app:app . .
# collectstatic needs production settings that load: throw-away secrets made for this one
# command (they never reach a container). /app/media is the mount point of the `media`
# volume (docker-compose.yml), owned by the app user so uploads can be written.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    JWT_SIGNING_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(40))')" \
    ALLOWED_HOSTS=localhost REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && chown -R app:app /app/staticfiles /app/media
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health/live" || exit 1
# Workers, threads, keep-alive, timeouts and the access log come from gunicorn.conf.py
# (each overridable by an environment variable, see docs/operations.md).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi:application"]
