"""The Code view: the §4.5 listing is the project's own source (read from the running modules), holds the slide's
lines, shows the session's settings in place of the hyperparameters, and marks the lines of each SGD step; the
book's printout appears under a run on Train and on the Code page."""

from __future__ import annotations

import html
import inspect
import re

import pytest

from nn import sgd
from nn.train import TrainConfig
from nn.two_layer_net import TwoLayerNet
from tests.app_helpers import _app, _finish, _open, _short_run
from tests.helpers import SLIDE_LINES
from ui import code_view, state

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # conftest.py



def _plain(markup: str) -> str:
    """The text of the listing's HTML, one line per source line (line numbers and markers kept)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup.replace("</div>", "\n")))


def test_the_listing_is_the_running_source_with_the_settings_filled_in():
    loop, measure = code_view.loop_listings(TrainConfig(lr=0.5, batch_size=50, iters=2000), 60_000)
    source = inspect.getsource(sgd.sgd)
    assert loop.title == "nn/sgd.py · sgd" and measure.title == "nn/sgd.py · book_accuracies"
    for line in SLIDE_LINES:
        assert line in loop.text, line
        assert line.split(" = ")[0] in source
    assert "learning_rate: float = 0.5" in loop.text and "batch_size: int = 50" in loop.text
    assert "iters_num: int = 2000" in loop.text
    assert "iter_per_epoch = 1200  # " in loop.text  # the source's expression follows as a comment
    assert "train_size = 60000  # x_train.shape[0]" in loop.text
    # every other line is the module's, at its own line number
    file_lines = inspect.getsourcefile(sgd.sgd)
    with open(file_lines, encoding="utf-8") as f:
        numbered = f.read().splitlines()
    for k, (number, line) in enumerate(zip(loop.numbers, loop.lines)):
        if k not in loop.filled and not line.endswith('…"""'):
            assert numbered[number - 1].strip() == line.strip(), (number, line)
    # the book's measurement, once per epoch
    assert "train_acc = network.accuracy(x_train, t_train)" in measure.text
    assert "test_acc = network.accuracy(x_test, t_test)" in measure.text


def test_each_step_of_sgd_finds_its_lines():
    loop, measure = code_view.loop_listings(TrainConfig(), 60_000)
    text = lambda stage: [loop.lines[k].strip() for k in loop.stages[stage]]  # noqa: E731
    assert text(1) == ["batch_mask = rng.choice(train_size, batch_size)", "x_batch = x_train[batch_mask]",
                       "t_batch = t_train[batch_mask]"]
    assert text(2)[0] == "grad = network.gradient(x_batch, t_batch)"
    assert text("2-numerical")[0].startswith("grad = network.numerical_gradient(")
    assert text(3) == ["for key in ('W1', 'b1', 'W2', 'b2'):", "network.params[key] -= learning_rate * grad[key]"]
    assert text("epoch")[0].startswith("if i % iter_per_epoch")
    assert measure.stages["epoch"]
    marked = _plain(code_view.to_html(loop, {1: True, 2: True, 3: True}))
    assert len(re.findall("▶", marked)) == len(loop.stages[1]) + len(loop.stages[2]) + len(loop.stages[3])
    snippet = _plain(code_view.to_html(loop, {3: True}, lines=code_view.stage_snippet(loop, 3)))
    assert len(snippet.strip().splitlines()) == 2 and "network.params[key] -= learning_rate * grad[key]" in snippet


def test_the_network_methods_are_the_slides():
    methods = {m.title.split(".")[-1]: m for m in code_view.method_listings()}
    assert list(methods) == list(code_view.METHODS)
    assert "return softmax(" in methods["predict"].text
    assert "return cross_entropy_error(self.predict(x), t)" in methods["loss"].text
    assert "def numerical_gradient(self, x" in methods["numerical_gradient"].text
    assert "numerical_gradient(loss_W, self.params[key]" in methods["numerical_gradient"].text
    assert methods["__init__"].numbers[0] == inspect.getsourcelines(TwoLayerNet.__init__)[1]


def test_fill_settings_leaves_other_lines_alone():
    lines = ["def f(a, *, learning_rate: float = 0.1, other: int = 3):", "    x = 1", "    learning_rate = lr",
             "    batch_size = 7  # seven"]
    out, filled = code_view.fill_settings(lines, {"learning_rate": "0.5", "batch_size": "20"})
    assert out == ["def f(a, *, learning_rate: float = 0.5, other: int = 3):", "    x = 1",
                   "    learning_rate = 0.5  # lr", "    batch_size = 20  # 7"]
    assert [out[k][a:b] for k, spans in filled.items() for a, b in spans] == ["0.5", "0.5", "20"]


def _listing_text(at) -> str:
    return "\n".join(_plain(h.proto.body) for h in at.get("html") if "sgd-code" in h.proto.body)


def test_the_code_page_shows_the_settings_of_the_train_page():
    at = _app()
    _open(at, "pages/code.py")
    text = _listing_text(at)
    for line in SLIDE_LINES:
        assert line in text, line
    assert "learning_rate: float = 0.1" in text and "iters_num: int = 10000" in text
    assert "return cross_entropy_error(self.predict(x), t)" in text  # the network's methods, folded below
    _open(at, "pages/train.py")
    at.number_input(key=state.KEY_LR).set_value(0.5).run()
    at.number_input(key=state.KEY_BATCH).set_value(50).run()
    _open(at, "pages/code.py")
    text = _listing_text(at)
    assert "learning_rate: float = 0.5" in text and "batch_size: int = 50" in text
    assert "learning_rate: float = 0.1" not in text
    assert any("lr 0.5 · batch 50" in m.value for m in at.markdown)  # the step-through will run with them


def test_the_books_printout_under_a_run_on_train_and_code():
    at = _app()
    _open(at, "pages/train.py")
    _short_run(at, iters=120, train_size=500)  # 500 images in batches of 100: an epoch every 5 iterations
    _finish(at)
    printed = [m.value for m in at.markdown if m.value.startswith("```text\ntrain acc, test acc |")]
    assert len(printed) == 1
    lines = printed[0].strip("`").removeprefix("text").strip().splitlines()
    assert len(lines) == 24 and all(re.fullmatch(r"train acc, test acc \| [01]\.\d{4}, [01]\.\d{4}", ln) for ln in lines)
    _open(at, "pages/code.py")
    assert any(m.value.strip("`").removeprefix("text").strip().splitlines() == lines for m in at.markdown)
    assert any("printout** of your latest run" in m.value for m in at.markdown)
