"""nn.messages: every sentence nn/ writes for people carries a code and its values, and the app translates it from
the code (ui.i18n.translate_core), never by reading the English back. Also: the one table of training options
(nn.options) is where TrainConfig, its errors, model files and the command line get their defaults and limits."""

from __future__ import annotations

import ast
import copy
import json
import math
import os
import pickle
import re
import string
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from nn import mnist
from nn.cli import build_parser
from nn.messages import ENGLISH, Message, MessageError
from nn.model_file import MAX_HIDDEN, ModelFileError, load_model, load_pretrained, save_model, save_run
from nn.options import OPTIONS
from nn.train import Run, TrainConfig, train
from tests.helpers import _bad_files, _members, _npz, _with_meta, child_processes, small_model_bytes
from ui import i18n

ROOT = Path(__file__).resolve().parent.parent
EN, JA = i18n.messages("en"), i18n.messages("ja")
#: English words a Japanese message may keep: values and names that are code (choices, dtypes, file members).
CODE_WORDS = {"backprop", "numerical", "plain", "float", "sigmoid", "magic", "MNIST", "meta", "NaN", "npz", "zip",
              "pickle", "Python", "SGD", "Lab", "JSON", "null", "snapshots", "snapshot", "iters", "loss", "format",
              "version", "config", "hidden", "test", "acc", "sizes", "dtype", "epochs", "iteration", "iterations",
              "done", "elapsed", "status", "activation", "train", "int", "object", "something", "else", "nan",
              "inf", "True", "None"}  # (Python values, as the user gave them)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def english_left(text: str) -> set[str]:
    """ASCII words of three letters or more that are not code (paths and URLs aside)."""
    return set(re.findall(r"[A-Za-z]{3,}", re.sub(r"\S*/\S*", "", text))) - CODE_WORDS


@pytest.fixture
def japanese(monkeypatch):
    monkeypatch.setattr(i18n, "language", lambda: "ja")


def _say_in_japanese(message: str) -> str:
    translated = i18n.translate_core(message)
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", translated), (message, translated)
    assert english_left(translated) == set(), (message, translated)
    return translated


# -- the message type ---------------------------------------------------------------------------------------------


def test_a_message_is_its_english_text_with_a_code_and_values():
    message = Message("stopped_after", done=25, total=1000)
    assert message == "stopped after 25 of 1,000 iterations" and isinstance(message, str)
    assert message.code == "stopped_after" and message.params == {"done": 25, "total": 1000}
    assert f"{message}" == str(message) == message and f"reason: {message}" == "reason: " + message
    assert json.dumps({"reason": message}) == json.dumps({"reason": str(message)})
    assert {message: 1}["stopped after 25 of 1,000 iterations"] == 1  # hashes as its text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_message_pickles_and_copies_with_its_code(protocol):
    inner = Message("option_range", name="lr", allowed="0.0001 – 100", value=-1.0)
    message = Message("meta_config_problem", problem=inner)
    for back in (pickle.loads(pickle.dumps(message, protocol)), copy.copy(message), copy.deepcopy(message)):
        assert type(back) is Message and back == message
        assert back.code == "meta_config_problem" and back.params["problem"].code == "option_range"


def test_an_exception_raised_with_a_message_gives_it_back():
    error = ModelFileError(Message("file_empty"))
    assert isinstance(error, ValueError) and isinstance(error, MessageError)
    assert type(str(error)) is Message and str(error).code == "file_empty" and f"{error}" == "the file is empty"
    assert str(ModelFileError("plain text")) == "plain text" and str(ModelFileError("a", "b")) == "('a', 'b')"


# -- every code: its English here, its texts in both locale files --------------------------------------------------


