"""Compare settings: sweep one or two training options over a few values and compare the runs side by side."""

from ui import sweep_view

sweep_view.page()
