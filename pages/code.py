"""Code, step by step: the §4.5 listing as the project's own source, and one SGD step at a time (ui.step_view)."""

from ui import step_view

step_view.page()
