"""Production settings (issue 9): with DEBUG off and a real key and host, `manage.py check
--deploy` finds nothing to warn about, and the answers carry the security headers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.world import World

ROOT = Path(settings.BASE_DIR)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    test_only = ("PLAIN_HTTP", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in test_only}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="kundeflyt.example.no",
        CSRF_TRUSTED_ORIGINS="https://kundeflyt.example.no",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_server_without_a_secret_key_refuses_to_start() -> None:
    result = run_manage("check", ALLOWED_HOSTS="kundeflyt.example.no")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client: Client, world: World) -> None:
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"

    client.force_login(world.agent)
    page = client.get(reverse("handling:my_work"))
    assert "no-store" in page["Cache-Control"]


@pytest.mark.django_db
def test_no_template_carries_an_inline_script_or_handler() -> None:
    """The CSP forbids them; a new one would silently stop working."""
    import re

    offending = []
    for path in (ROOT / "kundeflyt").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=\"", text):
            offending.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offending == []
