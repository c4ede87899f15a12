"""Where it errs: confusion matrix, per-digit accuracy and the misclassified test images."""

from ui import inside

inside.errors_page()
