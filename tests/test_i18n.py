"""English and Japanese: both locale files have the same keys and placeholders, every key the code uses exists,
the messages of nn/ are translated, every page renders in Japanese without an English text left over, and a
language switch mid-session keeps the runs."""

import json
import re
import string
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from nn import mnist
from nn import messages as core
from nn.options import OPTIONS
from nn.train import GRADIENT_METHODS, TrainConfig, train
from ui import analysis, compare_view, i18n, lecture, state, training_view as tv
from ui.canvas import CANVAS_LABELS

from tests.app_helpers import session_of, APP, _app, _finish, _open, _short_run, confirm_if_asked, jobs_of, setting_of

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py
EN, JA = i18n.messages("en"), i18n.messages("ja")
ALL_PAGES = ("pages/home.py", "pages/train.py", "pages/code.py", "pages/loss_curves.py", "pages/overfitting.py",
             "pages/sweeps.py", "pages/draw.py", "pages/gradient_check.py", "pages/hidden_units.py", "pages/errors.py",
             "pages/landscape.py")


# -- the locale files ------------------------------------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_both_languages_have_exactly_the_same_keys():
    assert sorted(set(EN) - set(JA)) == [], "missing in ja.toml"
    assert sorted(set(JA) - set(EN)) == [], "missing in en.toml"
    assert len(EN) > 300


def test_placeholders_match_in_every_key():
    wrong = {key: (_fields(EN[key]), _fields(JA[key])) for key in EN if _fields(EN[key]) != _fields(JA.get(key, ""))}
    assert wrong == {}


def test_every_text_formats_with_its_placeholders():
    for code, texts in (("en", EN), ("ja", JA)):
        for key, template in texts.items():
            if "%{" in template:  # a Plotly hover template: used as it is, never formatted
                continue
            value = 1 if key.startswith("core.") else "1"  # nn's values are numbers where a text formats them: {done:,}
            template.format(**{name: value for name in _fields(template)})


