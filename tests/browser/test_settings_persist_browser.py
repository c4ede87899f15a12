"""Every setting of ``ui.settings.SETTINGS`` survives, in a real browser: page visits through the sidebar, two
language switches, a reload, and the tab closed and opened again; another browser sees none of it.

``CHECKS`` says, for each setting, on which page it lives, how the test sets a non-default value, how it checks the
value is still shown, and (for most) how it checks the value is still *used*: Start launches exactly the run the
Train page shows and the address bar says the same, the draw page reads with the chosen model, the errors page's
digit filters change the gallery's caption, the loss curves show only the first 1,000 iterations, the Code page's
step explains the chosen image and compares the numerical gradient, lecture mode keeps its larger type… A setting
added to the table without an entry here fails the test.

One pass, grouped by page: two short runs trained first (the pickers need runs), then for each page its settings
set, checked, one round (every other page through the sidebar, and 日本語 and back to English on Home), checked,
reloaded, checked; the language first (its round is in Japanese), lecture mode last (it folds options away). Then
the tab is closed and a new one opened in the same browser (same localStorage token): every page's values come
back. A new browser context starts from the defaults with no runs.

Waits are conditions, never fixed times: Playwright's ``expect``, and after a widget change the server's "script
run finished" message on the websocket (the next change must not race the last one's redraw).
Screenshots: pytest's ``tmp_path`` and /tmp/persist_shots/.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import tomllib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from ui.figures import ema
from ui.settings import SETTINGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/persist_shots")
LOCALES = {lang: tomllib.loads((ROOT / "ui" / "locales" / f"{lang}.toml").read_text("utf-8")) for lang in ("en", "ja")}

#: The pages in the sidebar's order: the i18n keys of their sidebar names and titles.
PAGES = {
    "home": ("nav.home", "app.title"),
    "train": ("nav.train", "train.title"),
    "code": ("nav.code", "code.title"),
    "loss_curves": ("nav.loss_curves", "curves.title"),
    "overfitting": ("nav.overfitting", "overfit.title"),
    "sweeps": ("nav.sweeps", "sweep.title"),
    "draw": ("nav.draw", "draw.title"),
    "gradient_check": ("nav.gradient_check", "grad.title"),
    "hidden_units": ("nav.hidden_units", "units.title"),
    "errors": ("nav.errors", "errors.title"),
    "landscape": ("nav.landscape", "landscape.title"),
}


def text(lang: str, key: str) -> str:
    table, name = key.split(".")
    return LOCALES[lang][table][name]


# The two runs the pickers choose from (the app names a run "#N " + its settings).
RUN1_LINK = "/train?iters=300&batch=50&lr=0.5&hidden=30&images=1000"
RUN1 = "#1 lr 0.5 · batch 50 · 300 it · 1k imgs · hidden 30"
RUN2_LINK = "/train?iters=200&batch=20&lr=0.2&images=500&seed=3"
RUN2 = "#2 lr 0.2 · batch 20 · 200 it · 500 imgs · seed 3"
PRETRAINED = "Pretrained model (shipped with SGD Lab)"
#: The models shipped with SGD Lab, as the draw page names them: without a run it reads with one of them (the one
#: trained on distorted digits where it is shipped, else the book's).
SHIPPED = [PRETRAINED, *(LOCALES["en"]["models"][k] for k in ("book", "sturdy") if k in LOCALES["en"]["models"])]
FRESH = "Fresh untrained network (seeded)"

# What the Train page is set to: every training option off its default, slow enough (the book's numerical loop)
# that Start asks for a confirmation first; Start is pressed and the run stopped at once.
TRAIN_QUERY = {"iters": "5000", "batch": "50", "lr": "0.5", "hidden": "30", "std": "0.02", "images": "1000",
               "seed": "7", "gradient": "numerical-plain"}
TRAIN_LABEL = "lr 0.5 · batch 50 · 5k it · 1k imgs · hidden 30 · std 0.02 · numerical-plain · seed 7"

FONT_SIZE = "(s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)"
PARAGRAPH = "[data-testid='stMain'] [data-testid='stMarkdownContainer'] p"
SMOOTHING = 0.55  # the loss curves' smoothing, set with the arrow keys from 0.60

# The charts' data as Plotly holds it in the page: title, axis titles and types, colour-bar titles, annotations,
# traces (name, y).
PLOTS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')).map(p => {
  const plain = (s) => String(s || '').replace(/<[^>]*>/g, '');
  const l = p._fullLayout || p.layout || {}, title = (o) => plain(o && o.title && (o.title.text ?? o.title));
  const traces = p._fullData || p.data || [];  // _fullData: the arrays decoded (Plotly sends them base64)
  return {title: title(l), x: title(l.xaxis), y: title(l.yaxis), ytype: (l.yaxis || {}).type || '',
          annotations: (l.annotations || []).map(a => plain(a.text)),
          colorbars: traces.map(t => title(t.colorbar)).filter(Boolean),
          traces: traces.map(t => ({name: t.name || '', y: t.y && t.y.length !== undefined ? Array.from(t.y) : []}))};
})"""


def _expect():
    # imported here: without playwright the browser fixture skips (or fails in CI) instead of the module erroring
    from playwright.sync_api import expect

    return expect


def _script_run_finished(payload) -> bool:
    """Whether a websocket frame from the server is Streamlit's "the script run finished" (a whole run, not a
    fragment's, not one cut short by a newer rerun)."""
    if not isinstance(payload, bytes) or len(payload) > 1_000:  # that message is small; deltas can be megabytes
        return False
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    return msg.WhichOneof("type") == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY


def _timeout_error() -> type[Exception]:
    from playwright.sync_api import TimeoutError

    return TimeoutError


