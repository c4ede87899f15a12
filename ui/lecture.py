"""Lecture mode (a presentation switch) and the "Reproduce the slide" buttons of §4.5.

Lecture mode, toggled in the sidebar (the setting ``lecture``): larger type (``STYLE``, injected once per run by
the sidebar), taller charts with bigger fonts (the figure builders' ``lecture`` parameter), and the Train page's
advanced options folded into a collapsed expander.

The slides of §4.5 (``/work/shared/seed``'s lecture slides) show three figures; ``slide_buttons`` reproduces
each in one click: it shows the session's run with the book's settings (finished or still training), or starts
it, and opens the page with the view set as on the slide.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import state
from ui.i18n import t

#: Larger type for a projector: Streamlit sizes its text in rem, so a larger root font scales labels, captions,
#: widgets and the sidebar together; headings get a little extra.
STYLE = """<style>
html { font-size: 21px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 2rem 2.5rem 4rem 2.5rem; }
[data-testid="stNumberInputField"], [data-baseweb="select"] div, [data-testid="stTextInputRootElement"] input {
  font-size: 1rem;
}
</style>"""


def apply_style() -> None:
    """Inject the lecture-mode style when the mode is on (call once per run, after the sidebar's toggle)."""
    if state.lecture_mode():
        st.html(STYLE)


@dataclass(frozen=True)
class Slide:
    name: str  # the button's key suffix and the label's i18n key: lecture.slide_<name>
    page: str  # the page that shows it
    curves_view: str | None = None  # the loss-curves chart it shows ("whole" or "first"), if any

    @property
    def key(self) -> str:
        return state.KEY_SLIDE + self.name


SLIDES = (
    Slide("loss_10000", "pages/loss_curves.py", curves_view="whole"),
    Slide("loss_1000", "pages/loss_curves.py", curves_view="first"),
    Slide("accuracy", "pages/overfitting.py"),
)


def book_job():
    """The newest run of this session with the book's settings that is training, waiting or finished."""
    from ui import training_view as tv

    book = tv.PRESETS[tv.BOOK]
    return next((j for j in reversed(state.jobs())
                 if j.config == book and j.run.status in ("pending", "running", "finished")), None)


def prepare(slide: Slide) -> None:
    """Button callback: make sure the book's run exists and set the slide's page to show it as the slide does."""
    from ui import compare_view as cv, training_view as tv

    job = book_job()
    if job is None:
        job = tv.start_run(tv.PRESETS[tv.BOOK])
        if job is None:  # a server limit refused it (the Train page says which: ui.limits)
            return
        st.toast(t("lecture.slide_started"))
    if slide.curves_view is not None:
        state.update({"curves.runs": [job.id], "curves.x": "iterations", "curves.log": "linear",
                      "curves.smooth": 0.0,  # the slides plot the raw loss
                      "curves.view": slide.curves_view})
    else:
        cv.focus_run(job.id)


def slide_buttons() -> None:
    """The three one-click slide buttons, each labelled with what it shows (one under the other: a label in
    a third of the page was cut off at lecture size)."""
    st.subheader(t("lecture.slides_title"))
    st.caption(t("lecture.slides_caption"))
    for slide in SLIDES:
        if st.button(t(f"lecture.slide_{slide.name}"), key=slide.key, help=t(f"lecture.slide_{slide.name}_help"),
                         on_click=prepare, args=(slide,), width="stretch", icon=":material/slideshow:"):
            st.switch_page(slide.page)
