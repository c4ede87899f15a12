"""What nn/ says to people, each sentence with a code: ``Message("stopped_after", done=25, total=1000)``.

A ``Message`` is a ``str`` whose text is the English sentence ("stopped after 25 of 1,000 iterations"), so the
command line prints it, tests compare it and a model file stores it as any other text. It also carries
``code`` (the name of the sentence) and ``params`` (its values), so that the app says it in another language
from the code (``ui.i18n.translate_core``: ``core.<code>`` in its locale files) and never by reading the English
back: rewording a sentence here changes the English only.

The English sentences are ``ENGLISH`` below, one per code, grouped by who says them. A value may be a
``Message`` itself (the error inside "training failed: {error}"): it is translated in turn. A parameter
called ``name`` is always a training option's name (``nn.options``), which the app shows in its own words.

An exception raised with a ``Message`` keeps it: ``str(error)`` of a ``MessageError`` is the ``Message``.

Pure Python: no NumPy, no UI.
"""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    # -- nn.options, TrainConfig.errors(): a training option that is not allowed -----------------------------------
    "option_choice": "{name} must be one of {choices}, got {value!r}",
    "option_number": "{name} must be a number in {allowed}, got {value!r}",
    "option_whole": "{name} must be a whole number in {allowed}, got {value!r}",
    "option_range": "{name} must be in {allowed}, got {value!r}",
    "span_or_all": "all | {span}",  # what train_size may be: every image, or 1 – 60,000 of them
    "problems": "{first}; {rest}",  # several of the above at once (nn.options.all_problems)
    # -- nn.train, and the app's runner (ui/runner.py, ui/forked.py): why a run ended early (Run.reason) -----------
    "stopped_after": "stopped after {done:,} of {total:,} iterations",
    "stopped_during": "stopped during iteration {done:,} of {total:,} (numerical gradient)",
    "diverged": "loss diverged at iteration {iteration:,} ({loss}): learning rate too high?",
    "diverged_mean": "loss diverged at iteration {iteration:,} (mean of the last {window} iterations {mean:.1f}, "
                     "while guessing scores {guess:.2f}): learning rate too high?",
    # ... when the initial weights alone scored far worse than guessing (nn.train.SATURATED_START): name them too
    "diverged_std": "loss diverged at iteration {iteration:,} ({loss}): learning rate too high, or initial weights "
                    "too large ({name} {std:g})?",
    "diverged_mean_std": "loss diverged at iteration {iteration:,} (mean of the last {window} iterations {mean:.1f}; "
                         "the initial weights scored {start:.2f}, guessing {guess:.2f}): learning rate too high, or "
                         "initial weights too large ({name} {std:g})?",
    # a run that started that way, whatever its end (nn.train.start_note; the command line prints it)
    "saturated_start": "initial weights too large ({name} {std:g}; the book's is {book:g}): the loss started at "
                       "{start:.2f}, far above the {guess:.2f} of guessing, with the sigmoid units saturated, which "
                       "slows learning",
    "failed": "training failed: {error}",
    "stopped_waiting": "stopped while waiting for its turn",
    "process_died": "the training process ended unexpectedly (exit status {status})",
    # -- nn.mnist: where the data came from (MnistData.describe()), and a directory the app could not use --------
    "data_full": "full MNIST ({n_train:,} + {n_test:,} images) from {where}",
    "data_full_downloaded": "full MNIST ({n_train:,} + {n_test:,} images) downloaded from {where}",
    "data_other": "MNIST-format data ({n_train:,} + {n_test:,} images) from {where}",
    "data_other_downloaded": "MNIST-format data ({n_train:,} + {n_test:,} images) downloaded from {where}",
    "data_sample": "offline sample ({n_train:,} + {n_test:,} images, class-balanced, about 10% of MNIST) shipped "
                   "with SGD Lab",
    "mnist_dir_unusable": "MNIST_DIR could not be used: {error}",
    # -- nn.model_file: what is wrong with a model file (ModelFileError) ---------------------------------------------
    "file_empty": "the file is empty",
    "not_zip": "not an .npz model file (it is not a zip archive)",
    "damaged_zip": "damaged zip archive: {error}",
    "too_large": "the file is too large: {size:,} bytes (limit {limit:,} bytes, {mb} MB)",
    "unpacks_too_large": "its contents unpack to {size:.0f} MB (limit {limit} MB)",
    "cannot_read": "cannot read {path}: {error}",
    "missing_members": "missing {keys} (a model file holds W1, b1, W2, b2 and meta)",
    "unreadable": "unreadable contents: {error}",
    "pickle_refused": "{key} holds Python objects (pickle), which are refused",
    "member_unreadable": "{key} is unreadable: {error}",
    "bad_dtype": "{key} has dtype {dtype}; weights must be float32 or float64",
    "mixed_dtypes": "the weights mix dtypes ({dtypes})",
    "bad_w1_shape": "W1 has shape {shape}; expected ({n_in}, hidden) with 1 ≤ hidden ≤ {most}",
    "bad_shape": "{key} has shape {shape}; expected {expected} for W1 of shape {w1}",
    "non_finite_one": "{key} has {count:,} non-finite value (NaN or infinity)",
    "non_finite_many": "{key} has {count:,} non-finite values (NaN or infinity)",
    "meta_not_text": "meta must be a single text value, got dtype {dtype} and shape {shape}",
    "meta_too_long": "meta is too long ({length:,} characters)",
    "meta_not_json": "meta is not valid JSON: {error}",
    "meta_not_object": "meta must be a JSON object",
    "not_sgdlab": "meta.format is {got!r}, not {want!r}: not an SGD Lab model",
    "meta_version": "meta.version must be a whole number ≥ 1, got {value!r}",
    "newer_format": "made by a newer SGD Lab (format version {version}; this one reads {reads})",
    "meta_sizes": "meta.sizes is {got!r} but the weights are {sizes}",
    "meta_dtype": "meta.dtype is {got!r} but the weights are {dtype}",
    "meta_config_missing": "meta.config is missing or not an object",
    "meta_config_malformed": "meta.config is malformed: {error}",
    "meta_config_problem": "meta.config: {problem}",
    "meta_hidden": "meta.config.hidden is {hidden} but W1 has {units} hidden units",
    "meta_activation": "meta.activation is {got!r}; expected {want!r}",
    "meta_fraction": "meta.{key} must be a number between 0 and 1 (or null), got {value!r}",
    "meta_count": "meta.{key} must be a whole number ≥ 0, got {value!r}",
    "meta_text": "meta.{key} must be text, got {value!r}",
    "meta_status": "meta.status is {got!r}; a saved run is {statuses}",
    "meta_elapsed": "meta.elapsed_s must be a number, got {value!r}",
    "loss_bad": "loss must be a 1-D float array, got dtype {dtype} and shape {shape}",
    "loss_non_finite": "loss has non-finite values (NaN or infinity)",
    "loss_length": "loss has {count:,} values but meta.iterations_done is {done:,}",
    "snapshots_alone": "snapshots and snapshot_iters come together; the file has only one of them",
    "snapshots_bad": "snapshots has dtype {dtype} and shape {shape}; expected float16 (k, {n_in}, {hidden})",
    "snapshot_iters_bad": "snapshot_iters has dtype {dtype} and shape {shape}; expected whole numbers ({count},), "
                          "at most {most}",
    "snapshot_iters_order": "snapshot_iters must increase, between 0 and {done:,} (iterations done)",
    "snapshots_non_finite": "snapshots has non-finite values (NaN or infinity)",
    "epochs_not_list": "meta.epochs must be a list",
    "epoch_fields": "meta.epochs[{index}] must hold the numbers {fields}",
    "epoch_accuracy": "meta.epochs[{index}]: accuracies must lie between 0 and 1",
    "epoch_beyond": "meta.epochs[{index}]: iteration {iteration!r} is beyond iterations_done",
    "meta_too_deep": "meta is nested more than {most} levels deep",
    "meta_long_number": "meta holds a number with {digits:,} digits (at most {most})",
    "meta_count_range": "meta.{key} must be a whole number in 0 – {most:,}, got {value!r}",
    "meta_elapsed_range": "meta.elapsed_s must be between 0 and {most:,} seconds, got {value!r}",
    "model_fault": "the file could not be checked ({error})",
    "pretrained_missing": "{path}: the pretrained model is missing (run scripts/train_pretrained.py)",
    "pretrained_fault": "{path}: {fault}",
}


class Message(str):
    """A sentence for people: the ``str`` is its English, ``code`` names it, ``params`` hold its values.

    ``Message(code, **params)`` formats ``ENGLISH[code]`` with ``params`` (an unknown code is a KeyError, a
    missing value a KeyError too: tests/test_messages.py makes sure neither can happen). It is equal to its
    English text, and pickles with its code (a run's reason comes back from the training process that way).
    """

    code: str
    params: dict

    def __new__(cls, code: str, /, **params) -> "Message":
        message = super().__new__(cls, ENGLISH[code].format(**params))
        message.code, message.params = code, params
        return message

    def __reduce__(self):
        return _restore, (str(self), self.code, self.params)


def _restore(text: str, code: str, params: dict) -> Message:
    """A pickled ``Message`` back, with the English it was made with."""
    message = str.__new__(Message, text)
    message.code, message.params = code, params
    return message


class MessageError(Exception):
    """An exception raised with a ``Message``: ``str(error)`` is that ``Message``, its code and values kept."""

    def __str__(self) -> str:
        if len(self.args) == 1 and isinstance(self.args[0], Message):
            return self.args[0]
        return super().__str__()