class Lab:
    """The browser tab and what the test knows about the session in it."""

    def __init__(self, page, base: str, tmp_path: Path) -> None:
        self.base, self.tmp_path = base, tmp_path
        self.use(page)
        self.lang = "en"
        self.where = ""  # the page shown
        self.lecture = False
        self.phase = "set"  # "set" | "round" | "reload" | "reopen": when the checks run
        self.runs = 0  # the session's runs so far (the next is #runs+1)
        self.base_font = 0.0  # a paragraph's font size before lecture mode
        self.memo: dict[str, str] = {}  # values read while setting (the snapshot slider's iteration)
        self.shots: list[Path] = []

    def use(self, page) -> None:
        """Drive ``page`` (a new tab) from now on, and follow its connection to the server."""
        self.page, self.ws = page, None
        page.set_default_timeout(30_000)
        page.on("websocket", self._connected)

    def _connected(self, ws) -> None:
        if "_stcore/stream" in ws.url:
            self.ws = ws  # a reload opens a new one

    def act(self, action: Callable[[], None]) -> None:
        """Do ``action`` (a click or key that changes a widget) and wait until the script run it started has
        finished: a change made while the last one's run is still drawing could be overwritten by it."""
        with self.ws.expect_event("framereceived", predicate=_script_run_finished):
            action()

    # -- where we are ------------------------------------------------------------------------------------------
    def nav(self, key: str, lang: str | None = None):
        name = text(lang or self.lang, PAGES[key][0])
        return self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)

    def h1(self):
        return self.page.get_by_test_id("stMain").locator("h1").first

    def on(self, key: str) -> None:
        """Wait until page ``key`` is shown in the session's language (its title, and the sidebar's names)."""
        expect = _expect()
        expect(self.h1()).to_have_text(text(self.lang, PAGES[key][1]))
        expect(self.nav(key)).to_be_visible()  # the sidebar speaks the language too (Home's title is the same)
        self.where = key

    def ended(self) -> None:
        """Wait until the script run that drew the page has ended."""
        _expect()(self.page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")

    def go(self, key: str) -> None:
        """Open page ``key`` through the sidebar and wait until it has been drawn."""
        self.act(self.nav(key).click)
        self.on(key)

    def switch_language(self, lang: str, key: str) -> None:
        name = "日本語" if lang == "ja" else "English"
        self.act(self.page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click)
        self.lang = lang
        self.on(key)

    def round(self, key: str, switch_language: bool = True) -> None:
        """Every other page through the sidebar, 日本語 and back to English (on Home, the lightest page: the last
        one visited, or the page itself), back to page ``key``."""
        others = [p for p in PAGES if p not in (key, "home")] + ([] if key == "home" else ["home"])
        for other in others:
            self.go(other)
        if key == "home":
            self.go(key)
        if switch_language:
            self.switch_language("ja", "home")
            self.switch_language("en", "home")
        if key != "home":
            self.go(key)

    # -- what the page shows -------------------------------------------------------------------------------------
    def caption(self, containing: str):
        return self.page.get_by_test_id("stCaptionContainer").filter(has_text=containing)

    def plots(self) -> list[dict]:
        return self.page.evaluate(PLOTS)

    def wait_plots(self, predicate_js: str, what: str) -> list[dict]:
        """Wait until the page's Plotly charts satisfy ``predicate_js`` (a JS function of their list, PLOTS)."""
        try:
            self.page.wait_for_function(f"() => ({predicate_js})(({PLOTS})())", timeout=20_000)
        except _timeout_error() as exc:  # a readable failure: what the charts were
            shown = json.dumps(self.plots(), ensure_ascii=False)[:2000]
            raise AssertionError(f"charts never showed {what}: {shown}") from exc
        return self.plots()

    def expect_query(self, want: dict) -> None:
        """Wait until the address bar's query is exactly ``want``."""
        canonical = json.dumps(sorted(want.items()), separators=(",", ":"), ensure_ascii=False)
        try:
            self.page.wait_for_function(
                "(want) => JSON.stringify(Array.from(new URLSearchParams(location.search)).sort()) === want",
                arg=canonical, timeout=20_000)
        except _timeout_error() as exc:
            raise AssertionError(f"address bar {self.page.url} is not {want}") from exc

    def token(self) -> str:
        self.page.wait_for_function("() => /^[0-9a-f]{32}$/.test(localStorage.getItem('sgdlab-token') || '')")
        return self.page.evaluate("() => localStorage.getItem('sgdlab-token')")

    def shot_failure(self) -> None:
        """A screenshot of the page as it was when the test failed (best effort: the page may be gone)."""
        with suppress(Exception):  # never hide the test's own failure
            self.shot("FAILED")

    def shot(self, name: str) -> None:
        path = self.tmp_path / f"{len(self.shots) + 1:02d}-{name}.png"
        self.h1().scroll_into_view_if_needed()  # the top of the page: its settings (Streamlit scrolls its own box)
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)

    # -- runs ------------------------------------------------------------------------------------------------------
    def live_heading(self):
        return self.page.get_by_test_id("stMain").locator("h4").first

    def train(self, link: str, name: str) -> None:
        """Open a link to the Train page, wait for its values (and for the session's earlier runs to come back:
        a link opens a new session, which the browser's token restores), press Start, wait until it finished."""
        expect = _expect()
        query = dict(parse_qsl(urlsplit(link).query))
        self.page.goto(self.base + link)
        if self.runs:
            expect(self.live_heading()).to_have_text(re.compile(rf"^#{self.runs} "))
        expect(self.page.get_by_role("spinbutton", name="Iterations", exact=True)).to_have_value(query["iters"])
        start = self.page.get_by_role("button", name="Start", exact=True)
        expect(start).to_be_enabled(timeout=90_000)  # a new server first measures how fast the machine trains
        start.click()
        self.runs += 1
        expect(self.live_heading()).to_have_text(name)
        iters = f"{int(query['iters']):,}"
        expect(self.page.get_by_test_id("stProgress")).to_contain_text(
            re.compile(rf"finished: test [\d.]+% — iteration {iters} of {iters}"), timeout=60_000)


# -- how to set a widget and check what it shows ----------------------------------------------------------------


