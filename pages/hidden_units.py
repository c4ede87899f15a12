"""What the hidden units learned: the columns of W1 as 28 × 28 images, and how they formed during training."""

from ui import inside

inside.hidden_units_page()
