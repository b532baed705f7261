"""The versioned API: one NinjaAPI at /api/v1/ mounting one router per app."""

from ninja import NinjaAPI
from ninja.security import django_auth

api = NinjaAPI(title="Fupin API", version="1", urls_namespace="api-v1", auth=django_auth, docs_url="/docs")