@dataclass(frozen=True)
class Spin:
    """A number input: typed, Enter; shown as ``shown`` (the widget's format: 0.5 → "0.5000")."""

    label: str | re.Pattern
    typed: str
    shown: str = ""

    def box(self, lab: Lab):
        exact = isinstance(self.label, str)  # a pattern: "Hidden unit (1–50)" says how many there are
        return lab.page.get_by_test_id("stMain").get_by_role("spinbutton", name=self.label, exact=exact)

    def set(self, lab: Lab) -> None:
        box = self.box(lab)
        box.fill(self.typed)
        lab.act(lambda: box.press("Enter"))
        _expect()(box).to_have_value(self.shown or self.typed)

    def check(self, lab: Lab) -> None:
        _expect()(self.box(lab)).to_have_value(self.shown or self.typed)


@dataclass(frozen=True)
class Choose:
    """A selectbox: opened with a click, an option picked; shown as the box's value."""

    label: str
    option: str

    def box(self, lab: Lab):
        return lab.page.get_by_test_id("stMain").get_by_role("combobox", name=self.label, exact=True)

    def set(self, lab: Lab) -> None:
        expect, box = _expect(), self.box(lab)
        box.scroll_into_view_if_needed()
        for attempt in range(3):  # a click while the page scrolls or redraws can leave the list closed
            box.click()
            try:
                expect(box).to_have_attribute("aria-expanded", "true", timeout=3_000)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        lab.act(lab.page.get_by_role("option", name=self.option, exact=True).click)
        expect(box).to_have_value(self.option)

    def check(self, lab: Lab) -> None:
        _expect()(self.box(lab)).to_have_value(self.option)


@dataclass(frozen=True)
class Radio:
    """A radio button of the group ``group``, clicked by its label."""

    group: str
    option: str

    def radio(self, lab: Lab):
        group = lab.page.get_by_test_id("stMain").get_by_role("radiogroup", name=self.group, exact=True)
        return group.get_by_role("radio", name=self.option, exact=True)

    def set(self, lab: Lab) -> None:
        group = lab.page.get_by_test_id("stMain").get_by_role("radiogroup", name=self.group, exact=True)
        lab.act(group.get_by_text(self.option, exact=True).click)
        _expect()(self.radio(lab)).to_be_checked()

    def check(self, lab: Lab) -> None:
        _expect()(self.radio(lab)).to_be_checked()


@dataclass(frozen=True)
class Tick:
    """A checkbox, ticked (``on``) or unticked by a click on its label."""

    label: re.Pattern
    on: bool

    def box(self, lab: Lab):
        return lab.page.get_by_test_id("stMain").get_by_role("checkbox", name=self.label)

    def set(self, lab: Lab) -> None:
        lab.act(lab.page.get_by_test_id("stMain").get_by_text(self.label).click)
        self.check(lab)

    def check(self, lab: Lab) -> None:
        if self.on:
            _expect()(self.box(lab)).to_be_checked()
        else:
            _expect()(self.box(lab)).not_to_be_checked()


@dataclass(frozen=True)
class Keys:
    """A slider or select slider: focused, then arrow keys; shown as its ``aria-valuetext``. ``value`` None: the
    value the keys reached is remembered under ``memo`` (the snapshot slider's iterations depend on the run)."""

    label: str
    keys: tuple[str, ...]
    value: str | None = None
    memo: str = ""

    def slider(self, lab: Lab):
        return lab.page.get_by_test_id("stMain").get_by_role("slider", name=self.label)

    def set(self, lab: Lab) -> None:
        slider = self.slider(lab)
        before = slider.get_attribute("aria-valuetext")
        slider.focus()
        for key in self.keys:
            lab.act(partial(slider.press, key))
        if self.value is None:
            _expect()(slider).not_to_have_attribute("aria-valuetext", before)
            lab.memo[self.memo] = slider.get_attribute("aria-valuetext")
        self.check(lab)

    def check(self, lab: Lab) -> None:
        value = self.value if self.value is not None else lab.memo[self.memo]
        _expect()(self.slider(lab)).to_have_attribute("aria-valuetext", value)


@dataclass(frozen=True)
class Untag:
    """A multiselect: tags removed with their remove button; shown as the tags left (exactly ``keep``)."""

    remove: tuple[str, ...]
    keep: tuple[str, ...]

    def set(self, lab: Lab) -> None:
        for name in self.remove:
            lab.act(lab.page.get_by_role("button", name=f"Remove {name}", exact=True).click)
            _expect()(lab.page.get_by_role("button", name=f"Remove {name}", exact=True)).to_have_count(0)
        self.check(lab)

    def check(self, lab: Lab) -> None:
        expect = _expect()
        tags = lab.page.get_by_test_id("stMain").get_by_role("button", name=re.compile(r"^Remove #"))
        expect(tags).to_have_count(len(self.keep))
        for name in self.keep:
            expect(lab.page.get_by_role("button", name=f"Remove {name}", exact=True)).to_be_visible()


@dataclass(frozen=True)
class Values:
    """A multiselect of values (the sweep's), found by its label: tags removed; shown as the tags left."""

    label: str
    remove: tuple[str, ...]
    keep: tuple[str, ...]

    def box(self, lab: Lab):
        label = lab.page.get_by_text(self.label, exact=True)
        return lab.page.get_by_test_id("stMain").get_by_test_id("stMultiSelect").filter(has=label)

    def set(self, lab: Lab) -> None:
        for name in self.remove:
            button = self.box(lab).get_by_role("button", name=f"Remove {name}", exact=True)
            lab.act(button.click)
            _expect()(button).to_have_count(0)
        self.check(lab)

    def check(self, lab: Lab) -> None:
        expect = _expect()
        expect(self.box(lab).get_by_role("button", name=re.compile(r"^Remove "))).to_have_count(len(self.keep))
        for name in self.keep:
            expect(self.box(lab).get_by_role("button", name=f"Remove {name}", exact=True)).to_be_visible()


