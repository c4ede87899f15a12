"""Where SGD walks: the loss around a run's path through weight space, and the full-batch path beside it."""

from ui import landscape_view

landscape_view.landscape_page()
