"""Finding 3 (thumbnails) and the forged-point part of finding 6: the image route re-opened the point's
``payload["source"]`` on every request.

- A file ingested from beta's root and then swapped for a symlink made the route serve the link's
  target: alpha's image, or any file the server can read.
- A point upserted through the internal worker route with a forged ``source`` made a viewer's
  thumbnail request read that path.

Now the thumbnail is made at ingest and stored under the data dir, named by store collection and point
id; the route reads only that file. These tests attack a real server and compare the pixels served with
a thumbnail of the original image.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
from PIL import Image

from tests.security.support import SharedServer

TOKEN = "thumbnails-internal-token-0123456789"
SIDE = 256  # the stored thumbnail side (SIGNIFIER_INGEST__THUMBNAIL_SIDE's default)


def _gradient_jpeg(w: int, h: int) -> bytes:
    """Beta's image: a red-to-yellow ramp, landscape."""
    xx = np.tile(np.linspace(0, 255, w), (h, 1))
    rgb = np.stack([np.full_like(xx, 230), xx, np.full_like(xx, 20)], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _secret_jpeg(w: int, h: int) -> bytes:
    """Someone else's image: blue noise, portrait (nothing like beta's)."""
    rng = np.random.default_rng(3)
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 2] = rng.integers(120, 255, (h, w))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _pixels(data: bytes) -> npt.NDArray[np.float32]:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def _thumbnail_of(data: bytes, side: int = SIDE) -> npt.NDArray[np.float32]:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    img.thumbnail((side, side))
    return np.asarray(img, dtype=np.float32)


def _looks_like(served: bytes, original: bytes) -> bool:
    """The served JPEG is a thumbnail of ``original``: same shape, pixels equal up to resampling and JPEG."""
    got = _pixels(served)
    want = _thumbnail_of(original, max(got.shape[:2]))  # the stored side (a small model's draft may be less)
    return got.shape == want.shape and float(np.abs(got - want).mean()) < 8


def _only_point(client: httpx.Client, collection: str) -> str:
    r = client.post(f"/v1/collections/{collection}/search", json={"expression": '"red"', "limit": 5})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert len(hits) == 1, hits
    return str(hits[0]["id"])


def test_a_source_swapped_for_a_symlink_after_ingest_does_not_change_the_thumbnail(
    shared_server: SharedServer, tmp_path: Path
) -> None:
    server = shared_server
    original = _gradient_jpeg(400, 300)
    folder = server.roots / "beta" / "swap"
    folder.mkdir(parents=True)
    source = folder / "beach.jpg"
    source.write_bytes(original)
    secret = _secret_jpeg(300, 400)
    alpha_file = server.roots / "alpha" / "private.jpg"
    alpha_file.write_bytes(secret)
    outside = tmp_path / "outside-every-root.jpg"
    outside.write_bytes(secret)

    with server.client("beta", "editor") as editor, server.client("beta", "viewer") as viewer:
        assert editor.post("/v1/collections", json={"name": "thumb-swap"}).status_code == 201
        r = editor.post("/v1/collections/thumb-swap/ingest", json={"path": str(folder)})
        assert r.status_code == 202, r.text
        job = server.wait_job(editor, r.json()["job_id"])
        assert (job["state"], job["done"]) == ("done", 1), job
        pid = _only_point(viewer, "thumb-swap")
        before = viewer.get(f"/v1/collections/thumb-swap/points/{pid}/image")
        assert before.status_code == 200 and _looks_like(before.content, original)

        for target in (alpha_file, outside):
            source.unlink()
            source.symlink_to(target)
            for size in (SIDE, 1024):  # 1024: what beta's editor asked for to read files back
                r = viewer.get(f"/v1/collections/thumb-swap/points/{pid}/image", params={"size": size})
                assert r.status_code == 200, r.text
                assert not _looks_like(r.content, secret), f"served the symlink's target {target}"
                assert _looks_like(r.content, original), "the thumbnail is not the one of the ingested image"
                assert max(Image.open(io.BytesIO(r.content)).size) <= SIDE

        # Smaller sizes are the stored thumbnail scaled down, still of the original.
        r = viewer.get(f"/v1/collections/thumb-swap/points/{pid}/image", params={"size": 64})
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (64, 48)
        small_want = _thumbnail_of(original, 64)
        assert float(np.abs(_pixels(r.content) - small_want).mean()) < 10


