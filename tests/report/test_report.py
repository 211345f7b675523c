import json

import numpy as np
from PIL import Image

from ucgen.cli.main import main
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.report.grid import make_grid, save_grid


def test_grid_layout_and_png(tmp_path):
    images = np.zeros((5, 4, 4, 1), np.uint8)
    images[2] = 200
    grid = make_grid(images, ncols=3, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    assert grid[1:5, 11:15].min() == 200  # third image, first row
    path = save_grid(images, tmp_path / "g.png")
    assert Image.open(path).size == (3 * 33 + 1, 2 * 33 + 1)  # enlarged 8x to 32 px


def test_report_lists_losses_eval_and_pictures(tmp_path, capsys):
    run = Run.create("r", load_config("tiny"), tmp_path)
    for step in range(1, 4):
        run.log({"stage": "stage1", "step": step, "loss_d": 1.0 / step})
    (run.path / "eval.json").write_text(json.dumps({"fd": 12.5, "nmi": 0.7}))
    save_grid(np.zeros((4, 8, 8, 3), np.uint8), run.samples / "codes.png")
    assert main(["report", str(run.path)]) == 0
    page = (run.report / "index.html").read_text()
    assert "losses-stage1.png" in page and (run.report / "losses-stage1.png").is_file()
    assert "nmi" in page and "12.5" in page
    assert 'alt="codes"' in page and "data:image/png;base64," in page  # the page holds it
    assert "report written" in capsys.readouterr().out


def test_report_of_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "run folder not found" in capsys.readouterr().err