@dataclass(frozen=True)
class Sidebar:
    """The language switch or the lecture-mode toggle (``set`` and ``check`` given)."""

    set: Callable[[Lab], None]
    check: Callable[[Lab], None]


#: The Code page's status line: no step yet, or the last step's iteration.
_NO_STEP = re.compile(r"^No step yet\.")
_STEP_DONE = re.compile(r"done — the last was i = \d+\.")


def _step_tab(lab: Lab, tab: str):
    """Open the Code page's tab ``tab`` (an i18n key) if it is not the one shown (Streamlit shows the first tab
    again on every visit); return its panel."""
    expect = _expect()
    main = lab.page.get_by_test_id("stMain")
    button = main.get_by_role("tab", name=text(lab.lang, tab), exact=True)
    if button.get_attribute("aria-selected") != "true":  # a click is no widget change: no script run to wait for
        button.click()
    expect(button).to_have_attribute("aria-selected", "true")
    return main.locator("[data-testid='stTabPanel']:visible")


@dataclass(frozen=True)
class Stepped:
    """A widget of the Code page's step tabs, which show their widgets only after a step: ``set`` first presses
    "One step" if the page shows none, and both open the widget's tab (``tab``, an i18n key). The step-through is
    kept with the session, so ``check`` never steps: a lost one fails it."""

    tab: str
    widget: object

    def set(self, lab: Lab) -> None:
        expect, main = _expect(), lab.page.get_by_test_id("stMain")
        status = main.get_by_text(_NO_STEP).or_(main.get_by_text(_STEP_DONE))
        expect(status).to_be_visible()
        if main.get_by_text(_NO_STEP).count():
            lab.act(main.get_by_role("button", name=text(lab.lang, "step.one"), exact=True).click)
            expect(main.get_by_text(_STEP_DONE)).to_be_visible()
        _step_tab(lab, self.tab)
        self.widget.set(lab)

    def check(self, lab: Lab) -> None:
        _step_tab(lab, self.tab)
        self.widget.check(lab)


def _start_sweep(lab: Lab) -> None:
    """Start the sweep the page describes if it shows none yet (and count its runs: the Train checks name theirs)."""
    main = lab.page.get_by_test_id("stMain")
    if main.get_by_text(text("en", "sweep.none_yet")).count():
        lab.act(main.get_by_role("button", name=text("en", "sweep.start"), exact=True).click)
        lab.runs += len(SWEEP_CELLS)


@dataclass(frozen=True)
class _Started:
    """A widget of the sweep's results, which shows once a sweep was started: ``set`` first starts the sweep the
    page describes if it shows none (and counts its runs)."""

    widget: object

    def set(self, lab: Lab) -> None:
        _start_sweep(lab)
        self.widget.set(lab)

    def check(self, lab: Lab) -> None:
        self.widget.check(lab)


# -- "still used": what each setting changes, checked against the page --------------------------------------------


def _lang_set(lab: Lab) -> None:
    lab.switch_language("ja", "home")


def _lang_shown(lab: Lab) -> None:
    _expect()(lab.page.get_by_test_id("stSidebar").get_by_role("radio", name="日本語", exact=True)).to_be_checked()


def _lang_used(lab: Lab) -> None:
    expect = _expect()
    expect(lab.h1()).to_have_text(text("ja", "app.title"))
    expect(lab.nav("home", "ja")).to_be_visible()
    expect(lab.page.get_by_role("heading", name=text("ja", "home.steps_title"))).to_be_visible()
    lab.expect_query({"lang": "ja"})


def _lecture_switch(lab: Lab):
    return lab.page.get_by_test_id("stSidebar").get_by_role("switch", name="Lecture mode", exact=True)


def _lecture_set(lab: Lab) -> None:
    lab.ended()
    lab.base_font = lab.page.evaluate(FONT_SIZE, PARAGRAPH)
    lab.act(lab.page.get_by_test_id("stSidebar").get_by_text("Lecture mode", exact=True).click)
    lab.lecture = True
    _lecture_shown(lab)


def _lecture_shown(lab: Lab) -> None:
    _expect()(_lecture_switch(lab)).to_be_checked()


def _lecture_used(lab: Lab) -> None:
    """Larger type (a paragraph's computed font size, on Home), the slide buttons, lecture=1 in the address bar."""
    want = 1.15 * lab.base_font
    try:
        lab.page.wait_for_function(f"() => ({FONT_SIZE})({json.dumps(PARAGRAPH)}) >= {want}", timeout=20_000)
    except _timeout_error() as exc:
        size = lab.page.evaluate(FONT_SIZE, PARAGRAPH)
        raise AssertionError(f"lecture mode's type is {size}px, not ≥ 1.15 × {lab.base_font}px") from exc
    _expect()(lab.page.get_by_role("heading", name=text("en", "lecture.slides_title"))).to_be_visible()
    lab.expect_query({"lecture": "1"})


def _train_used(lab: Lab) -> None:
    """The address bar holds exactly the fields' values; after a round trip or a reload, Start launches exactly
    the run they describe (the live view's heading names it), which is then stopped (the book's loop is slow)."""
    expect = _expect()
    lab.expect_query({**TRAIN_QUERY, **({"lecture": "1"} if lab.lecture else {})})
    if lab.phase not in ("round", "reload"):
        return
    start = lab.page.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_enabled()  # the slow run's confirmation is ticked
    start.click()
    lab.runs += 1
    expect(lab.live_heading()).to_have_text(f"#{lab.runs} {TRAIN_LABEL}")
    progress = lab.page.get_by_test_id("stProgress")
    expect(progress).not_to_contain_text("stopped")  # the new run's line, not the last one's
    lab.page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True).click()  # not the toolbar's
    expect(progress).to_contain_text(re.compile(r"stopped at [\d,]+ of 5,000"))
    lab.expect_query({**TRAIN_QUERY, **({"lecture": "1"} if lab.lecture else {})})  # Start changed nothing
    tick = CHECKS["train.confirm_slow"].widget
    expect(tick.box(lab)).not_to_be_checked()  # a confirmation is for one run: the next long one asks again
    tick.set(lab)  # confirmed again, for the checks that follow