def test_japanese_texts_are_japanese():
    """A value left in English in ja.toml is a missing translation (a few are the same in both: names, symbols)."""
    def words(text):
        return re.search(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}|`[^`]*`", "", text))

    same = sorted(key for key in EN if EN[key] == JA[key] and words(EN[key]))
    assert same == [], same


# -- keys used in code -----------------------------------------------------------------------------------------

_CALL = re.compile(r"""\bt\(\s*(["'])([a-z_]+\.[A-Za-z0-9_.\-]+)\1\s*[,)]""")


def _code_files():
    yield ROOT / "app.py"
    yield from sorted((ROOT / "pages").glob("*.py"))
    yield from sorted((ROOT / "ui").glob("*.py"))


def test_every_literal_key_used_in_code_exists():
    used = {(path.name, m.group(2)) for path in _code_files() for m in _CALL.finditer(path.read_text())}
    assert len(used) > 250
    missing = sorted((name, key) for name, key in used if key not in EN)
    assert missing == []


def test_every_key_built_at_run_time_exists():
    """Keys the code builds from a value (an f-string key): each family, every value."""
    built = [f"verdict.{level}" for level in ("none", "underfit", "memorised", "overfit", "peaked", "mild", "fine")]
    built += [f"lecture.slide_{s.name}" for s in lecture.SLIDES] + [f"lecture.slide_{s.name}_help" for s in lecture.SLIDES]
    built += [f"status.{s}" for s in ("pending", "running", "diverged", "failed")]
    built += [f"curves.view_{v}" for v in compare_view.CURVES_VIEWS]
    built += ["curves.y_linear", "curves.y_log", "curves.x_iterations", "curves.x_epochs"]
    built += [f"figures.{axis}" for axis in ("iteration", "epoch")]
    built += list(tv.GRADIENT_LABELS.values()) + list(tv.PRESET_LABELS.values())
    built += [f"train.{name}{part}" for name in tv.NUMBER_SETTINGS for part in ("", "_help")]
    built += [f"canvas.{name}" for name in CANVAS_LABELS]
    built += [f"home.step{n}_{part}" for n in (1, 2, 3) for part in ("name", "text")]
    built += [f"grad.col_{c}" for c in ("parameter", "result", "rel", "diff", "largest", "shape", "by")]
    built += ["units.scale_shared", "units.scale_per_unit", "errors.order_most", "errors.order_least",
              "errors.cells_counts", "errors.cells_share"]
    built += [f"core.{code}" for code in core.ENGLISH] + [f"core.option_{name}" for name in (*OPTIONS, "activation")]
    assert set(tv.GRADIENT_LABELS) == set(GRADIENT_METHODS)
    assert [key for key in built if key not in EN] == []


def test_a_missing_key_never_raises():
    assert i18n.t("no.such_key") == "no.such_key"
    assert i18n.t("train.start") == "Start"
    assert i18n.t("train.use_all") == "All {n} images"  # no kwargs: the raw text
    assert i18n.t("train.use_all", wrong="x") == "All {n} images"  # a bad placeholder: the text unformatted


# -- messages of nn/ ----------------------------------------------------------------------------------------------


def _core_messages() -> list[str]:
    """Messages nn/ really writes: every config error, why a run ended, where the data came from."""
    bad = TrainConfig(iters=0, batch_size=0, hidden=0, lr=-1.0, weight_init_std=0.0, train_size=0, seed=-1,
                      gradient="x", dtype="y", activation="z")
    messages = bad.errors()
    x = (mnist.load_embedded().x_train[:200].reshape(200, -1) / 255).astype("float32")
    data = ((x, mnist.load_embedded().t_train[:200]), (x[:20], mnist.load_embedded().t_train[:20]))
    diverged = train(TrainConfig(iters=200, lr=100.0, batch_size=20), data)
    stopped = train(TrainConfig(iters=50, batch_size=20), data, should_stop=lambda: True)
    messages += [diverged.reason, stopped.reason, core.Message("failed", error="boom"),
                 core.Message("stopped_waiting"), core.Message("process_died", status=-9)]
    messages += [mnist.load_embedded().describe(), core.Message("mnist_dir_unusable", error="no such directory: /x")]
    messages += [core.Message("data_full", n_train=60_000, n_test=10_000, where="~/mnist"),
                 core.Message("data_full_downloaded", n_train=60_000, n_test=10_000, where="https://example.org/"),
                 core.Message("data_other", n_train=100, n_test=10, where="/tmp/x")]
    assert diverged.status == "diverged" and stopped.status == "stopped"
    return messages


@pytest.fixture
def japanese(monkeypatch):
    monkeypatch.setattr(i18n, "language", lambda: "ja")


def test_core_messages_stay_english_in_english():
    for message in _core_messages():
        assert i18n.translate_core(message) == message


def test_core_messages_are_translated_in_japanese(japanese):
    for message in _core_messages():
        translated = i18n.translate_core(message)
        assert translated != message
        words = re.findall(r"[A-Za-z]{5,}", re.sub(r"\S*/\S*", "", translated))  # paths and URLs aside
        assert set(words) <= {"MNIST", "float", "backprop", "numerical", "plain", "sigmoid", "example", "https",
                              "directory"}, (message, translated)  # an OS error's own detail stays as it is


def test_analysis_texts_follow_the_language(japanese):
    assert analysis.format_duration(200) == "3 分 20 秒"
    verdict = analysis.overfitting_verdict([0.5, 1.0], [0.5, 0.8], 300)
    assert verdict.level == "memorised" and "丸暗記" in verdict.headline and "300" in verdict.headline


# -- pages in Japanese -------------------------------------------------------------------------------------------


#: Proto fields that are code, not text (a component's JS and CSS).
_CODE_FIELDS = {"js_content", "css_content", "js_source_path", "css_source_path"}
#: How ``ui.code_view.to_html`` starts a listing of the source.
CODE_LISTING = '<div class="sgd-code"'


def _strings(value, out: list) -> None:
    if isinstance(value, Message):
        for field, field_value in value.ListFields():
            if field.name not in _CODE_FIELDS:
                _strings(field_value, out)
    elif isinstance(value, str):
        if value.startswith(CODE_LISTING):
            return  # the book's code as the Code page lists it: Python, in English in every language
        if value[:1] in "{[":
            try:
                _strings(json.loads(value), out)  # a Plotly spec: its titles, axis titles, legend names
                return
            except ValueError:
                pass
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, bytes):
        for item in value:
            _strings(item, out)


def rendered_text(at: AppTest) -> str:
    """Every text the page sends to the browser: markdown, labels, help, options, metrics, chart texts, table
    column names and cells (as strings)."""
    out: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            _strings(proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for table in at.dataframe:
        frame = table.value
        out += [str(c) for c in frame.columns] + [str(v) for v in frame.astype(str).to_numpy().ravel()]
    return "\n".join(out)


def _literal_parts(template: str) -> list[str]:
    """The fixed words of an English text: what must not show up on a Japanese page."""
    text = re.sub(r"%\{[^}]*\}|<[^>]+>|\{[^}]*\}", "\n", template)
    text = re.sub(r"\*\*|:green\[|:red\[|\]|`", "\n", text)
    return [p.strip() for p in text.split("\n") if len(p.strip()) >= 12 and re.search(r"[a-z]{3}", p)]


