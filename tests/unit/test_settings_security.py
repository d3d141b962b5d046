"""Settings refuse values that would silently open the service (services/core/settings.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.cli.config import settings_problem
from services.core.settings import Settings


@pytest.mark.parametrize("token", ["", "   ", "x" * 31, "a" * 20 + " " + "b" * 20, "é" * 40])
def test_weak_internal_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(internal_token=token)  # type: ignore[arg-type]
    line = settings_problem(info.value)
    assert line.startswith("SIGNIFIER_INTERNAL_TOKEN ") and "secrets.token_urlsafe(32)" in line
    assert "\n" not in line
    if token.strip():
        assert token not in line  # never echoed: it may be a real secret


@pytest.mark.parametrize("secret", ["", "x" * 31, "é" * 40])
def test_weak_stream_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(stream_secret=secret)  # type: ignore[arg-type]
    line = settings_problem(info.value)
    assert line.startswith("SIGNIFIER_STREAM_SECRET ") and "random key at each start" in line


def test_a_real_token_or_none_is_accepted() -> None:
    assert Settings().internal_token is None
    token = "k" * 32
    s = Settings(internal_token=token)  # type: ignore[arg-type]
    assert s.internal_token is not None and s.internal_token.get_secret_value() == token


def test_guard_settings_are_checked() -> None:
    assert Settings(allowed_origins=["HTTPS://App.example.com/"]).allowed_origins == ["https://app.example.com"]
    for bad in ({"allowed_origins": ["app.example.com"]}, {"allowed_hosts": ["a*.example"]},
                {"forwarded_allow_ips": ["proxy.local"]}):  # fmt: skip
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]