def _download_used(lab: Lab) -> None:
    """The download button saves the chosen run (#1), not the newest."""
    with lab.page.expect_download() as info:
        lab.page.get_by_role("button", name="Download the run (.npz)").click()
    name = info.value.suggested_filename
    info.value.cancel()
    assert name.startswith("sgdlab-run1-lr-0.5-batch-50-300-it"), name


def _curves_used(lab: Lab) -> None:
    """Only the first-1,000 chart, log y, epochs on x, only run #1, smoothed with 0.55 (its bold trace is the EMA
    of its faint raw one), and the status line names only run #1."""
    first = text("en", "curves.first").format(n="1,000")
    plots = lab.wait_plots(
        f"(ps) => ps.length === 1 && ps[0].title === {json.dumps(first)} && ps[0].ytype === 'log'"
        f" && ps[0].x === {json.dumps(text('en', 'figures.x_epoch'))} && ps[0].traces.length === 2",
        "only the first 1,000 iterations, log y, epochs on x, one run",
    )
    raw, smooth = plots[0]["traces"]
    assert raw["name"] == text("en", "figures.raw").format(name=RUN1) and smooth["name"] == RUN1, plots[0]["traces"]
    assert np.allclose(smooth["y"], ema(raw["y"], SMOOTHING), rtol=1e-6), "the bold curve is not the EMA with 0.55"
    _expect()(lab.caption(": finished")).to_have_text(re.compile(rf"^{re.escape(RUN1)}: finished: test [\d.]+%$"))


def _overfit_used(lab: Lab) -> None:
    _expect()(lab.caption("trained on")).to_contain_text(f"{RUN1}: finished")


def _draw_used(lab: Lab) -> None:
    _expect()(lab.caption("Reading with")).to_contain_text(f"Reading with Run {RUN1}:")


def _grad_used(lab: Lab) -> None:
    """The fresh network (its seed field is there), a batch of 1, the chosen unit's heat map."""
    expect = _expect()
    expect(lab.caption("784-50-10")).to_contain_text(f"{FRESH}: 784-50-10")
    expect(lab.caption("Batch:")).to_contain_text("Batch: 1 training images.")
    unit = lab.memo["grad.unit"]
    lab.wait_plots(f"(ps) => ps.some(p => p.title.includes('(W1 column {unit})'))", f"hidden unit {unit}")


def _units_used(lab: Lab) -> None:
    """Run #2's weights, each unit its own scale, the chosen snapshot and unit."""
    expect = _expect()
    expect(lab.caption("finished")).to_contain_text(f"Run {RUN2}: finished")
    it = lab.memo["units.snapshot"]
    lab.wait_plots(
        "(ps) => ps.length >= 3 && ps[0].colorbars.includes('weight / its max')"
        f" && ps.some(p => p.title.startsWith('W1 after {it} iteration'))"
        " && ps.some(p => p.annotations.join(' ').includes('unit 5: input weights'))",
        f"per-unit scales, the snapshot after {it} iterations and unit 5",
    )


def _errors_used(lab: Lab) -> None:
    """Run #2's mistakes; cells as shares; the gallery's caption follows the digit filters; least confident first."""
    expect = _expect()
    expect(lab.caption("finished")).to_contain_text(f"Run {RUN2}: finished")
    true, pred = lab.memo["errors.true"], lab.memo["errors.pred"]
    expect(lab.caption("Each is captioned")).to_contain_text(f"misclassified test images of a {true} read as {pred}")
    pair = f"{true}→{pred}"
    only_pair = f"(p) => p.annotations.length > 0 && p.annotations.every(a => a.includes('{pair}'))"
    plots = lab.wait_plots(
        f"(ps) => ps.some(p => p.title.includes('share of each true digit')) && ps.some({only_pair})",
        f"the matrix as shares and a gallery of {pair} only",
    )
    gallery = next(p for p in plots if p["annotations"] and all(pair in a for a in p["annotations"]))
    sure = [int(m) for a in gallery["annotations"] for m in re.findall(r"→\d (\d+)%", a)]
    assert sure and sure == sorted(sure), f"not least confident first: {sure}"


STEP_EXAMPLE = 3  # the image of the batch whose numbers the softmax text explains (1 by default)
STEP_TRY_LR = "0.5"  # the learning rate tried on the step (10 by default)


def _step_gradient_used(lab: Lab) -> None:
    """The gradient tab computed the numerical gradient: how long it took, how far it is from backprop's, and its
    heat maps."""
    expect, panel = _expect(), _step_tab(lab, "step.tab2")
    metrics = panel.get_by_test_id("stMetric")
    took = metrics.filter(has_text=text("en", "step.time_numerical")).get_by_test_id("stMetricValue")
    expect(took).to_have_text(re.compile(r"^\d+(\.\d+)? m?s$"))  # not "–": backprop's view computes none
    agreement = metrics.filter(has_text=text("en", "step.agreement")).get_by_test_id("stMetricValue")
    expect(agreement).to_have_text(re.compile(r"^\d\.\de[-+]\d+$"))
    method = f"({text('en', 'step.gradient_numerical')})"
    lab.wait_plots(f"(ps) => ps.some(p => p.title.endsWith({json.dumps(method)}))", f"the heat maps titled {method}")


def _step_example_used(lab: Lab) -> None:
    """The softmax text explains image 3 of the batch."""
    panel = _step_tab(lab, "step.tab2")
    explained = panel.get_by_text(re.compile(r"^Image \d+ of the batch is a \d\.$"))
    _expect()(explained).to_have_text(re.compile(rf"^Image {STEP_EXAMPLE} of the batch is a \d\.$"))


