"""Writes `manage.py dumpdata auth.user`-shaped JSON whose password hashes Django itself made.

Reads [{"pk", "username", "password", "hasher", "email", "is_active", "is_staff",
"is_superuser"}] on stdin; hasher is "pbkdf2_sha256", "argon2" or "unusable".
"""

import json
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="only-for-hashing",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ],
)
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402


def main():
    records = []
    for user in json.load(sys.stdin):
        if user["hasher"] == "unusable":
            password = make_password(None)
        else:
            password = make_password(user["password"], hasher=user["hasher"])
        records.append({
            "model": "auth.user",
            "pk": user["pk"],
            "fields": {
                "password": password,
                "last_login": None,
                "is_superuser": user.get("is_superuser", False),
                "username": user["username"],
                "first_name": "",
                "last_name": "",
                "email": user.get("email", ""),
                "is_staff": user.get("is_staff", False),
                "is_active": user.get("is_active", True),
                "date_joined": "2024-01-01T00:00:00Z",
                "groups": [],
                "user_permissions": [],
            },
        })
    json.dump(records, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
