"""The floor of the catalog benchmark: the bench settings with no middleware at all, so
`bench/bytes/<n>/` is a bare Django view (URL resolution, the view, the WSGI handler)."""

from bench.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