def _step_try_lr_used(lab: Lab) -> None:
    """The update tab's verdict and its chart's diamond are of learning rate 0.5."""
    panel = _step_tab(lab, "step.tab3")
    verdict = panel.get_by_text(re.compile(r"^With learning rate \S+ (this step would|the loss would)"))
    _expect()(verdict).to_have_text(re.compile(rf"^With learning rate {re.escape(STEP_TRY_LR)} "))
    tried = text("en", "step_figures.lr_try").format(lr=STEP_TRY_LR)
    lab.wait_plots(f"(ps) => ps.some(p => p.traces.some(t => t.name === {json.dumps(tried)}))", f"a trace '{tried}'")


#: The sweep the test sets up: hidden units 10 and 50 across, learning rate 0.1 down, 100 iterations each, the loss
#: against images seen. Two short runs: a session keeps 8, and the other pages' checks still need runs #1 and #2.
SWEEP_CELLS = ("hidden 10 · lr 0.1", "hidden 50 · lr 0.1")
SWEEP_SIZE = re.compile(r"^2 runs of 100 iterations, ")
#: All the x axes' titles of the page's charts (the sweep's shared x axis is titled on its bottom row only).
X_TITLES = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')).flatMap(p => {
  const l = p._fullLayout || {};
  return Object.keys(l).filter(k => /^xaxis\\d*$/.test(k)).map(k => String((l[k].title || {}).text || ''));
})"""


def _sweep_used(lab: Lab) -> None:
    """The size line counts the chosen cells and iterations; the sweep (started on the first check, then kept with
    the session) ran exactly those cells, and its loss curves are against images seen."""
    expect, main = _expect(), lab.page.get_by_test_id("stMain")
    expect(main.get_by_text(SWEEP_SIZE)).to_be_visible()
    if lab.phase == "set":
        _start_sweep(lab)
    expect(main.get_by_test_id("stProgress")).to_contain_text("2 of 2 runs ended", timeout=60_000)
    cells = json.dumps(list(SWEEP_CELLS))
    lab.wait_plots(f"(ps) => ps.some(p => {cells}.every(c => p.annotations.some(a => a.startsWith(c + ': test'))))"
                   f" && ps.every(p => !p.annotations.some(a => /hidden 300|lr 0.01/.test(a)))",
                   f"small multiples of exactly {SWEEP_CELLS}, finished")
    axis = text("en", "sweep.axis_images")
    try:
        lab.page.wait_for_function(f"() => ({X_TITLES})().includes({json.dumps(axis)})", timeout=20_000)
    except _timeout_error() as exc:
        raise AssertionError(f"no x axis titled {axis!r}: {lab.page.evaluate(X_TITLES)}") from exc


class _SweepPreset(Choose):
    """Picked first (it fills the choices: the batch-size question varies batch size); the choices set next make it
    "Your own sweep", which it must stay."""

    def set(self, lab: Lab) -> None:
        super().set(lab)
        _expect()(Choose(text("en", "sweep.x"), text("en", "sweep.var_batch_size")).box(lab)).to_have_value(
            text("en", "sweep.var_batch_size"))

    def check(self, lab: Lab) -> None:
        _expect()(self.box(lab)).to_have_value(text("en", "sweep.preset_custom"))


LANDSCAPE_COST = re.compile(r"^Grid 15 × 15 on 300 images: ")


def _landscape_used(lab: Lab) -> None:
    """The map of run #2 on random directions, a 15 × 15 grid and 300 images: computed when the page shows the
    button (maps are kept for the page's session, not across a reload), then its caption says so."""
    expect, main = _expect(), lab.page.get_by_test_id("stMain")
    expect(lab.caption("Its status")).to_contain_text("finished")
    compute = main.get_by_role("button", name=text("en", "landscape.compute"), exact=True)
    cost = main.get_by_text(LANDSCAPE_COST)
    expect(compute.or_(cost)).to_be_visible()
    if compute.count():
        lab.act(compute.click)
    expect(cost).to_be_visible(timeout=60_000)
    expect(main.get_by_text(re.compile("across two random directions through the end point"))).to_be_visible()


# -- every setting: page, how it is set and shown, how it is used -----------------------------------------------


@dataclass(frozen=True)
class Check:
    page: str
    widget: object  # .set(lab) and .check(lab)
    used: Callable[[Lab], None] | None = None


class _Preset(Choose):
    """Picked first (it fills the fields: Iterations shows its 1,000); the fields set next make it "Custom",
    which it must stay."""

    def set(self, lab: Lab) -> None:
        super().set(lab)
        _expect()(Spin("Iterations", "1000").box(lab)).to_have_value("1000")

    def check(self, lab: Lab) -> None:
        _expect()(self.box(lab)).to_have_value("Custom")


@dataclass(frozen=True)
class _Confusion(Choose):
    """A digit filter of the errors page: the true or predicted digit (``memo`` "errors.true" or "errors.pred") of
    the chosen run's most common confusion, read from its metric ("9 read as 4") when first set. A pair fixed in
    advance may have no images when the core's numbers change (run #2 once read no 4 as 9): this one has some."""

    def set(self, lab: Lab) -> None:
        if self.option not in lab.memo:
            metrics = lab.page.get_by_test_id("stMain").get_by_test_id("stMetric")
            value = metrics.filter(has_text=text("en", "errors.confusion")).get_by_test_id("stMetricValue")
            _expect()(value).to_have_text(re.compile(r"^\d read as \d$"))
            lab.memo["errors.true"], lab.memo["errors.pred"] = re.findall(r"\d", value.inner_text())
        Choose(self.label, lab.memo[self.option]).set(lab)

    def check(self, lab: Lab) -> None:
        Choose(self.label, lab.memo[self.option]).check(lab)


_HIDDEN_UNIT = re.compile(r"^Hidden unit \(1–\d+\)$")


class _GradUnit(Spin):
    """The gradient check's unit starts at the busiest one: pick 7, or 8 if that is where it starts."""

    def set(self, lab: Lab) -> None:
        shown = self.box(lab).input_value()
        lab.memo["grad.unit"] = "8" if shown == "7" else "7"
        box = self.box(lab)
        box.fill(lab.memo["grad.unit"])
        lab.act(lambda: box.press("Enter"))
        self.check(lab)

    def check(self, lab: Lab) -> None:
        _expect()(self.box(lab)).to_have_value(lab.memo["grad.unit"])


#: Grouped by page, in the order the test visits them (lang first, lecture mode last: it folds options away).
CHECKS: dict[str, Check] = {
    "lang": Check("home", Sidebar(_lang_set, _lang_shown), _lang_used),
    # Loss curves
    "curves.runs": Check("loss_curves", Untag(remove=(RUN2,), keep=(RUN1,)), _curves_used),
    "curves.smooth": Check("loss_curves", Keys("Smoothing (exponential moving average)", ("ArrowLeft",) * 5,
                                               f"{SMOOTHING:.2f}"), _curves_used),
    "curves.log": Check("loss_curves", Radio("Y axis", "log"), _curves_used),
    "curves.x": Check("loss_curves", Radio("X axis", "epochs"), _curves_used),
    "curves.view": Check("loss_curves", Radio("Charts", "first 1,000"), _curves_used),
    # Overfitting check
    "overfit.run": Check("overfitting", Choose("Run", RUN1), _overfit_used),
    # Draw a digit
    # these short runs read far worse than the pretrained model, which is the default: the student picks run #1
    "draw.model": Check("draw", Choose("Model", f"Run {RUN1}"), _draw_used),
    # Gradient check
    "grad.model": Check("gradient_check", Choose("Network", FRESH), _grad_used),
    "grad.batch": Check("gradient_check", Keys("Batch size", ("ArrowLeft",), "1"), _grad_used),
    "grad.batch_seed": Check("gradient_check", Spin("Batch seed", "5")),
    "grad.fresh_seed": Check("gradient_check", Spin("Seed of the fresh network", "3")),
    "grad.unit": Check("gradient_check", _GradUnit(_HIDDEN_UNIT, ""), _grad_used),
    # Hidden units
    "units.model": Check("hidden_units", Choose("Network", f"Run {RUN2}"), _units_used),
    "units.scale": Check("hidden_units", Radio("Colour scale", "each unit its own"), _units_used),
    "units.snapshot": Check("hidden_units", Keys("After iteration", ("ArrowRight",), memo="units.snapshot"),
                            _units_used),
    "units.unit": Check("hidden_units", Spin(_HIDDEN_UNIT, "5"), _units_used),
    # Where it errs
    "errors.model": Check("errors", Choose("Network", f"Run {RUN2}"), _errors_used),
    "errors.normalise": Check("errors", Radio("Cells show", "share of each true digit"), _errors_used),
    "errors.order": Check("errors", Radio("Order", "least confident first"), _errors_used),
    "errors.true": Check("errors", _Confusion("True digit", "errors.true"), _errors_used),
    "errors.pred": Check("errors", _Confusion("Predicted digit", "errors.pred"), _errors_used),
    # Compare settings: the question first (it fills the choices), then the choices make it "Your own sweep"
    "sweep.preset": Check("sweeps", _SweepPreset(text("en", "sweep.preset"), text("en", "sweep.preset_batch")),
                          _sweep_used),
    "sweep.x": Check("sweeps", Choose(text("en", "sweep.x"), text("en", "sweep.var_hidden")), _sweep_used),
    "sweep.x_values": Check("sweeps", Values("Values of hidden units", ("300",), ("10", "50")), _sweep_used),
    "sweep.y": Check("sweeps", Choose(text("en", "sweep.y"), text("en", "sweep.var_lr")), _sweep_used),
    "sweep.y_values": Check("sweeps", Values("Values of learning rate", ("0.01",), ("0.1",)), _sweep_used),
    "sweep.iters": Check("sweeps", Spin(text("en", "sweep.iters"), "100"), _sweep_used),
    "sweep.axis": Check("sweeps", _Started(Radio(text("en", "sweep.axis"), text("en", "sweep.axis_images"))),
                        _sweep_used),
    # Where SGD walks
    "landscape.run": Check("landscape", Choose("Run", f"{RUN2}"), _landscape_used),
    "landscape.directions": Check("landscape", Radio(text("en", "landscape.directions"),
                                                     text("en", "landscape.dir_random")), _landscape_used),
    "landscape.grid": Check("landscape", Choose(text("en", "landscape.grid"), "15 × 15"), _landscape_used),
    "landscape.images": Check("landscape", Choose(text("en", "landscape.images"), "300"), _landscape_used),
    # Code, step by step: before Train's settings (the book's numerical loop would make a step take ~20 s); the
    # first set takes the step that shows the widgets
    "step.gradient": Check("code", Stepped("step.tab2", Radio("Gradient shown", "Numerical (fast nn.numgrad)")),
                           _step_gradient_used),
    "step.example": Check("code", Stepped("step.tab2", Spin("Image of the batch", str(STEP_EXAMPLE))),
                          _step_example_used),
    "step.try_lr": Check("code", Stepped("step.tab3", Spin("Try a learning rate", STEP_TRY_LR, "0.500")),
                         _step_try_lr_used),
    # Train (the preset is picked first; the fields then make it "Custom")
    "train.preset": Check("train", _Preset("Preset", "Quick look (1,000 iterations)"), _train_used),
    "train.iters": Check("train", Spin("Iterations", "5000"), _train_used),
    "train.batch": Check("train", Spin("Batch size", "50"), _train_used),
    "train.lr": Check("train", Spin("Learning rate", "0.5", "0.5000"), _train_used),
    "train.hidden": Check("train", Spin("Hidden units", "30"), _train_used),
    "train.std": Check("train", Spin("Init std", "0.02", "0.0200"), _train_used),
    "train.seed": Check("train", Spin("Seed", "7"), _train_used),
    "train.use_all": Check("train", Tick(re.compile(r"^All [\d,]+ images$"), on=False), _train_used),
    "train.train_size": Check("train", Spin("Training images", "1000"), _train_used),
    "train.gradient": Check("train", Radio("Gradient", "Numerical, book's loop (slow!)"), _train_used),
    "train.confirm_slow": Check("train", Tick(re.compile(r"^Yes, train for "), on=True), _train_used),
    "files.download_run": Check("train", Choose("Run to save", RUN1), _download_used),
    # every page: lecture mode, last
    "lecture": Check("home", Sidebar(_lecture_set, _lecture_shown), _lecture_used),
}


def _groups() -> list[tuple[str, list[str]]]:
    """Consecutive settings of the same page, in CHECKS' order."""
    groups: list[tuple[str, list[str]]] = []
    for name, check in CHECKS.items():
        if groups and groups[-1][0] == check.page:
            groups[-1][1].append(name)
        else:
            groups.append((check.page, [name]))
    return groups


def _verify(lab: Lab, names: list[str]) -> None:
    """Every setting in ``names`` still shown, then still used (each distinct check once)."""
    for name in names:
        CHECKS[name].widget.check(lab)
    done = set()
    for name in names:
        used = CHECKS[name].used
        if used is not None and used not in done:
            done.add(used)
            used(lab)


def _open_folded(lab: Lab, key: str) -> None:
    """In lecture mode the Train page's advanced options, the curves' chart options and the sweep's choices are
    folded away."""
    label = {"train": "Advanced options", "loss_curves": "Chart options", "sweeps": text("en", "sweep.choices")}.get(key)
    if lab.lecture and label:
        lab.page.get_by_test_id("stMain").get_by_test_id("stExpander").get_by_text(label, exact=True).click()


@pytest.fixture
def patient_expect():
    """Assertions retry for 20 s (a page's first script run measures the machine's speed), then as before."""
    expect = _expect()
    previous = getattr(expect, "_timeout", None)  # None: Playwright's default (5 s)
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=previous)


