"""``python -m nn``: what a user types and reads."""

import os
import re

import pytest

from tests.helpers import run_cli

EPOCH_LINE = re.compile(r"^train acc, test acc \| (\d\.\d{4}), (\d\.\d{4})$")


def test_help_everywhere():
    for args in (["--help"], ["train", "--help"], ["download", "--help"]):
        result = run_cli(*args)
        assert result.returncode == 0
        assert "usage: python -m nn" in result.stdout
    assert "--train-size" in run_cli("train", "--help").stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "abc"], "argument --lr: expected a number, got 'abc'"),
    (["train", "--iters", "0"], "argument --iters: must be in 1 – 1,000,000, got 0"),
    (["train", "--iters", "1000000000000"], "argument --iters: must be in 1 – 1,000,000, got 1000000000000"),
    (["train", "--hidden", "100000000"], "argument --hidden: must be in 1 – 1,000, got 100000000"),
    (["train", "--batch-size", "1.5"], "argument --batch-size: expected a whole number, got '1.5'"),
    (["train", "--lr", "1e400"], "argument --lr: must be in 0.0001 – 100, got 1e400"),
    (["train", "--train-size", "60001"], "argument --train-size: must be in all | 1 – 60,000, got 60001"),
    (["train", "--gradient", "magic"], "argument --gradient: invalid choice: 'magic'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and lines[0].endswith("(see --help)")


def test_missing_data_dir_is_one_clear_line(tmp_path):
    result = run_cli("train", "--iters", "5", "--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(tmp_path / "nowhere") in result.stderr


def test_offline_short_run_on_the_embedded_sample(tmp_path):
    result = run_cli("train", "--iters", "120", "--offline", "--cache-dir", str(tmp_path), "--lr", "0.5")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("data: offline sample (6,000 + 1,000 images")
    epochs = [EPOCH_LINE.match(line) for line in out if line.startswith("train acc")]
    assert len(epochs) == 2 and all(epochs)  # 6,000 images / 100 = 60 iterations per epoch: i = 0 and 60
    assert out[-3].startswith("finished 120 iterations in ")
    final = re.match(r"final: train acc (\d\.\d{4}), test acc (\d\.\d{4}) \(after 120 iterations, 6,000 training", out[-2])
    assert final and float(final.group(2)) > 0.5


def test_save_writes_a_model_file(tmp_path):
    pytest.importorskip("nn.model_file")
    from nn.model_file import load_model

    target = tmp_path / "run.npz"
    result = run_cli("train", "--iters", "30", "--offline", "--cache-dir", str(tmp_path), "--save", str(target))
    assert result.returncode == 0, result.stderr
    assert f"saved: {target}" in result.stdout
    model = load_model(target)
    assert model.params["W1"].shape == (784, 50)


def test_download_fills_the_cache_then_training_uses_it_offline(tmp_path, mnist_mirror):
    closed = "http://127.0.0.1:9/"  # nothing listens on the discard port: the first mirror fails
    result = run_cli("download", "--cache-dir", str(tmp_path), env={"SGDLAB_MIRRORS": f"{closed},{mnist_mirror}"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mnist.npz").is_file()
    assert "MNIST is in the cache" in result.stdout
    result = run_cli("train", "--iters", "1", "--offline", "--cache-dir", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("data: full MNIST (60,000 + 10,000 images)")
    assert "cache" in result.stdout.splitlines()[0]


def test_download_with_every_mirror_down_says_so(tmp_path):
    result = run_cli("download", "--cache-dir", str(tmp_path), "--timeout", "2",
                     env={"SGDLAB_MIRRORS": "http://127.0.0.1:9/"})
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_book_in_the_terminal():
    """The issue's 'done when': 17 per-epoch lines and a final test accuracy ≥ 0.94 on full MNIST."""
    mnist_dir = os.environ.get("MNIST_DIR")
    if not mnist_dir:
        pytest.skip("set MNIST_DIR to the genuine MNIST files (e.g. ../shared/data/mnist)")
    result = run_cli("train", env={"MNIST_DIR": mnist_dir})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("data: full MNIST (60,000 + 10,000 images)")
    epochs = [EPOCH_LINE.match(line) for line in lines if line.startswith("train acc")]
    assert len(epochs) == 17 and all(epochs)
    assert float(epochs[0].group(2)) < 0.3  # after one step the net still guesses
    final = re.search(r"final: train acc (\d\.\d{4}), test acc (\d\.\d{4})", result.stdout)
    train_acc, test_acc = float(final.group(1)), float(final.group(2))
    assert test_acc >= 0.94 and abs(train_acc - test_acc) < 0.02
    assert re.search(r"finished 10,000 iterations in [\d.]+ s \([\d,]+ it/s", result.stdout)
