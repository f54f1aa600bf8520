"""The catalog folder source: reading objects as `oc get -o yaml` prints them, and writing
one object back without touching anything else."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sigpolicy.api import Image
from sigpolicy.errors import InputError, NotFoundError
from sigpolicy.sources.catalog import CatalogSource

EXAMPLE = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples" / "catalog"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def image_yaml(digest: str, comment: str = "") -> str:
    return (
        f"apiVersion: image.openshift.io/v1\nkind: Image\nmetadata:\n  name: {digest}{comment}\n"
        f"dockerImageReference: registry.example.com/a/b@{digest}\n"
    )


def annotate(image: Image) -> Image:
    meta = image.metadata
    assert meta is not None
    return image.model_copy(
        update={"metadata": meta.model_copy(update={"annotations": {"seen": "yes"}})}
    )


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_update_rewrites_only_that_document(tmp_path: Path) -> None:
    first = "# a comment the update must keep\n" + image_yaml(D1, "   # trailing comment")
    second = image_yaml(D2, "  # another")
    (tmp_path / "images.yaml").write_text(first + "---\n" + second + "...\n")
    source = CatalogSource(tmp_path)
    run(source.update_image(D2, annotate))
    text = (tmp_path / "images.yaml").read_text()
    assert text.startswith(first + "---\n")  # every byte of the other document kept
    assert "seen: 'yes'" in text and text.endswith("...\n")
    assert run(source.get_image(D2)).metadata.annotations == {"seen": "yes"}  # type: ignore[union-attr]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_update_inside_a_list_document(tmp_path: Path) -> None:
    items = [
        {"apiVersion": "image.openshift.io/v1", "kind": "Image", "metadata": {"name": d}}
        for d in (D1, D2)
    ]
    (tmp_path / "list.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    source = CatalogSource(tmp_path)
    run(source.update_image(D1, annotate))
    data = json.loads((tmp_path / "list.json").read_text())
    assert data["items"][0]["metadata"]["annotations"] == {"seen": "yes"}
    assert data["items"][1] == items[1]


def test_batch_update_writes_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(image_yaml(D1) + "---\n" + image_yaml(D2))
    source = CatalogSource(tmp_path)
    results = run(source.update_images([D1, D2], annotate))
    assert set(results) == {D1, D2}
    reread = CatalogSource(tmp_path)
    for digest in (D1, D2):
        assert run(reread.get_image(digest)).metadata.annotations == {"seen": "yes"}  # type: ignore[union-attr]


def test_change_returning_none_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(image_yaml(D1))
    before = (tmp_path / "a.yaml").stat().st_mtime_ns
    assert run(CatalogSource(tmp_path).update_image(D1, lambda image: None)) is None
    assert (tmp_path / "a.yaml").stat().st_mtime_ns == before


def test_an_edit_between_reads_is_not_lost(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(image_yaml(D1) + "---\n" + image_yaml(D2))
    source = CatalogSource(tmp_path)
    # Someone else edits the file after the source indexed it.
    (tmp_path / "a.yaml").write_text(
        image_yaml(D1) + "---\n" + image_yaml(D2).replace("a/b@", "c/d@")
    )
    run(source.update_image(D1, annotate))
    text = (tmp_path / "a.yaml").read_text()
    assert "registry.example.com/c/d@" in text and "seen: 'yes'" in text


BROKEN = {
    "duplicate-key": (
        "a.yaml",
        image_yaml(D1) + "kind: Image\n",
        "a.yaml: line 6, column 1: duplicate key 'kind'",
    ),
    "invalid-yaml": ("a.yaml", "kind: [Image\n", "a.yaml: line 2, column 1"),
    "invalid-json": ("a.json", '{"kind": ', "a.json:1: not valid JSON"),
    "image-twice": ("a.yaml", image_yaml(D1) + "---\n" + image_yaml(D1), "defined twice"),
    "image-without-name": (
        "a.yaml",
        "apiVersion: image.openshift.io/v1\nkind: Image\n",
        "metadata.name is missing",
    ),
    "bad-signature-content": (
        "a.yaml",
        image_yaml(D1)
        + f"signatures:\n- metadata: {{name: '{D1}@x'}}\n  type: atomic\n  content: '%%%'\n",
        "not valid base64",
    ),
}


@pytest.mark.parametrize(("name", "text", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_files_are_one_line_input_errors(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as caught:
        CatalogSource(tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        CatalogSource(tmp_path / "missing")


def test_example_catalog_streams_and_tags() -> None:
    source = CatalogSource(EXAMPLE)
    tag = run(source.get_image_stream_tag("shop", "checkout:1.4.2"))
    assert tag.image.metadata is not None
    assert tag.image.metadata.name == run(source.list_images())[0].metadata.name  # type: ignore[union-attr]
    assert tag.lookup_policy.local is True
    with pytest.raises(NotFoundError):
        run(source.get_image_stream_tag("shop", "checkout:9.9"))
    with pytest.raises(NotFoundError):
        run(source.get_image("sha256:" + "0" * 64))


def test_secret_and_config_map_keys(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: keys, namespace: sec}\n"
        "data: {release.asc: aGVsbG8=}\nstringData: {plain: text}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: sec}\n"
        "data: {ci.asc: world}\n"
    )
    source = CatalogSource(tmp_path)
    assert run(source.read_secret_key("sec", "keys", "release.asc")) == b"hello"
    assert run(source.read_secret_key("sec", "keys", "plain")) == b"text"
    assert run(source.read_config_map_key("sec", "cm", "ci.asc")) == b"world"
    with pytest.raises(NotFoundError):
        run(source.read_secret_key("sec", "keys", "missing"))


def test_watch_reports_changes(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "c")
    source = CatalogSource(tmp_path / "c", poll_interval=0.05)

    async def scenario() -> list[str]:
        events: list[str] = []
        stream = source.watch_images()
        events.append((await anext(stream)).type)
        events.append((await anext(stream)).type)
        (tmp_path / "c" / "more.yaml").write_text(image_yaml(D1))
        events.append((await asyncio.wait_for(anext(stream), 5)).type)
        return events

    assert run(scenario()) == ["ADDED", "SYNCED", "ADDED"]


def test_namespace_documents_give_labels_and_streams_give_registry_hosts(
    tmp_path: Path,
) -> None:
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {env: prod}\n"
    )
    shutil.copy(EXAMPLE / "checkout.yaml", tmp_path / "checkout.yaml")
    source = CatalogSource(tmp_path)
    assert run(source.namespace_labels("shop")) == {"env": "prod"}
    assert run(source.namespace_labels("other")) is None
    assert source.registry_hosts() == {"image-registry.openshift-image-registry.svc:5000"}


def test_namespace_labels_must_be_strings(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {replicas: 3}\n"
    )
    with pytest.raises(InputError, match=r"Namespace .shop.: metadata\.labels must map strings"):
        CatalogSource(tmp_path)
