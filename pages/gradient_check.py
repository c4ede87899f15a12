"""Gradient check: backpropagation against the numerical gradient, with timings and a heat map."""

from ui import inside

inside.gradient_check_page()
