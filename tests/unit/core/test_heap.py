"""The startup heap is frozen while the app serves and thawed when it stops."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from services.core.heap import freeze_startup_heap, thaw_heap
from tests.conftest import make_settings


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


def test_a_frozen_object_is_skipped_by_collections_until_thawed() -> None:
    node = Node()
    alive = weakref.ref(node)
    try:
        assert freeze_startup_heap() > 0
        del node
        gc.collect()
        assert alive() is not None  # frozen: the collection did not look at the cycle
    finally:
        thaw_heap()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None  # thawed: collected


def test_the_app_freezes_its_startup_heap_and_thaws_it_on_shutdown(tmp_path: Path, encoder) -> None:  # type: ignore[no-untyped-def]
    from services.api.app import create_app

    assert gc.get_freeze_count() == 0
    with TestClient(create_app(make_settings(tmp_path), encoder=encoder)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
