import gc
import os

from django.core.wsgi import get_wsgi_application

# Served by gunicorn (or an ASGI server): production unless told otherwise. manage.py
# (runserver, make run) defaults to local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings.production")

application = get_wsgi_application()

# Load the URLconf (and with it every view, serializer and model) now, at worker boot,
# rather than during the first request each worker serves.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - the access loads the URLconf

# Everything loaded so far lives as long as the process: move it out of the garbage
# collector's generations so that full collections during requests do not walk it.
gc.freeze()
