import numpy as np
import pytest
from fakes import write_image
from PIL import Image

from ucgen.cli.main import main
from ucgen.data import load_dataset
from ucgen.data.sources.folder import image_files, read_image
from ucgen.errors import DataError, UcgenError


def test_flat_folder_no_labels_sorted_and_both_splits(tmp_path):
    for i, name in enumerate(["b.png", "a.PNG", "c.jpg"]):
        write_image(tmp_path / "imgs" / name, value=10 * (i + 1))
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    files = image_files(tmp_path / "imgs")
    assert [p.name for p in files] == ["a.PNG", "b.png", "c.jpg"]
    train = load_dataset(str(tmp_path / "imgs"), "train")
    assert train.images.shape == (3, 8, 8, 3) and train.labels is None
    assert train.images[0, 0, 0, 0] == 20  # a.PNG first
    assert load_dataset(str(tmp_path / "imgs"), "test").fingerprint == train.fingerprint


def test_class_subfolders_give_sorted_labels_recursively(tmp_path):
    write_image(tmp_path / "set" / "zebra" / "1.png", mode="L")
    write_image(tmp_path / "set" / "ant" / "deep" / "2.png", mode="L")
    write_image(tmp_path / "set" / "ant" / "3.png", mode="L")
    ds = load_dataset(str(tmp_path / "set"))
    assert ds.class_names == ("ant", "zebra")
    assert ds.images.shape == (3, 8, 8, 1)
    assert ds.labels.tolist() == [0, 0, 1]


def test_train_test_subfolders_are_splits(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            write_image(tmp_path / "set" / split / f"c{i % 2}" / f"{i}.png")
    assert len(load_dataset(str(tmp_path / "set"), "train")) == 3
    test = load_dataset(str(tmp_path / "set"), "test")
    assert len(test) == 2 and test.class_names == ("c0", "c1")


def test_resolution_resizes_and_unifies_mixed_inputs(tmp_path):
    write_image(tmp_path / "m" / "a.png", size=(8, 8), mode="L")
    write_image(tmp_path / "m" / "b.png", size=(12, 6), mode="RGBA")
    ds = load_dataset(str(tmp_path / "m"), resolution=10)
    assert ds.images.shape == (2, 10, 10, 3)
    assert (ds.images[0] == ds.images[0, ..., :1]).all()  # grey repeated, not recoloured


def test_grey_modes_give_one_channel(tmp_path):
    write_image(tmp_path / "g" / "a.png", mode="1", value=1)
    write_image(tmp_path / "g" / "b.png", mode="LA")
    ds = load_dataset(str(tmp_path / "g"))
    assert ds.images.shape == (2, 8, 8, 1) and ds.images[0].max() == 255


def test_mixed_sizes_without_resolution_names_two_files(tmp_path, capsys):
    a = write_image(tmp_path / "m" / "a.png", size=(8, 8))
    b = write_image(tmp_path / "m" / "b.png", size=(9, 8))
    with pytest.raises(DataError, match="--resolution") as err:
        load_dataset(str(tmp_path / "m"))
    assert str(a) in str(err.value) and str(b) in str(err.value)
    assert main(["data", "info", str(tmp_path / "m")]) == 2
    assert "images differ in size" in capsys.readouterr().err


def test_mixed_channels_without_resolution_names_two_files(tmp_path, capsys):
    a = write_image(tmp_path / "m" / "a.png", mode="L")
    b = write_image(tmp_path / "m" / "b.jpg", mode="RGB")
    with pytest.raises(DataError, match="mix grey and colour") as err:
        load_dataset(str(tmp_path / "m"))
    assert str(a) in str(err.value) and str(b) in str(err.value)
    assert main(["data", "info", str(tmp_path / "m")]) == 2
    assert "mix grey and colour" in capsys.readouterr().err


def test_empty_folder_names_folder_and_extensions(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(DataError, match=r"no images found .*\.png, \.jpg, \.jpeg") as err:
        load_dataset(str(tmp_path / "empty"))
    assert str(tmp_path / "empty") in str(err.value)
    assert main(["data", "info", str(tmp_path / "empty")]) == 2
    assert "no images found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg"])
def test_truncated_image_is_named(tmp_path, capsys, name):
    rng = np.random.default_rng(0)
    good = write_image(tmp_path / "t" / f"a{name[-4:]}", size=(32, 32))
    bad = tmp_path / "t" / name
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(bad)
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    with pytest.raises(DataError, match="unreadable or truncated image") as err:
        load_dataset(str(tmp_path / "t"))
    assert str(bad) in str(err.value) and str(good) not in str(err.value)
    assert main(["data", "info", str(tmp_path / "t")]) == 2
    assert str(bad) in capsys.readouterr().err


def test_not_an_image_is_named(tmp_path):
    bad = tmp_path / "x" / "fake.png"
    bad.parent.mkdir()
    bad.write_text("this is text")
    with pytest.raises(DataError, match="unreadable image") as err:
        load_dataset(str(tmp_path / "x"))
    assert str(bad) in str(err.value)


def test_sixteen_bit_png_refused(tmp_path):
    path = tmp_path / "w" / "deep.png"
    path.parent.mkdir()
    Image.fromarray(np.full((4, 4), 4000, np.uint16)).save(path)
    with pytest.raises(DataError, match="16-bit or float"):
        load_dataset(str(tmp_path / "w"))


def _levels(path, mode_image) -> np.ndarray:
    mode_image.save(path)
    return read_image(path, 1, 4)


def test_read_image_scales_wide_grey_and_drops_alpha(tmp_path):
    """16-bit grey is scaled to 8 bits (PIL's conversion clips it to white); palette, LA and
    RGBA images give their colours, without alpha."""
    grey16 = Image.fromarray(np.full((4, 4), 32896, np.uint16))  # 128 * 257: mid grey
    assert grey16.mode == "I;16"
    assert (_levels(tmp_path / "g16.png", grey16) == 128).all()
    wide = Image.fromarray(np.full((4, 4), 65535, np.int32))  # mode I, as some readers give
    assert wide.mode == "I"
    assert (_levels(tmp_path / "i.tif", wide) == 255).all()
    la = Image.new("LA", (4, 4), (77, 0))
    assert (_levels(tmp_path / "la.png", la) == 77).all()
    rgba = Image.new("RGBA", (4, 4), (10, 200, 30, 0))
    assert (read_image(_save(rgba, tmp_path / "c.png"), 3, 4) == [10, 200, 30]).all()
    palette = Image.new("RGB", (4, 4), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert (read_image(_save(palette, tmp_path / "p.png"), 3, 4) == [10, 200, 30]).all()


def _save(image, path):
    image.save(path)
    return path


@pytest.mark.parametrize("value", [-1, 70000])
def test_read_image_refuses_values_outside_16_bits(tmp_path, value):
    path = _save(Image.fromarray(np.full((4, 4), value, np.int32)), tmp_path / "w.tif")
    with pytest.raises(UcgenError, match="outside 16 bits"):
        read_image(path, 1, 4)
