"""`ucgen traverse --out` and `ucgen flip --out` write the sample exchange .npz, as `sample`
does: the images in the picture's order with the codes and fine vectors they were made from."""

import numpy as np
import pytest

from tests.cli.tiny_runs import error_line, train_tiny
from ucgen.app.trained import TrainedModel
from ucgen.cli.main import main
from ucgen.evaluation.samples import load_samples

STEPS = ["--steps", "2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("runs"), "cofi")


def test_traverse_out_holds_the_strips_and_their_conditions(run, tmp_path):
    out = tmp_path / "t.npz"
    argv = ["traverse", str(run), *STEPS, "--code", "1", "--direction", "0", "--length", "3"]
    assert main([*argv, "--rows", "2", "--out", str(out)]) == 0
    s = load_samples(out)
    assert s.images.shape[0] == 6 and (s.codes == 1).all()
    model = TrainedModel.load(run)
    for row in range(2):
        strip, cond = model.traverse(1, 0, length=3, seed=row, steps=2)
        np.testing.assert_array_equal(s.images[3 * row : 3 * row + 3], strip)
        np.testing.assert_allclose(s.fine[3 * row : 3 * row + 3], cond.fine.numpy())
    # only the traversed direction moves along a strip
    assert np.ptp(s.fine[:3, 0]) > 0 and np.ptp(s.fine[:3, 1:], axis=0).max() == 0


def test_flip_out_holds_both_rows_with_their_codes(run, tmp_path):
    out = tmp_path / "f.npz"
    argv = ["flip", str(run), *STEPS, "--code", "1", "--bit", "1", "--n", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    s = load_samples(out)
    before, after = TrainedModel.load(run).flip(1, 1, n=2, steps=2)
    np.testing.assert_array_equal(s.images, np.concatenate([before, after]))
    assert s.codes.tolist() == [1, 1, 3, 3]
    np.testing.assert_array_equal(s.fine[:2], s.fine[2:])


@pytest.mark.parametrize("command", ["traverse", "flip"])
def test_out_must_be_npz(run, tmp_path, capsys, command):
    extra = ["--direction", "0"] if command == "traverse" else ["--bit", "0"]
    argv = [command, str(run), "--code", "1", *extra, "--out", str(tmp_path / "x.txt")]
    assert main(argv) == 2
    assert "must end in one of .npz" in error_line(capsys)
