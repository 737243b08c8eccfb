"""A minimal Django REST Framework service that trusts Tessera, as a migrated service would.

Configured from the environment like a real deployment: djangorestframework-simplejwt with
ALGORITHM = "RS256", JWK_URL = Tessera's jwks_uri, ISSUER and AUDIENCE, and the stateless
JWTStatelessUserAuthentication. Reads {"name": "token", ...} on stdin, calls a protected view
through Django's full request stack for each token, and prints {"name": {"status", "body"}}.
"""

import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="not-used-for-rs256",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    },
    SIMPLE_JWT={
        "ALGORITHM": "RS256",
        "JWK_URL": os.environ["TESSERA_JWKS_URI"],
        "ISSUER": os.environ["TESSERA_ISSUER"],
        "AUDIENCE": os.environ["TESSERA_AUDIENCE"],
        "LEEWAY": 0,
    },
)
django.setup()

from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class WhoAmI(APIView):
    def get(self, request):
        return Response({"user_id": str(request.user.id), "scope": request.auth.get("scope")})


urlpatterns = [path("whoami/", WhoAmI.as_view())]


def main():
    tokens = json.load(sys.stdin)
    client = APIClient()
    results = {}
    for name, token in tokens.items():
        response = client.get("/whoami/", HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            body = response.json()
        except ValueError:
            body = None
        results[name] = {"status": response.status_code, "body": body}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
