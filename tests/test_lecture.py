"""Lecture mode through AppTest: the toggle folds the advanced training options away (their widgets and values
kept), sizes the charts for a projector, and the three "Reproduce the slide" buttons each land on the right
page with the right view and the book's run."""

import pytest

from ui import figures, lecture, state, training_view as tv
from ui.i18n import messages

from tests.app_helpers import _app, _finish, _open, _short_run, jobs_of, setting_of

pytestmark = pytest.mark.usefixtures("offline", "run_app_py_on_every_rerun")  # both in conftest.py
EN = messages("en")
ADVANCED = (state.KEY_HIDDEN, state.KEY_STD, state.KEY_SEED, state.KEY_USE_ALL, state.KEY_GRADIENT)
KEY_ONES = (state.KEY_PRESET, state.KEY_ITERS, state.KEY_BATCH, state.KEY_LR)


def _nodes(block):
    """``block`` and everything inside it, in page order."""
    yield block
    for child in getattr(block, "children", {}).values():
        yield from _nodes(child)


def _keys_in(block) -> set:
    return {node.key for node in _nodes(block) if getattr(node, "key", None)}


def _types_in(block) -> list:
    """The element types of ``block`` in page order."""
    return [node.type for node in _nodes(block) if getattr(node, "type", None) and not getattr(node, "children", None)]


def _advanced(at) -> list:
    return [e for e in at.expander if e.label == EN["lecture.advanced"]]


def _lecture_on(at):
    at.toggle(key=state.KEY_LECTURE_CONTROL).set_value(True).run()
    assert not at.exception
    return at


def test_lecture_mode_folds_the_advanced_options_and_keeps_their_values():
    at = _open(_app(), "pages/train.py")
    assert not _advanced(at), "nothing folded outside lecture mode"
    at.number_input(key=state.KEY_HIDDEN).set_value(60).run()
    at.number_input(key=state.KEY_SEED).set_value(7).run()
    _lecture_on(at)
    [advanced] = _advanced(at)
    inside = _keys_in(advanced)
    assert set(ADVANCED) <= inside
    assert not set(KEY_ONES) & inside  # preset, iterations, batch size, learning rate stay visible
    assert advanced.proto.expanded is False
    assert at.number_input(key=state.KEY_HIDDEN).value == 60 and at.number_input(key=state.KEY_SEED).value == 7
    assert at.selectbox(key=state.KEY_PRESET).value == tv.CUSTOM
    at.checkbox(key=state.KEY_USE_ALL).uncheck().run()  # the training-subset input appears, folded too
    assert state.KEY_TRAIN_SIZE in _keys_in(_advanced(at)[0])
    _lecture_on(at).toggle(key=state.KEY_LECTURE_CONTROL).set_value(False).run()
    assert not _advanced(at) and at.number_input(key=state.KEY_HIDDEN).value == 60


def test_lecture_mode_injects_larger_type_and_taller_charts():
    at = _open(_app(), "pages/train.py")
    assert not [h for h in at.get("html") if "font-size" in h.proto.body]
    _lecture_on(at)
    assert [h for h in at.get("html") if "html { font-size: 21px; }" in h.proto.body]
    plain = figures.loss_curves_figure([], title="x")
    big = figures.loss_curves_figure([], title="x", lecture=True)
    assert big.layout.height > plain.layout.height and big.layout.font.size > plain.layout.font.size


@pytest.mark.parametrize("slide", lecture.SLIDES, ids=lambda s: s.name)
def test_each_slide_button_lands_on_its_page_with_the_books_run(slide):
    at = _lecture_on(_app())
    assert {s.key for s in lecture.SLIDES} <= {b.key for b in at.button}
    at.button(key=slide.key).click().run()
    assert not at.exception
    jobs = jobs_of(at)
    try:
        assert len(jobs) == 1 and jobs[0].config == tv.PRESETS[tv.BOOK]
        if slide.curves_view is not None:
            assert at.title[0].value == EN["curves.title"]
            assert at.radio(key=state.KEY_CURVES_VIEW).value == slide.curves_view
            assert at.radio(key=state.KEY_CURVES_X).value == "iterations"
            assert at.multiselect(key=state.KEY_CURVES_RUNS).value == [jobs[0].id]
            charts = {c.proto.id for c in at.get("plotly_chart")}
            assert len(charts) == 1  # one chart, full width, as on the slide
            order = _types_in(at.main)  # on a projector the chart comes first, the controls below it
            assert order.index("plotly_chart") < order.index("multiselect"), order
        else:
            assert at.title[0].value == EN["overfit.title"]
            assert setting_of(at, "overfit.run") == jobs[0].id
            order = _types_in(at.main)  # the accuracy chart before the experiment's buttons and the run picker
            assert order.index("plotly_chart") < min(order.index("button"), order.index("selectbox")), order
        # a second click shows the same run rather than starting another
        _open(at, "pages/home.py")
        at.button(key=slide.key).click().run()
        assert len(jobs_of(at)) == 1
    finally:
        for job in jobs:
            job.stop()
            job.join(10)


def test_a_slide_reuses_a_finished_book_run(monkeypatch):
    at = _app()
    book = tv.PRESETS[tv.BOOK]
    monkeypatch.setitem(tv.PRESETS, tv.BOOK, book.replace(iters=120, train_size=500))  # a quick "book" run
    _open(at, "pages/train.py")
    _short_run(at, iters=120, train_size=500)
    _finish(at)
    job = jobs_of(at)[-1]
    assert job.run.status == "finished"
    _open(at, "pages/home.py")
    _lecture_on(at).button(key=lecture.SLIDES[1].key).click().run()
    assert not at.exception
    assert jobs_of(at) == [job]
    assert at.radio(key=state.KEY_CURVES_VIEW).value == "first"
