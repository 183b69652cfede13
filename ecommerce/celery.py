import os

from celery import Celery
from django_structlog.celery.steps import DjangoStructLogInitStep

# Importing the project (gunicorn, celery -A ecommerce) means production unless told
# otherwise; manage.py and the Makefile choose local for development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings.production")

app = Celery("ecommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Carries the enqueuing request's request_id into the task's log lines.
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()
