"""Settings for benchmark servers only (never production): the local settings with DEBUG
off, quiet logs, and a URLconf that adds the bare-Django baseline view."""

from ecommerce.settings.local import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
