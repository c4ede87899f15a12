"""Draw a digit and watch the network read it (the canvas, the 28 × 28 input, probabilities, hidden units)."""

from ui import draw

draw.render()
