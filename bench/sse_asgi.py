"""The ASGI application of ``bench/sse.py`` (served by uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.sse_settings")
application = get_asgi_application()
