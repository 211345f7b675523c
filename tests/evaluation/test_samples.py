"""The samples .npz exchange format: round trip and clear errors."""

import numpy as np
import pytest

from ucgen.errors import UcgenError
from ucgen.evaluation import load_samples, save_samples


def images(n: int = 6) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 8, 8, 1), dtype=np.uint8)


def test_round_trip_with_and_without_fine(tmp_path):
    codes = np.array([0, 1, 2, 3, -1, 5])
    fine = np.random.default_rng(1).normal(size=(6, 4))
    path = save_samples(tmp_path / "s.npz", images(), codes, fine)
    s = load_samples(path)
    np.testing.assert_array_equal(s.images, images())
    np.testing.assert_array_equal(s.codes, codes)
    assert s.codes.dtype == np.int64 and s.fine.dtype == np.float32
    np.testing.assert_allclose(s.fine, fine.astype(np.float32))
    assert not s.has_codes  # one image has no code

    s = load_samples(save_samples(tmp_path / "t.npz", images()))
    assert s.fine is None and (s.codes == -1).all()
    assert sorted(np.load(tmp_path / "t.npz").files) == ["codes", "images"]
    assert [p.name for p in tmp_path.iterdir()] != []  # no temp files left behind
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"images": np.zeros((2, 8, 8, 1), np.float32), "codes": np.zeros(2, np.int64)},
            "'images' must be uint8",
        ),
        (
            {"images": np.zeros((2, 8, 8, 2), np.uint8), "codes": np.zeros(2, np.int64)},
            r"'images' must have shape",
        ),
        ({"images": np.zeros((2, 8), np.uint8)}, r"'images' must have shape"),
        (
            {"images": np.zeros((2, 8, 8, 1), np.uint8), "codes": np.zeros(3, np.int64)},
            r"'codes' must have shape \(2,\)",
        ),
        (
            {"images": np.zeros((2, 8, 8, 1), np.uint8), "codes": np.zeros(2)},
            "'codes' must be integers",
        ),
        (
            {"images": np.zeros((2, 8, 8, 1), np.uint8), "codes": np.array([0, -2])},
            "'codes' must be >= 0, or -1",
        ),
        (
            {
                "images": np.zeros((2, 8, 8, 1), np.uint8),
                "codes": np.zeros(2, np.int64),
                "fine": np.zeros((3, 4), np.float32),
            },
            r"'fine' must have shape \(2, D\)",
        ),
        ({"codes": np.zeros(2, np.int64)}, "no 'images'"),
        (
            {
                "images": np.zeros((2, 8, 8, 1), np.uint8),
                "codes": np.zeros(2, np.int64),
                "labels": np.zeros(2),
            },
            "unknown keys labels",
        ),
    ],
)
def test_bad_files_name_the_key_and_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UcgenError, match=message):
        load_samples(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UcgenError, match="not found"):
        load_samples(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.save(tmp_path / "one.npy", images())
    for name in ("junk.npz", "one.npy"):  # np.load's own message spoke of allow_pickle
        with pytest.raises(UcgenError, match=r"not an \.npz samples file .*docs/evaluation.md"):
            load_samples(tmp_path / name)
    zipped = save_samples(tmp_path / "cut.npz", images())
    zipped.write_bytes(zipped.read_bytes()[:-40])  # a zip whose directory is cut off
    with pytest.raises(UcgenError, match="not"):
        load_samples(zipped)
    with pytest.raises(UcgenError, match=r"must end in \.npz"):
        save_samples(tmp_path / "s.npy", images())


def test_grey_images_without_codes_as_other_tools_write_them(tmp_path):
    """(N, H, W) grey images and no 'codes' array (an unconditional tool has none to write)
    load as (N, H, W, 1) images without codes, as the data loaders read grey images."""
    np.savez(tmp_path / "other.npz", images=images()[..., 0])
    s = load_samples(tmp_path / "other.npz")
    np.testing.assert_array_equal(s.images, images())
    assert (s.codes == -1).all() and s.codes.shape == (6,) and s.fine is None