#: key → the English words that must not show on a Japanese page (minus those its Japanese text keeps: code)
ENGLISH = {key: [p for p in _literal_parts(value) if p not in JA[key]] for key, value in EN.items() if value != JA[key]}


def english_left(text: str) -> list[tuple[str, str]]:
    """The English texts of en.toml found in ``text``, code spans aside (``weight_init_std=0.01`` is Python)."""
    text = re.sub(r"`[^`]*`", "", text)
    return [(key, part) for key, parts in ENGLISH.items() for part in parts if part in text]


def english_phrases(text: str) -> set[str]:
    """Runs of four or more English words (an English sentence not in en.toml), code spans aside."""
    text = re.sub(r"`[^`]*`", "", text)
    return set(re.findall(r"[A-Za-z][a-z]+(?:[ ,'-]+[a-z]+){3,}", text))


def _japanese_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state[state.KEY_SESSION] = state.Session()
    session_of(at).values["lang"] = "ja"
    at.run()
    assert not at.exception
    return at


def test_every_page_renders_in_japanese_without_english_left():
    at = _japanese_app()
    _open(at, "pages/train.py")
    _short_run(at)
    _finish(at)
    left = {}
    for page in ALL_PAGES:
        _open(at, page)
        text = rendered_text(at)
        assert at.title[0].value == i18n.messages("ja")["app.title" if page == "pages/home.py" else
                                                        _TITLES[page]], page
        left[page] = english_left(text) + sorted(english_phrases(text))
    assert left == {page: [] for page in ALL_PAGES}


_TITLES = {"pages/train.py": "train.title", "pages/code.py": "code.title", "pages/loss_curves.py": "curves.title",
           "pages/overfitting.py": "overfit.title", "pages/sweeps.py": "sweep.title", "pages/draw.py": "draw.title",
           "pages/gradient_check.py": "grad.title", "pages/hidden_units.py": "units.title",
           "pages/errors.py": "errors.title", "pages/landscape.py": "landscape.title"}


def test_the_english_check_catches_an_english_literal():
    """Proof that the check above bites: an English page is full of English values."""
    at = _app()
    _open(at, "pages/train.py")
    found = english_left(rendered_text(at))
    keys = {key for key, _ in found}
    assert {"train.caption", "train.preset_help", "train.press_start"} <= keys
    assert english_left("… " + EN["train.iters_help"] + " …") == [("train.iters_help", _literal_parts(EN["train.iters_help"])[0])]
    # an English sentence that is in no locale file (a literal someone forgot to move there)
    assert english_phrases("学習 Does the network learn digits? `python -m nn train`") == {"Does the network learn digits"}
    assert english_phrases(rendered_text(at))


def test_switching_language_mid_session_keeps_runs_and_widgets():
    at = _app()
    _open(at, "pages/train.py")
    _short_run(at, iters=150)
    _finish(at)
    _open(at, "pages/train.py")
    jobs = list(jobs_of(at))
    assert at.button(key=state.KEY_START).label == "Start"
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()
    assert not at.exception
    assert setting_of(at, "lang") == "ja"
    assert list(jobs_of(at)) == jobs
    assert at.number_input(key=state.KEY_ITERS).value == 150
    assert at.button(key=state.KEY_START).label == "開始"
    assert at.title[0].value == "ネットワークの学習"
    runs_table = at.dataframe[-1].value  # the page's last table: "your runs"
    assert list(runs_table.columns)[:2] == ["学習", "状態"] and runs_table.iloc[0, 0] == jobs[-1].name
    assert runs_table.iloc[0, 1].startswith("完了")
    _open(at, "pages/loss_curves.py")
    assert at.multiselect(key=state.KEY_CURVES_RUNS).value == [jobs[-1].id]
    assert at.title[0].value == "損失関数の推移"
    at.button_group(key=state.KEY_LANG_CONTROL).set_value("en").run()
    assert at.title[0].value == "Loss curves" and list(jobs_of(at)) == jobs


def test_language_switch_while_a_run_trains_keeps_it_training(monkeypatch):
    monkeypatch.setenv("SGDLAB_MAX_RUN_MINUTES", "off")  # a run long enough to switch during: over the hosted cap
    at = _app()
    _open(at, "pages/train.py")
    at.number_input(key=state.KEY_ITERS).set_value(100_000).run()
    confirm_if_asked(at)
    at.button(key=state.KEY_START).click().run()
    job = jobs_of(at)[-1]
    try:
        at.button_group(key=state.KEY_LANG_CONTROL).set_value("ja").run()
        assert not at.exception
        assert jobs_of(at)[-1] is job and not job.run.done
        assert "学習中" in at.sidebar.text[0].value or "順番待ち" in at.sidebar.text[0].value
    finally:
        job.stop()
        job.join(10)
