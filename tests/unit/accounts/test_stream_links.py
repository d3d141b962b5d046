"""The stream-link signer alone: what a link binds, when it dies, what a forged one gets."""

from __future__ import annotations

import pytest

from services.accounts.stream_links import StreamSigner
from services.core.errors import Unauthorized

SECRET = b"k" * 32
COLL, VIDEO = "c0ffee00-0000-4000-8000-000000000001", "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _signer(clock: Clock, secret: bytes = SECRET) -> StreamSigner:
    return StreamSigner(secret, ttl_s=60, clock=clock)


def test_a_link_checks_for_what_it_was_made_for_only() -> None:
    clock = Clock()
    s = _signer(clock)
    token, expires = s.sign("team-a", "0123456789abcdef", COLL, VIDEO)
    assert expires == 1_700_000_060
    claims = s.claims(token)
    assert (claims.team, claims.key_id, claims.expires) == ("team-a", "0123456789abcdef", expires)
    s.check(claims, COLL, VIDEO)
    for coll, video in ((COLL, "f" * 32), ("another-collection", VIDEO)):
        with pytest.raises(Unauthorized, match="not valid"):
            s.check(claims, coll, video)
    with pytest.raises(Unauthorized, match="not valid"):  # the same link under another server's secret
        _signer(clock, b"j" * 32).check(claims, COLL, VIDEO)


def test_the_keyless_owner_gets_links_too() -> None:
    s = _signer(Clock())
    token, _ = s.sign("local", None, COLL, VIDEO)
    claims = s.claims(token)
    assert claims.key_id is None
    s.check(claims, COLL, VIDEO)


def test_expired_links_are_refused() -> None:
    clock = Clock()
    s = _signer(clock)
    token, expires = s.sign("team-a", None, COLL, VIDEO)
    clock.now = expires - 0.5
    s.claims(token)
    clock.now = expires
    with pytest.raises(Unauthorized, match="expired"):
        s.claims(token)


def test_any_changed_part_breaks_the_signature() -> None:
    clock = Clock()
    s = _signer(clock)
    token, _ = s.sign("team-a", "0123456789abcdef", COLL, VIDEO)
    exp, team, key, sig = token.split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for forged in (
        f"{int(exp) + 3600}.{team}.{key}.{sig}",  # a longer life
        f"{exp}.team-b.{key}.{sig}",  # another team
        f"{exp}.{team}.fedcba9876543210.{sig}",  # another key
        f"{exp}.{team}.-.{sig}",  # no key
        f"{exp}.{team}.{key}.{flipped}",
    ):
        with pytest.raises(Unauthorized, match="not valid"):
            s.check(s.claims(forged), COLL, VIDEO)


@pytest.mark.parametrize(
    "token", ["", "abc", "1.2.3", "x.team.-.sig", "9999999999.te am.-." + "a" * 43, "9999999999.t.-." + "a" * 42]
)
def test_malformed_links_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        _signer(Clock()).claims(token)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        StreamSigner(b"short", 60)