def test_every_setting_is_covered():
    assert set(CHECKS) == set(SETTINGS), (
        f"settings without a browser check: {sorted(set(SETTINGS) - set(CHECKS))}; "
        f"checks of no setting: {sorted(set(CHECKS) - set(SETTINGS))}")


def test_every_setting_survives_pages_languages_reloads_and_a_new_tab(browser, app_url, tmp_path, patient_expect):
    expect = _expect()
    assert set(CHECKS) == set(SETTINGS)
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    started = time.monotonic()
    lab = Lab(context.new_page(), app_url, tmp_path)
    try:
        lab.train(RUN1_LINK, RUN1)
        lab.train(RUN2_LINK, RUN2)  # a new session: the token brings run #1 back first
        lab.go("home")
        print(f"\n{time.monotonic() - started:6.1f} s  two runs trained")
        for key, names in _groups():
            if lab.where != key:
                lab.go(key)
            lab.phase = "set"
            for name in names:
                CHECKS[name].widget.set(lab)
            _verify(lab, names)

            lab.phase = "round"
            lab.round(key, switch_language=names != ["lang"])
            _verify(lab, names)
            lab.shot(f"{key}-after-round" + ("-ja" if names == ["lang"] else ""))

            lab.phase = "reload"
            lab.page.reload()
            lab.on(key)
            _verify(lab, names)
            if names == ["lang"]:
                lab.switch_language("en", key)
            print(f"{time.monotonic() - started:6.1f} s  {key}: {', '.join(names)}")

        # the tab closed, a new one opened on Home in the same browser: everything comes back, page by page
        token = lab.token()
        lab.page.close()
        lab.use(context.new_page())
        lab.page.goto(app_url)
        lab.phase = "reopen"
        lab.on("home")
        assert lab.token() == token
        # the first script run draws the defaults; the browser's token reruns the script with the kept session.
        # Wait until that run is drawn before clicking: a click sent in between carries the first run's widget
        # values, which the app takes for the student's changes (lecture mode off again, and so kept)
        _lecture_shown(lab)
        lab.ended()
        for key, names in _groups():
            if names == ["lang"]:
                continue
            if lab.where != key:
                lab.go(key)
            _open_folded(lab, key)
            _verify(lab, names)
        lab.shot("home-reopened-lecture")
        print(f"{time.monotonic() - started:6.1f} s  a new tab: every page checked")
    except BaseException:
        lab.shot_failure()
        raise
    finally:
        context.close()

    # another browser: its own token, the defaults, no runs
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    fresh = Lab(other.new_page(), app_url, tmp_path)
    fresh.shots = lab.shots  # one numbering
    page = fresh.page
    try:
        page.goto(f"{app_url}/train")
        fresh.on("train")
        assert fresh.token() != token
        fresh.ended()
        main = page.get_by_test_id("stMain")
        expect(main.get_by_role("spinbutton", name="Iterations", exact=True)).to_have_value("10000")
        expect(main.get_by_role("spinbutton", name="Learning rate", exact=True)).to_have_value("0.1000")
        expect(main.get_by_role("combobox", name="Preset", exact=True)).to_have_value(SETTINGS["train.preset"].default)
        expect(main.get_by_text("Press Start to train.")).to_be_visible()
        expect(page.get_by_test_id("stSidebar").get_by_role("switch", name="Lecture mode")).not_to_be_checked()
        expect(main.locator("h4")).to_have_count(0)  # no run
        fresh.go("loss_curves")
        expect(main.get_by_text(text("en", "curves.no_runs"))).to_be_visible()
        fresh.go("draw")
        shipped = "|".join(map(re.escape, SHIPPED))
        expect(fresh.caption("Reading with")).to_contain_text(re.compile(rf"^Reading with ({shipped}):"))
        fresh.shot("other-browser-draw")
        print(f"{time.monotonic() - started:6.1f} s  another browser: defaults, no runs")
    except BaseException:
        fresh.shot_failure()
        raise
    finally:
        other.close()
    print("\nscreenshots:", *(str(p) for p in lab.shots), sep="\n  ")
