"""Hostile input (issue 17): every input is bounded, every fault is told in one line a user can act on, and nothing
already computed is lost. The catalogue below keeps each case that once failed (or never did) as a test."""

from __future__ import annotations

import gzip
import re
import tracemalloc

import numpy as np
import pytest

from nn import mnist
from nn.messages import Message
from nn.options import BY_URL
from nn.train import Run, TrainConfig, start_note, train
from tests.app_helpers import _finish, _short_run, jobs_of, train_page_with
from tests.helpers import run_cli
from ui import i18n, link_view, links, state

EN, JA = i18n.messages("en"), i18n.messages("ja")


def _one_line_exit_2(result, message: str) -> str:
    """A refused command: exit status 2, nothing on stdout, one line on stderr holding ``message``, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    return lines[0]


@pytest.fixture
def english(monkeypatch):
    monkeypatch.setattr(i18n, "language", lambda: "en")


@pytest.fixture
def japanese(monkeypatch):
    monkeypatch.setattr(i18n, "language", lambda: "ja")


def _embedded(n_train=1000, n_test=200):
    e = mnist.load_embedded()
    return (e.x_train[:n_train], e.t_train[:n_train]), (e.x_test[:n_test], e.t_test[:n_test])


# -- 8. huge numbers on the command line and from Python: refused before anything is allocated --------------------


@pytest.mark.parametrize("args, message", [
    (["--iters", str(10**12)], "argument --iters: must be in 1 – 1,000,000, got 1000000000000 (see --help)"),
    (["--hidden", str(10**8)], "argument --hidden: must be in 1 – 1,000, got 100000000 (see --help)"),
    (["--batch-size", str(10**8)], "argument --batch-size: must be in 1 – 10,000, got 100000000 (see --help)"),
    (["--iters", "9" * 5000],  # more digits than Python's int() takes (4,300): still "out of range", echoed short
     "argument --iters: must be in 1 – 1,000,000, got " + "9" * 39 + "…"),
    (["--lr", "1e400"], "argument --lr: must be in 0.0001 – 100, got 1e400"),
    (["--lr", "nan"], "argument --lr: must be in 0.0001 – 100, got nan"),
    (["--iters", ""], "argument --iters: is empty: expected a whole number in 1 – 1,000,000"),
    (["--seed", "1e3"], "argument --seed: expected a whole number, got '1e3'"),
])
def test_huge_or_malformed_numbers_on_the_command_line_are_one_line(args, message):
    line = _one_line_exit_2(run_cli("train", "--offline", *args), message)
    assert line.startswith("python -m nn train: error: ") and "MemoryError" not in line and len(line) < 200


def test_train_from_python_refuses_a_config_beyond_the_ranges_before_allocating(japanese):
    huge = TrainConfig(iters=10**12, hidden=10**8, batch_size=10**8)
    run = Run(huge)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as refused:
            train(huge, None, run=run)  # data=None: refused before the data are even looked at
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # (10**12 float64 losses would be 8 TB)
    told = refused.value.args[0]
    assert str(refused.value) == "; ".join(huge.errors()) == (
        "iters must be in 1 – 1,000,000, got 1000000000000; batch_size must be in 1 – 10,000, got 100000000; "
        "hidden must be in 1 – 1,000, got 100000000")
    assert isinstance(told, Message) and told.code == "problems"  # coded: the app says it in Japanese, part by part
    japanese_text = i18n.translate_core(told)
    assert japanese_text.count("の範囲にしてください") == 3 and "繰り返し回数" in japanese_text
    assert run.status == "pending" and run.losses.size == 0  # the record given was not touched
    with pytest.raises(ValueError) as one:
        train(TrainConfig(iters=10**12), None)
    assert one.value.args[0].code == "option_range"  # one problem: its own code


# -- 13. the init std: bounded, and named when it is what went wrong ---------------------------------------------


def test_a_huge_init_std_on_the_command_line_is_one_line_without_overflow_warnings():
    _one_line_exit_2(run_cli("train", "--offline", "--weight-init-std", "1e308"),
                     "argument --weight-init-std: must be in 0.0001 – 10, got 1e308 (see --help)")


def test_a_divergence_after_a_saturated_start_names_the_init_std_too(japanese):
    run = train(TrainConfig(iters=100, lr=30.0, weight_init_std=0.7), _embedded())
    assert run.status == "diverged" and run.reason.code == "diverged_mean_std"
    assert re.fullmatch(r"loss diverged at iteration 11 \(mean of the last 10 iterations 1\d\.\d; the initial weights "
                        r"scored \d\.\d\d, guessing 2\.30\): learning rate too high, or initial weights too large "
                        r"\(weight_init_std 0\.7\)\?", run.reason), run.reason
    assert "重みの標準偏差 0.7" in i18n.translate_core(run.reason)
    assert np.all(np.isfinite(run.losses[: run.iterations_done])) and run.epochs  # what was computed is kept
    assert start_note(run) is None  # the reason says it already
    book = train(TrainConfig(iters=100, lr=100.0), _embedded())  # the book's std: the learning rate alone
    assert book.reason.code == "diverged_mean" and book.reason.endswith("): learning rate too high?")


def test_a_loss_turning_nan_after_a_saturated_start_names_the_init_std_too():
    (x, t), test = _embedded()
    x = x.reshape(len(x), -1).astype(np.float32) / 255
    x[517] = np.nan  # one broken image, drawn (batch of 1) at iteration 97 with this seed
    run = train(TrainConfig(iters=3000, batch_size=1, weight_init_std=3.0, seed=2), ((x, t), test))
    assert run.status == "diverged" and run.reason.code == "diverged_std"
    assert run.reason == ("loss diverged at iteration 97 (nan): learning rate too high, or initial weights too large "
                          "(weight_init_std 3)?")
    assert run.iterations_done == 96 and np.all(np.isfinite(run.losses[:96])) and len(run.epochs) == 1


def test_a_run_with_std_10_saturates_and_the_command_line_names_the_init_std(tmp_path):
    run = train(TrainConfig(iters=60, weight_init_std=10.0), _embedded())
    assert run.status == "finished"  # too large weights: not a divergence (their loss starts near its cap)
    note = start_note(run)
    assert note.code == "saturated_start" and note.startswith(
        "initial weights too large (weight_init_std 10; the book's is 0.01): the loss started at ")
    assert start_note(train(TrainConfig(iters=20), _embedded())) is None  # the book's start: nothing to say
    result = run_cli("train", "--offline", "--cache-dir", str(tmp_path), "--weight-init-std", "10", "--iters", "30",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert re.fullmatch(r"note: initial weights too large \(weight_init_std 10; the book's is 0\.01\): the loss "
                        r"started at 1\d\.\d\d, far above the 2\.30 of guessing, with the sigmoid units saturated, "
                        r"which slows learning", last), last
    assert "RuntimeWarning" not in result.stderr


def test_the_saturated_start_note_is_said_in_japanese(japanese):
    note = start_note(train(TrainConfig(iters=20, weight_init_std=10.0), _embedded()))
    text = i18n.translate_core(note)
    assert text.startswith("重みの初期値が大きすぎます (重みの標準偏差 10、本では 0.01)")


# -- 14. an empty value in a link ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, expected", [
    ("en", "- **iters** is empty (allowed: 1 – 1,000,000): using **10000**"),
    ("ja", "- **iters** が空です (使える値: 1 – 1,000,000)：**10000** を使います"),
])
@pytest.mark.parametrize("given", ["", "   ", "\t\n"])
def test_an_empty_value_in_a_link_is_said_to_be_empty(monkeypatch, lang, expected, given):
    monkeypatch.setattr(i18n, "language", lambda: lang)
    values, notices = links.parse({"iters": given})
    assert values == {"iters": 10_000} and notices[0].given == ""
    lines = link_view.notice_lines(notices).splitlines()
    assert lines == [i18n.messages(lang)["links.bad_values"], expected]
    assert "``" not in "\n".join(lines)


def test_a_value_of_backticks_is_not_called_empty(english):
    _, notices = links.parse({"lr": "``"})
    assert notices[0].given == "''"
    assert link_view.notice_lines(notices).splitlines()[1] == \
        "- **lr** = `''` is not valid (allowed: 0.0001 – 100): using **0.1**"


# -- the catalogue: link values that already fall back safely (none may regress) ---------------------------------

HOSTILE = {
    "nan": "nan", "inf": "inf", "-inf": "-inf", "huge": "1e400", "tiny": "1e-400",
    "script": "<script>alert(1)</script>", "javascript": "javascript:alert(1)",
    "bold": "**x**", "backticks": "`x` ``y``", "link": "[a](http://e)", "html": '<img src=x onerror="alert(1)">',
    "newline": "1\n# heading\n- item", "bidi": "\u202eevil", "long": "7" * 10_000, "long_text": "x" * 10_000,
}
NUMERIC = [name for name, o in BY_URL.items() if o.kind is not str]  # iters batch lr hidden std images seed


def _line_safe(line: str, notice: links.Notice, lang: str) -> None:
    """The warning's line for ``notice`` is the locale's sentence filled in, the value inside one code span."""
    key = "links.bad_value" if notice.given else "links.empty_value"
    assert line == "- " + i18n.messages(lang)[key].format(name=notice.name, given=notice.given, used=notice.used,
                                                           allowed=notice.allowed)
    assert "`" not in notice.given and notice.given == notice.given.strip() and len(notice.given) <= 40
    assert all(c.isprintable() for c in notice.given)
    assert line.count("`") == (2 if notice.given else 0)  # one code span, which the value cannot close


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_value_falls_back_with_a_notice_that_stays_in_its_code_span(case, english):
    for name in [*BY_URL, "lang", "lecture"]:
        if case == "tiny" and name == "seed":
            continue  # 1e-400 is 0.0, a whole number: seed 0 (below)
        values, notices = links.parse({name: HOSTILE[case], "seed" if name != "seed" else "iters": "5"})
        assert [n.name for n in notices] == [name], (case, name)
        assert links.OPTIONS[name].write(values[name]) == notices[0].used  # its default
        assert 5 in values.values()  # the good value next to it is kept
        _line_safe(link_view.notice_lines(notices).splitlines()[1], notices[0], "en")
    assert links.parse({"seed": "1e-400"}) == ({"seed": 0}, [])


def test_non_finite_and_out_of_range_numbers_fall_back_for_every_number_option():
    for name in NUMERIC:
        for text in ("nan", "inf", "-inf", "1e400", "-1e400", "1" * 400):
            values, notices = links.parse({name: text})
            assert len(notices) == 1 and values[name] == links.OPTIONS[name].default, (name, text)


def test_unicode_digits_are_read_as_the_numbers_they_are():
    """Full-width digits (what a Japanese keyboard types) and other decimal digits are numbers in Python, and in a
    link too: the value is used and the address bar then holds it in ASCII."""
    values, notices = links.parse({"iters": "１０００", "seed": "٣", "lr": "０.５"})
    assert notices == [] and values == {"iters": 1000, "seed": 3, "lr": 0.5}
    assert links.encode(values) == {"iters": "1000", "seed": "3", "lr": "0.5"}
    _, notices = links.parse({"iters": "²", "batch": "Ⅻ"})  # digits that are not decimal: refused
    assert [n.name for n in notices] == ["iters", "batch"]


def test_repeated_and_unknown_parameters():
    assert links.parse({"iters": ["abc", "500"]}) == ({"iters": 500}, [])  # the last one counts
    values, notices = links.parse({"iters": ["500", "<script>"]})
    assert values == {"iters": 10_000} and notices[0].given == "<script>"
    assert links.parse({"evil": "<script>alert(1)</script>", "ITERS": "5", "iters ": "5"}) == ({}, [])


# -- the same in the app: the Train page warns once and goes on working -------------------------------------------

pytest_app = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py





def _warning_lines(at) -> list[str]:
    return [line for w in at.warning for line in w.value.splitlines() if line.startswith("- ")]


HOSTILE_LINK = {"iters": HOSTILE["script"], "batch": HOSTILE["huge"], "lr": "nan", "hidden": HOSTILE["bold"],
                "std": HOSTILE["backticks"], "images": HOSTILE["link"], "seed": HOSTILE["long"],
                "gradient": HOSTILE["javascript"], "lecture": HOSTILE["newline"], "evil": HOSTILE["html"]}


@pytest_app
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_hostile_link_warns_once_on_the_train_page_and_the_page_goes_on_working(lang):
    query = {**HOSTILE_LINK, "lang": lang} if lang == "ja" else HOSTILE_LINK
    at = train_page_with(query)
    lines = _warning_lines(at)
    _, notices = links.parse(query)
    assert len(lines) == len(notices) == 9  # each bad value once; the unknown parameter is no concern of ours
    for line, notice in zip(lines, notices):
        _line_safe(line, notice, lang)
    assert at.number_input(key=state.KEY_ITERS).value == 10_000 and at.number_input(key=state.KEY_LR).value == 0.1
    assert at.query_params["iters"] == "10000" and at.query_params["evil"] == HOSTILE["html"]  # others left alone
    at.run()
    assert _warning_lines(at) == []  # said once
    _short_run(at, iters=30, train_size=300)
    _finish(at)
    assert [job.run.status for job in jobs_of(at)] == ["finished"]


@pytest_app
def test_a_hostile_link_opened_later_keeps_the_runs_and_the_settings_it_does_not_touch():
    at = train_page_with({"seed": "7"})
    _short_run(at, iters=30, train_size=300)
    _finish(at)
    at.query_params.update({"iters": "", "lr": HOSTILE["script"], "seed": "7"})
    at.run()
    assert not at.exception
    assert _warning_lines(at) == ["- **iters** is empty (allowed: 1 – 1,000,000): using **10000**",
                                  "- **lr** = `<script>alert(1)</script>` is not valid (allowed: 0.0001 – 100): "
                                  "using **0.1**"]
    assert [job.run.status for job in jobs_of(at)] == ["finished"]  # nothing computed is lost
    assert at.number_input(key=state.KEY_SEED).value == 7


@pytest_app
def test_an_empty_value_in_a_link_in_japanese():
    at = train_page_with({"iters": "", "lang": "ja"})
    assert _warning_lines(at) == ["- **iters** が空です (使える値: 1 – 1,000,000)："
                                  "**10000** を使います"]


# -- bad IDX files in MNIST_DIR: one line on the command line --------------------------------------------------------


def _idx(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = magic if magic is not None else (0x803 if array.ndim == 3 else 0x801)
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()


def _mnist_dir(tmp_path, bad: bytes):
    files = {"train-images-idx3-ubyte": np.zeros((20, 28, 28), np.uint8),
             "train-labels-idx1-ubyte": np.zeros(20, np.uint8),
             "t10k-images-idx3-ubyte": np.zeros((10, 28, 28), np.uint8),
             "t10k-labels-idx1-ubyte": np.zeros(10, np.uint8)}
    for name, array in files.items():
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(_idx(array)))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bad))
    return tmp_path


@pytest.mark.parametrize("bad, message", [
    (_idx(np.zeros((5, 28, 28), np.uint8), magic=0x801),
     "train-images-idx3-ubyte.gz: bad magic number 0x00000801 (expected 0x00000803 for images)"),
    (_idx(np.zeros((20, 28, 28), np.uint8))[:1234],
     "train-images-idx3-ubyte.gz: truncated: header says 20 images of 28×28 = 15696 bytes, file has 1234"),
    (_idx(np.zeros((20, 27, 28), np.uint8)), "train-images-idx3-ubyte.gz: images are 27×28 pixels, expected 28×28"),
    ((0x803).to_bytes(4, "big") + (2**31).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2,
     "train-images-idx3-ubyte.gz: "),  # 2**31 images announced: refused without reading (nn.mnist words it)
    (b"", "train-images-idx3-ubyte.gz: truncated: 0 bytes, too short for the 16-byte IDX header of images"),
])
def test_a_bad_idx_file_in_mnist_dir_is_one_line(tmp_path, bad, message):
    directory = _mnist_dir(tmp_path, bad)
    line = _one_line_exit_2(run_cli("train", "--iters", "5", env={"MNIST_DIR": str(directory)}), message)
    assert line.startswith("python -m nn train: error: MNIST_DIR=")
    if message.endswith(": "):
        assert re.search(r"2,?147,?483,?648 images", line), line
    _one_line_exit_2(run_cli("train", "--iters", "5", "--data-dir", str(directory)), message)


# -- 6. a widget value Python cannot parse (Streamlit parses it before any app code runs) ---------------------------


@pytest.mark.parametrize("text", [
    '{"strokes": ' + "[" * 5000 + "]" * 5000 + "}",  # RecursionError in json.loads
    '{"strokes": ' + "1" * 5000 + "}",  # ValueError: more digits than Python turns into an int
    '{"strokes": [',  # not JSON at all
])
def test_a_widget_value_that_cannot_be_parsed_is_dropped_with_a_notice(text, monkeypatch):
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.runtime.state import session_state

    from ui import streamlit_guard

    dropped = []
    assert streamlit_guard.install(on_drop=lambda: dropped.append(1))
    assert streamlit_guard.installed()
    value = WidgetState(id="canvas", json_value=text)
    assert session_state.unpack_widget_state_value(value) is None  # a cleared value, not an exception
    assert dropped == [1]
    good = WidgetState(id="canvas", json_value='{"strokes": [[[1, 2], [3, 4]]]}')
    assert session_state.unpack_widget_state_value(good) == {"strokes": [[[1, 2], [3, 4]]]}
    assert dropped == [1]  # a value it can read is Streamlit's, untouched
    streamlit_guard.install()  # installing again wraps nothing twice and drops the hook
    assert session_state.unpack_widget_state_value(value) is None and dropped == [1]


def test_the_app_installs_the_guard_and_says_what_was_dropped_in_both_languages():
    assert "streamlit_guard.install(" in open("app.py", encoding="utf-8").read()
    for messages in (EN, JA):
        assert messages["canvas.dropped"]