def test_every_code_has_english_and_japanese_texts_with_the_same_placeholders():
    wrong = {code: (_fields(english), _fields(EN.get(f"core.{code}", "")), _fields(JA.get(f"core.{code}", "")))
             for code, english in ENGLISH.items()
             if not _fields(english) == _fields(EN.get(f"core.{code}", "?")) == _fields(JA.get(f"core.{code}", "?"))}
    assert wrong == {}
    missing = [key for code in ENGLISH for key in (f"core.{code}",) if key not in EN or key not in JA]
    assert missing == []


def test_every_option_name_has_its_words():
    for name in (*OPTIONS, "activation"):
        assert EN[f"core.option_{name}"] == name
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", JA[f"core.option_{name}"]), name


def _sources():
    for folder in ("nn", "ui"):
        for path in sorted((ROOT / folder).glob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def test_every_message_made_in_the_code_names_a_known_code_with_exactly_its_values():
    """A fault told once in a blue moon (a damaged upload) must not fail with a KeyError instead of its sentence."""
    calls, wrong = 0, []
    for path, tree in _sources():
        for node in ast.walk(tree):
            name = getattr(node, "func", None) and getattr(node.func, "id", getattr(node.func, "attr", ""))
            if not (isinstance(node, ast.Call) and name == "Message"):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue  # a code chosen at run time (MnistData.describe): its codes are literals nearby, see below
            calls += 1
            if first.value not in ENGLISH:
                wrong.append((where, first.value, "unknown code"))
            elif all(k.arg is not None for k in node.keywords):
                given = {k.arg for k in node.keywords}
                if given != _fields(ENGLISH[first.value]):
                    wrong.append((where, first.value, sorted(given ^ _fields(ENGLISH[first.value]))))
    assert wrong == [] and calls > 50


def test_every_code_is_used_and_defined_once():
    literals = {node.value for _, tree in _sources() for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert sorted(set(ENGLISH) - literals) == []
    tree = ast.parse((ROOT / "nn" / "messages.py").read_text())
    table = next(node.value for node in ast.walk(tree)
                 if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "ENGLISH")
    keys = [key.value for key in table.keys]
    assert len(keys) == len(set(keys)) == len(ENGLISH)


def test_nn_never_imports_the_ui():
    for path in sorted((ROOT / "nn").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "ui" or n.startswith(("ui.", "streamlit")) for n in names), path


# -- translated from the code, not from the English ---------------------------------------------------------------


def test_rewording_the_english_does_not_change_the_japanese(japanese, monkeypatch):
    before = i18n.translate_core(Message("stopped_after", done=25, total=1000))
    problem_before = i18n.translate_core(TrainConfig(iters=0).errors()[0])
    monkeypatch.setitem(ENGLISH, "stopped_after", "halted at step {done:,} (out of {total:,})")
    monkeypatch.setitem(ENGLISH, "option_range", "the value {value!r} of {name} is outside {allowed}")
    reworded = Message("stopped_after", done=25, total=1000)
    problem = TrainConfig(iters=0).errors()[0]
    assert reworded == "halted at step 25 (out of 1,000)"
    assert problem == "the value 0 of iters is outside 1 – 1,000,000" and problem.code == "option_range"
    assert i18n.translate_core(reworded) == before == "繰り返し 1,000 回中 25 回で停止しました"
    assert i18n.translate_core(problem) == problem_before == \
        "繰り返し回数は 1 – 1,000,000 の範囲にしてください (入力値: 0)"


def test_english_is_what_the_command_line_says_and_plain_text_stays_as_it_is(monkeypatch):
    for message in [*TrainConfig(iters=0, lr=200.0, train_size=0, gradient="x").errors(),
                    Message("failed", error=Message("file_empty")), mnist.load_embedded().describe()]:
        assert i18n.translate_core(message) == message
    monkeypatch.setattr(i18n, "language", lambda: "ja")
    old = "stopped after 25 of 1,000 iterations"  # a plain str (say, read from an old file): no code to go by
    assert i18n.translate_core(old) is old and i18n.translate_core("") == ""
    monkeypatch.setitem(ENGLISH, "brand_new", "a sentence the locale files do not know yet ({n})")
    assert i18n.translate_core(Message("brand_new", n=3)) == "a sentence the locale files do not know yet (3)"


def test_a_message_inside_a_message_is_translated_too(japanese):
    inner = TrainConfig(lr=-1.0).errors()[0]
    assert _say_in_japanese(Message("failed", error=inner)) == \
        "学習に失敗しました: 学習率は 0.0001 – 100 の範囲にしてください (入力値: -1.0)"
    assert "すべて、または 1 – 60,000" in _say_in_japanese(TrainConfig(train_size=0).errors()[0])


# -- TrainConfig.errors(): the ranges of nn.options, one coded message per bad option -----------------------------


def test_train_config_defaults_are_the_options_defaults():
    config = TrainConfig()
    assert {f.name for f in fields(TrainConfig)} == {*OPTIONS, "activation"}
    assert {name: getattr(config, name) for name in OPTIONS} == {name: o.default for name, o in OPTIONS.items()}
    assert config.errors() == []
    for name, option in OPTIONS.items():  # every default is allowed, as the type it is declared
        assert option.check(option.default, exact=True) == option.default
        assert option.default is None or isinstance(option.default, option.kind), name


def _edges(option):
    """(allowed values at the edges, values just beyond them) of a number option."""
    if option.kind is int:
        return [option.low, option.high], [option.low - 1, option.high + 1]
    return [option.low, option.high], [math.nextafter(option.low, -math.inf), math.nextafter(option.high, math.inf)]


NUMBER_OPTIONS = [name for name, o in OPTIONS.items() if o.kind is not str]


@pytest.mark.parametrize("name", NUMBER_OPTIONS)
def test_each_number_option_is_checked_at_and_just_beyond_its_range(name, japanese):
    option = OPTIONS[name]
    inside, beyond = _edges(option)
    for value in inside:
        assert TrainConfig(**{name: value}).errors() == [], (name, value)
    for value in [*beyond, 10**30, *([float("nan"), float("inf")] if option.kind is float else [])]:
        problems = TrainConfig(**{name: value}).errors()
        assert len(problems) == 1, (name, value, problems)
        problem = problems[0]
        assert isinstance(problem, Message) and problem.code == "option_range", problem
        assert problem.params["name"] == name and problem.params["value"] is value
        assert str(problem.params["allowed"]) == option.span()
        assert problem == f"{name} must be in {option.span()}, got {value!r}"
        translated = _say_in_japanese(problem)
        assert JA[f"core.option_{name}"] in translated and repr(value) in translated


@pytest.mark.parametrize("name", NUMBER_OPTIONS)
def test_a_number_option_of_the_wrong_kind_is_told_so(name, japanese):
    option = OPTIONS[name]
    cases = [("12", "option_number"), (True, "option_number"), (None, "option_number")]
    if option.kind is int:
        cases += [(100.0, "option_whole"), (2.5, "option_whole"), (float("nan"), "option_whole"),
                  (np.float64(3.0), "option_whole")]
    for value, code in cases:
        if value is None and option.optional:
            continue
        problems = TrainConfig(**{name: value}).errors()
        assert [p.code for p in problems] == [code], (name, value, problems)
        _say_in_japanese(problems[0])


@pytest.mark.parametrize("name", [*(n for n, o in OPTIONS.items() if o.kind is str), "activation"])
def test_each_choice_option_is_checked(name, japanese):
    problems = TrainConfig(**{name: "magic"}).errors()
    assert len(problems) == 1 and problems[0].code == "option_choice" and problems[0].params["name"] == name
    assert _say_in_japanese(problems[0]).startswith(JA[f"core.option_{name}"] + "は ")


def test_every_bad_option_at_once_gives_one_message_each(japanese):
    bad = TrainConfig(iters=0, batch_size=10_001, lr=0.0, hidden=1_001, weight_init_std=11.0, train_size=60_001,
                      seed=-1, gradient="x", dtype="y", activation="z")
    problems = bad.errors()
    assert [p.params["name"] for p in problems] == [*OPTIONS, "activation"]
    for problem in problems:
        _say_in_japanese(problem)


def test_one_limit_for_hidden_units_everywhere(tmp_path):
    assert MAX_HIDDEN == OPTIONS["hidden"].high == 1_000
    rng = np.random.default_rng(0)

    def params(hidden):
        return {"W1": rng.normal(size=(784, hidden)).astype(np.float32), "b1": np.zeros(hidden, np.float32),
                "W2": rng.normal(size=(hidden, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}

    assert load_model(save_model(None, params(MAX_HIDDEN), TrainConfig(hidden=MAX_HIDDEN))).sizes[1] == MAX_HIDDEN
    with pytest.raises(ModelFileError) as info:
        load_model(save_model(None, params(MAX_HIDDEN + 1), TrainConfig(hidden=MAX_HIDDEN + 1)))
    assert str(info.value).code == "bad_w1_shape" and str(info.value).params["most"] == 1_000


def test_the_command_line_options_come_from_the_table():
    parser = build_parser()
    args = parser.parse_args(["train"])
    assert {name: getattr(args, name) for name in OPTIONS} == {name: o.default for name, o in OPTIONS.items()}
    for name, option in OPTIONS.items():  # every option has its flag, which reads what the option allows
        given = "all" if option.default is None else str(option.default)
        assert getattr(parser.parse_args(["train", option.cli, given]), name) == option.default, name
    assert parser.parse_args(["train", "--iters", "1,000", "--train-size", "1_000"]).iters == 1000


# -- where the data came from ---------------------------------------------------------------------------------------


def _data_of(source: str, n_train: int, n_test: int) -> mnist.MnistData:
    image, label = np.zeros(784, np.uint8), np.zeros(1, np.uint8)
    return mnist.MnistData(np.broadcast_to(image, (n_train, 784)), np.broadcast_to(label, (n_train,)),
                           np.broadcast_to(image, (n_test, 784)), np.broadcast_to(label, (n_test,)), source,
                           "https://example.org/mnist/" if source == "download" else "/data/mnist")


@pytest.mark.parametrize("source, sizes, code", [
    ("directory", (60_000, 10_000), "data_full"), ("cache", (60_000, 10_000), "data_full"),
    ("download", (60_000, 10_000), "data_full_downloaded"), ("directory", (100, 10), "data_other"),
    ("download", (100, 10), "data_other_downloaded"), ("embedded", (6_000, 1_000), "data_sample"),
])
def test_where_the_data_came_from_is_coded(source, sizes, code, japanese):
    described = _data_of(source, *sizes).describe()
    assert isinstance(described, Message) and described.code == code
    assert f"{sizes[0]:,} + {sizes[1]:,} images" in described
    translated = _say_in_japanese(described)
    assert f"{sizes[0]:,}" in translated and ("MNIST 全体" in translated) == code.startswith("data_full")


def test_a_data_source_survives_a_model_file_as_its_english(tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 256, (120, 784), dtype=np.uint8), rng.integers(0, 10, 120)
    source = mnist.load_embedded().describe()
    run = train(TrainConfig(iters=5, batch_size=20, hidden=8), ((x[:100], t[:100]), (x[100:], t[100:])),
                data_source=source)
    assert run.data_source.code == "data_sample"
    assert load_model(save_run(run)).meta["data_source"] == source  # plain text now: shown as written


# -- model files: every fault is coded --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_bytes():
    return small_model_bytes()


def _more_bad_files(good: bytes, tmp_path) -> dict[str, tuple[object, str]]:
    members = _members(good)
    loss = members["loss"].copy()
    loss[3] = np.nan
    no_iters = {k: v for k, v in members.items() if k != "snapshot_iters"}
    return {
        "too large": (b"PK\x03\x04" + bytes(9 * 2**20), "too_large"),
        "no such path": (tmp_path / "nope.npz", "cannot_read"),
        "mixed dtypes": (_npz(dict(members, b1=members["b1"].astype(np.float64))), "mixed_dtypes"),
        "nan loss": (_npz(dict(members, loss=loss)), "loss_non_finite"),
        "short loss": (_npz(dict(members, loss=members["loss"][:39])), "loss_length"),
        "2-D loss": (_npz(dict(members, loss=members["loss"].reshape(4, 10))), "loss_bad"),
        "snapshots alone": (_npz(no_iters), "snapshots_alone"),
        "running": (_with_meta(good, status="running"), "meta_status"),
        "hidden mismatch": (_with_meta(good, config={**TrainConfig(hidden=13).to_dict()}), "meta_hidden"),
        "activation": (_with_meta(good, activation="relu"), "meta_activation"),
        "no config": (_with_meta(good, config=None), "meta_config_missing"),
        "old version": (_with_meta(good, version=0), "meta_version"),
        "dtype": (_with_meta(good, dtype="float64"), "meta_dtype"),
        "count": (_with_meta(good, n_train=-1), "meta_count"),
        "name": (_with_meta(good, name=3), "meta_text"),
        "elapsed": (_with_meta(good, elapsed_s="soon"), "meta_elapsed"),
        "epochs": (_with_meta(good, epochs={}), "epochs_not_list"),
        "epoch accuracy": (_with_meta(good, epochs=[{"epoch": 0, "iteration": 1, "train_acc": 2, "test_acc": 0.1,
                                                     "elapsed_s": 0}]), "epoch_accuracy"),
        "epoch beyond": (_with_meta(good, epochs=[{"epoch": 0, "iteration": 41, "train_acc": 0.1, "test_acc": 0.1,
                                                   "elapsed_s": 0.1}]), "epoch_beyond"),
    }


def test_every_bad_file_is_refused_with_a_coded_message_told_in_japanese(good_bytes, tmp_path, japanese):
    cases = {name: (data, None) for name, (data, _) in _bad_files(good_bytes).items()}
    cases.update(_more_bad_files(good_bytes, tmp_path))
    codes = set()
    for name, (data, code) in cases.items():
        with pytest.raises(ModelFileError) as info:
            load_model(data)
        message = str(info.value)
        assert isinstance(message, Message) and message.code in ENGLISH, (name, message)
        assert code is None or message.code == code, (name, message.code)
        codes.add(message.code)
        translated = i18n.translate_core(message)
        assert re.search(r"[\u3040-\u30ff]", translated) and translated != message, (name, translated)
    assert len(codes) >= 30
    with pytest.raises(ModelFileError) as info:
        load_pretrained(tmp_path / "nope.npz")
    assert str(info.value).code == "pretrained_missing"
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ModelFileError) as info:
        load_pretrained(tmp_path / "empty.npz")
    assert str(info.value).code == "pretrained_fault" and str(info.value).params["fault"].code == "file_empty"
    assert i18n.translate_core(str(info.value)).endswith(": ファイルが空です")


def test_a_bad_config_in_a_file_says_which_option_in_japanese(good_bytes, japanese):
    with pytest.raises(ModelFileError) as info:
        load_model(_with_meta(good_bytes, config={"lr": -1, "hidden": 12}))
    message = str(info.value)
    assert message.code == "meta_config_problem" and message.params["problem"].code == "option_range"
    assert i18n.translate_core(message).startswith("meta.config の設定が正しくありません: 学習率は ")


# -- why a run ended: in this process, in a forked child, in the runner ------------------------------------------


def _blobs(n_train=1000, n_test=200, seed=0):
    """Ten separable blobs of 784 uint8 'pixels' (as in test_train)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, size=(10, 784))

    def make(n):
        t = rng.integers(0, 10, size=n)
        return np.clip(centres[t] + rng.normal(0, 60, size=(n, 784)), 0, 255).astype(np.uint8), t.astype(np.uint8)

    return make(n_train), make(n_test)


def test_reasons_of_a_run_are_coded(japanese):
    data = _blobs()
    diverged = train(TrainConfig(iters=500, lr=100.0), data)
    assert diverged.status == "diverged" and diverged.reason.code == "diverged_mean"
    assert set(diverged.reason.params) == {"iteration", "window", "mean", "guess"}
    calls = iter(range(10**6))
    stopped = train(TrainConfig(iters=1000), data, should_stop=lambda: next(calls) >= 25)
    assert stopped.reason.code == "stopped_after" and stopped.reason.params == {"done": 25, "total": 1000}
    bad = ((np.zeros((10, 784), np.uint8), np.zeros(10, int)), (np.zeros((5, 783), np.uint8), np.zeros(5, int)))
    run = Run(TrainConfig(iters=5))
    with pytest.raises(ValueError):
        train(TrainConfig(iters=5), bad, run=run)
    assert run.status == "failed" and run.reason.code == "failed"
    _say_in_japanese(diverged.reason), _say_in_japanese(stopped.reason)
    assert i18n.translate_core(run.reason).startswith("学習に失敗しました: ")  # then NumPy's own words


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


@needs_fork
def test_a_reason_comes_back_from_a_forked_child_with_its_code(japanese):
    from ui.forked import train_forked

    config = TrainConfig(iters=500, lr=100.0)
    run = train_forked(config, _blobs(), run=Run(config))
    assert run.status == "diverged" and type(run.reason) is Message and run.reason.code == "diverged_mean"
    assert _say_in_japanese(run.reason).startswith("繰り返し ")
    config = TrainConfig(iters=1_000_000)
    start = time.monotonic()
    run = train_forked(config, _blobs(), run=Run(config), should_stop=lambda: time.monotonic() - start > 0.5)
    assert run.status == "stopped" and run.reason.code == "stopped_after" and run.reason.params["total"] == 1_000_000


@needs_fork
def test_the_runner_keeps_the_codes_of_a_stopped_a_waiting_and_a_dead_run(japanese):
    import signal

    from ui import runner

    pool = runner.TrainingPool(1, mode="process")
    first = pool.submit(1, TrainConfig(iters=1_000_000), _blobs())
    second = pool.submit(2, TrainConfig(iters=1_000_000), _blobs())
    end = time.monotonic() + 10
    while first.run.iterations_done < 20 and time.monotonic() < end:
        time.sleep(0.01)
    second.stop()
    assert second.join(5) and second.run.reason.code == "stopped_waiting"
    first.stop()
    assert first.join(10) and first.run.reason.code == "stopped_after"
    before = child_processes()
    dead = pool.submit(3, TrainConfig(iters=1_000_000), _blobs())
    end = time.monotonic() + 10
    while dead.run.iterations_done < 20 and time.monotonic() < end:
        time.sleep(0.01)
    child = child_processes() - before  # this run's training process, and only it
    assert len(child) == 1
    os.kill(child.pop(), signal.SIGKILL)
    assert dead.join(10) and dead.run.reason.code == "process_died"
    for job in (first, second, dead):
        _say_in_japanese(job.run.reason)


def test_a_bad_mnist_dir_is_told_with_a_code(tmp_path, monkeypatch, japanese):
    from ui.data import DataStore, Settings

    monkeypatch.delenv("MNIST_DIR", raising=False)
    store = DataStore(Settings(data_dir=str(tmp_path / "nowhere"), cache_dir=str(tmp_path)))
    assert store.error.code == "mnist_dir_unusable"
    assert i18n.translate_core(store.error).startswith("MNIST_DIR を使えませんでした: ")
