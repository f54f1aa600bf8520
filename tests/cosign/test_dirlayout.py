"""Reading containers/image ``dir:`` layouts (sigpolicy.sources.dirlayout)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sigpolicy.errors import InputError
from sigpolicy.signature.envelope import MAX_SIGNATURE_FILE
from sigpolicy.sources.dirlayout import MAX_SIGNATURES, read_dir_image
from tests.conformance.corpus import CORPUS


def layout(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_corpus_layout_with_two_signatures() -> None:
    folder = CORPUS / "dir-img-cosign-valid-2"
    image = read_dir_image(folder)
    assert image.path == folder
    assert image.manifest == (folder / "manifest.json").read_bytes()
    assert image.signatures == (
        (folder / "signature-1").read_bytes(),
        (folder / "signature-2").read_bytes(),
    )


def test_missing_manifest_is_none_for_the_caller_to_judge() -> None:
    image = read_dir_image(str(CORPUS / "dir-img-cosign-no-manifest"))
    assert image.manifest is None
    assert len(image.signatures) == 1


def test_unsigned_layout_has_no_signatures() -> None:
    image = read_dir_image(CORPUS / "dir-img-unsigned")
    assert image.manifest is not None
    assert image.signatures == ()


def test_signatures_stop_at_the_first_missing_number(tmp_path: Path) -> None:
    folder = layout(
        tmp_path,
        {"manifest.json": b"{}", "signature-1": b"a", "signature-3": b"c", "signature-0": b"z"},
    )
    assert read_dir_image(folder).signatures == (b"a",)


def test_per_instance_signatures_are_not_read(tmp_path: Path) -> None:
    folder = layout(tmp_path, {"manifest.json": b"{}", "abcd.signature-1": b"x"})
    assert read_dir_image(folder).signatures == ()


def test_empty_files_are_read_as_empty(tmp_path: Path) -> None:
    folder = layout(tmp_path, {"manifest.json": b"", "signature-1": b""})
    image = read_dir_image(folder)
    assert (image.manifest, image.signatures) == (b"", (b"",))


def test_a_dangling_symlink_is_a_missing_file(tmp_path: Path) -> None:
    folder = layout(tmp_path, {"signature-1": b"a"})
    (folder / "signature-2").symlink_to(folder / "nowhere")
    assert read_dir_image(folder).signatures == (b"a",)


def test_at_most_max_signatures(tmp_path: Path) -> None:
    folder = layout(tmp_path, {f"signature-{n}": b"s" for n in range(1, MAX_SIGNATURES + 1)})
    assert len(read_dir_image(folder).signatures) == MAX_SIGNATURES
    (folder / f"signature-{MAX_SIGNATURES + 1}").write_bytes(b"s")
    with pytest.raises(InputError, match=f"more than {MAX_SIGNATURES} signature files"):
        read_dir_image(folder)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


BAD_LAYOUTS: dict[str, Callable[[Path], object]] = {
    "signature-is-a-folder": lambda p: (p / "signature-1").mkdir(),
    "signature-is-a-fifo": lambda p: _fifo(p / "signature-1"),
    "manifest-is-a-folder": lambda p: (p / "manifest.json").mkdir(),
    "manifest-is-a-fifo": lambda p: _fifo(p / "manifest.json"),
    "signature-over-the-limit": lambda p: (p / "signature-1").write_bytes(
        b"\0" * (MAX_SIGNATURE_FILE + 1)
    ),
    "manifest-over-the-limit": lambda p: (p / "manifest.json").write_bytes(
        b" " * (4 * 1024 * 1024 + 1)
    ),
    "signature-loops": lambda p: (p / "signature-1").symlink_to(p / "signature-1"),
}


@pytest.mark.parametrize("make", BAD_LAYOUTS.values(), ids=BAD_LAYOUTS.keys())
def test_unreadable_files_are_input_errors_naming_the_file(
    tmp_path: Path, make: Callable[[Path], object]
) -> None:
    make(tmp_path)
    with pytest.raises(InputError) as caught:
        read_dir_image(tmp_path)
    assert str(tmp_path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_is_not_a_layout(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="not a folder"):
        read_dir_image(tmp_path / "file")


def test_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the folder"):
        read_dir_image(tmp_path / "missing")
