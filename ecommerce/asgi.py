import os

from django.core.asgi import get_asgi_application

# Served by gunicorn (or an ASGI server): production unless told otherwise. manage.py
# (runserver, make run) defaults to local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings.production")

application = get_asgi_application()