def _store_name(server: SharedServer, team: str, collection: str) -> str:
    out = server.run_cli("admin", "list-collections", "--team", team, env={"COLUMNS": "200"}).stdout
    match = re.search(rf"\b{re.escape(collection)}-[0-9a-f]{{12}}\b", out)
    assert match, out
    return match.group(0)


def _upsert(server: SharedServer, store: str, points: list[dict[str, object]]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as worker:
        return worker.post(f"/internal/v1/collections/{store}/points", json={"points": points})


def test_a_forged_point_source_is_never_read(make_server: type[SharedServer], tmp_path: Path) -> None:
    secret = _secret_jpeg(300, 400)
    outside = tmp_path / "root-only" / "secret.jpg"
    outside.parent.mkdir()
    outside.write_bytes(secret)
    original = _gradient_jpeg(400, 300)

    with make_server(env={"SIGNIFIER_INTERNAL_TOKEN": TOKEN}) as server, server.client(
        "beta", "owner"
    ) as owner, server.client("beta", "viewer") as viewer:
        assert owner.post("/v1/collections", json={"name": "forged"}).status_code == 201
        # An upload: the uploaded file is deleted once ingested, the stored thumbnail stays.
        r = owner.post("/v1/collections/forged/ingest", files=[("files", ("beach.jpg", original, "image/jpeg"))])
        assert r.status_code == 202, r.text
        assert server.wait_job(owner, r.json()["job_id"])["state"] == "done"
        pid = _only_point(viewer, "forged")
        point = viewer.get(f"/v1/collections/forged/points/{pid}", params={"with_vectors": True}).json()
        store = _store_name(server, "beta", "forged")
        image_vector = base64.b64encode(np.asarray(point["vectors"]["image"], "<f4").tobytes()).decode()

        # A new point whose source names a file outside every root: no thumbnail, so nothing is served.
        forged_id = str(uuid.uuid4())
        forged = {"id": forged_id, "vectors": {"image": image_vector}, "payload": {"source": str(outside)}}
        assert _upsert(server, store, [forged]).status_code == 204
        r = viewer.get(f"/v1/collections/forged/points/{forged_id}/image", params={"size": 1024})
        assert r.status_code == 404, "the route read the forged point's source"
        assert "thumbnail" in r.json()["detail"]["message"] and str(outside) not in r.text

        # The ingested point re-upserted with its source pointed at the secret: still its own thumbnail.
        again = {"id": pid, "vectors": {"image": image_vector}, "payload": {**point["payload"], "source": str(outside)}}
        assert _upsert(server, store, [again]).status_code == 204
        r = viewer.get(f"/v1/collections/forged/points/{pid}/image")
        assert r.status_code == 200, r.text
        assert not _looks_like(r.content, secret) and _looks_like(r.content, original)

        # What the internal route writes is checked: a JPEG of bounded size, a UUID id, a known store.
        not_jpeg = {**forged, "thumbnail": base64.b64encode(b"<?php system($_GET['c']); ?>").decode()}
        r = _upsert(server, store, [not_jpeg])
        assert r.status_code == 422 and "JPEG" in r.json()["detail"]["message"], r.text
        r = _upsert(server, store, [{**forged, "id": "../../../../etc/cron.d/x"}])
        assert r.status_code == 422 and "UUID" in r.json()["detail"]["message"], r.text
        assert _upsert(server, "no-such-store-0123456789ab", [forged]).status_code == 404
        assert not list((server.data / "thumbnails").glob("no-such-store*"))

        # Deleting the collection deletes its thumbnails.
        assert (server.data / "thumbnails" / store).is_dir()
        assert owner.delete("/v1/collections/forged").status_code == 204
        assert not (server.data / "thumbnails" / store).exists()
