"""Command line: ``python -m nn train`` reproduces §4.5 in the terminal, ``python -m nn download`` fills the cache,
``python -m nn prepare`` makes sure everything is in place to run offline (before class).

The training loop never prints; this module does, from the loop's callback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from nn.blas import limit_blas_threads
from nn.options import OPTIONS, Option
from nn.train import Run, TrainConfig, start_note, train

PROG = "python -m nn"


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit status 2), not a usage dump."""

    def error(self, message: str):  # noqa: D102 - argparse hook
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _option_type(option: Option):
    """argparse's ``type`` for a training option: the text read as a whole number (``1,000`` and ``1_000`` too) or a
    number, or ``all`` for an option that may be None, then ``Option.check``-ed against what the option allows."""

    def read(text: str):
        if option.optional and text.strip().lower() == "all":
            return None
        expected = "a whole number" if option.kind is int else "a number"
        if not text.strip():
            raise argparse.ArgumentTypeError(f"is empty: expected {expected} in {option.span()}")
        digits = text.strip().replace("_", "").replace(",", "")
        try:
            value = int(digits) if option.kind is int else float(text)
        except ValueError:
            if digits.lstrip("+-").isdecimal():  # more digits than Python converts (4,300): far beyond any range
                raise argparse.ArgumentTypeError(f"must be in {option.span()}, got {_shown(text)}") from None
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)!r}") from None
        try:
            return option.check(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be in {option.span()}, got {_shown(text)}") from None

    read.__name__ = option.name  # argparse names a failing type by it
    return read


def _shown(text: str, most: int = 40) -> str:
    """An argument as an error line repeats it: at most ``most`` characters (a pasted 10,000-digit number is not
    echoed whole)."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _train_options(parser: argparse.ArgumentParser) -> None:
    """``--iters``, ``--batch-size``...: one flag per training option of ``nn.options``, with its default and help."""
    for option in OPTIONS.values():
        shown = "" if option.default is None else " (default %(default)s)"  # train_size's help says "default: all"
        if option.kind is str:
            parser.add_argument(option.cli, choices=option.choices, default=option.default, help=option.help + shown)
        else:
            parser.add_argument(option.cli, type=_option_type(option), default=option.default, help=option.help + shown)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="SGD Lab's NumPy core: train the two-layer network of Deep Learning from Scratch §4.5 on MNIST.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    t = commands.add_parser(
        "train",
        help="train TwoLayerNet with mini-batch SGD and print train/test accuracy once per epoch",
        description="Mini-batch SGD as in §4.5: draw a random mini-batch, compute the gradient, step against it. "
        "Prints the book's line 'train acc, test acc | ...' once per epoch and a summary at the end.",
    )
    _train_options(t)
    _data_arguments(t)
    t.add_argument("--save", metavar="FILE", help="save the trained model (.npz: weights, config, history)")
    t.add_argument("--quiet", action="store_true", help="print only the final summary")

    d = commands.add_parser(
        "download",
        help="download full MNIST into the cache, e.g. before a lecture without wifi",
        description="Download the four MNIST files from the public mirrors, verify their SHA-256 and store them in "
        "the per-user cache, so that later runs (and the app) work offline.",
    )
    d.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $SGDLAB_CACHE_DIR or ~/.cache/sgdlab)")
    d.add_argument("--force", action="store_true", help="download again even when the cache is valid")
    d.add_argument("--timeout", type=_positive_float, default=30.0, help="seconds before a stalled mirror is given up (default %(default)s)")
    _download_limits(d)

    p = commands.add_parser(
        "prepare",
        help="before class: make sure full MNIST and the pretrained model are in place, so nothing is downloaded "
        "in the room",
        description="Put full MNIST into the cache (the --data-dir or $MNIST_DIR files, SHA-256 checked, else "
        "downloaded and verified if the cache is missing) and check the pretrained model; print whether SGD Lab is "
        "ready to run "
        "offline. Exit status 0 when it is, 2 when something is missing (one line each on stderr).",
    )
    p.add_argument("--data-dir", metavar="DIR", help="directory with the four MNIST IDX files; default $MNIST_DIR")
    p.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $SGDLAB_CACHE_DIR or ~/.cache/sgdlab)")
    p.add_argument("--timeout", type=_positive_float, default=30.0, help="seconds before a stalled mirror is given up (default %(default)s)")
    _download_limits(p)
    p.add_argument("--offline", action="store_true", help="never download (also: SGDLAB_OFFLINE=1): only say what is missing")
    return parser


def _download_limits(parser: argparse.ArgumentParser) -> None:
    from nn.mnist import DEFAULT_DEADLINE, MIN_RATE, RATE_WINDOW

    parser.add_argument("--deadline", type=_positive_float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                        help="seconds the whole download may take (default %(default)g)")
    parser.add_argument("--min-rate", type=_positive_float, default=MIN_RATE / 1000, metavar="KB_PER_S",
                        help=f"a mirror sending less, over {RATE_WINDOW:g} s, is given up (kB/s; default %(default)g)")


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", help="directory with the four MNIST IDX files (.gz or raw); default $MNIST_DIR")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: $SGDLAB_CACHE_DIR or ~/.cache/sgdlab)")
    parser.add_argument("--offline", action="store_true", help="never download: use the directory, the cache or the embedded sample")


class _DownloadProgress:
    """Prints download progress to stderr, one line per file (rewritten in place on a terminal)."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream, self.current = stream, None

    def __call__(self, done: int, total: int | None, name: str) -> None:  # total: None when the server sends no length
        tty = self.stream.isatty()
        if name != self.current:
            if self.current is not None and tty:
                self.stream.write("\n")
            self.current = name
            if not tty:
                size = f"{total / 1e6:.1f} MB" if total is not None else "size not announced"
                self.stream.write(f"downloading {name} ({size})\n")
        if tty:
            if total:
                line = f"{done / 1e6:5.1f} of {total / 1e6:.1f} MB ({100 * done / total:3.0f}%)"
            else:
                line = f"{done / 1e6:5.1f} MB"
            self.stream.write(f"\rdownloading {name}: {line}")
        self.stream.flush()


def _epoch_printer(quiet: bool):
    def on_event(run: Run, event: str) -> None:
        if event == "epoch" and not quiet:
            record = run.epochs[-1]
            if not record.final:
                print(f"train acc, test acc | {record.train_acc:.4f}, {record.test_acc:.4f}", flush=True)

    return on_event


def summary(run: Run) -> str:
    """The closing lines of a run: how it ended, its final accuracies, time and speed."""
    last = run.last
    head = {
        "finished": f"finished {run.iterations_done:,} iterations",
        "stopped": f"stopped after {run.iterations_done:,} of {run.config.iters:,} iterations",
        "diverged": run.reason,
    }.get(run.status, run.reason or run.status)
    lines = [f"{head} in {run.elapsed_s:.1f} s ({run.iterations_per_second:,.0f} it/s; "
             f"{run.eval_s:.1f} s of it measuring accuracy {len(run.epochs)} times)"]
    if last is not None:
        lines.append(
            f"final: train acc {last.train_acc:.4f}, test acc {last.test_acc:.4f} "
            f"(after {last.iteration:,} iterations, {run.n_train:,} training images)"
        )
    finite = run.losses[: run.iterations_done]
    if len(finite):
        lines.append(f"loss: {finite[0]:.4f} at the first iteration, {finite[-1]:.4f} at the last")
    note = start_note(run)  # initial weights too large: say so, whether or not the run was called diverged
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _load(args):
    from nn.mnist import MnistError, default_mirrors, load_dataset

    try:
        data = load_dataset(
            data_dir=args.data_dir, cache_dir=args.cache_dir, mirrors=default_mirrors(),
            allow_download=not args.offline, progress=_DownloadProgress(),
        )
    except (MnistError, OSError) as exc:  # a bad --data-dir / MNIST_DIR: one line, exit 2 like a bad argument
        print(f"{PROG} train: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if data.damaged_cache is not None:  # never a silent fall back to the sample
        print(f"{PROG} train: warning: {data.damaged_cache.sentence()}", file=sys.stderr)
    return data


def cmd_train(args) -> int:
    config = TrainConfig(**{name: getattr(args, name) for name in OPTIONS})
    problems = config.errors()
    if problems:
        print(f"{PROG} train: error: {'; '.join(problems)}", file=sys.stderr)
        return 2
    dataset = _load(args)
    print(f"data: {dataset.describe()}")
    print(f"config: {config.label()} · hidden {config.hidden} · {config.gradient} · {config.dtype}", flush=True)

    limit_blas_threads(1)  # the app's runner trains the same way: see nn/blas.py
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C stops between iterations, keeps the run
    try:
        run = train(config, dataset.as_tuple(), callback=_epoch_printer(args.quiet), should_stop=stop.is_set,
                    data_source=dataset.describe())
    finally:
        signal.signal(signal.SIGINT, previous)
    print(summary(run))
    if args.save:
        from nn.model_file import ModelFileError, save_run

        try:
            save_run(run, args.save)
        except (ModelFileError, OSError) as exc:
            print(f"{PROG} train: error: could not save {args.save}: {exc}", file=sys.stderr)
            return 1
        print(f"saved: {args.save}")
    return {"finished": 0, "stopped": 130, "diverged": 1}.get(run.status, 1)


def cmd_download(args) -> int:
    from nn.mnist import MnistError, default_mirrors, download_mnist

    try:
        path = download_mnist(
            cache_dir=args.cache_dir, mirrors=default_mirrors(), progress=_DownloadProgress(), timeout=args.timeout,
            force=args.force, deadline=args.deadline, min_rate=args.min_rate * 1000,
        )
    except (MnistError, OSError) as exc:
        print(f"\n{PROG} download: error: {exc}", file=sys.stderr)
        return 1
    print(f"\nMNIST is in the cache: {path}\nSGD Lab will now train on full MNIST without a network.")
    return 0


_PREPARED = {"mnist": "MNIST", "pretrained": "pretrained model"}


def cmd_prepare(args) -> int:
    from nn.mnist import default_mirrors
    from nn.prepare import prepare

    offline = os.environ.get("SGDLAB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    checks = prepare(args.data_dir, args.cache_dir, mirrors=default_mirrors(), progress=_DownloadProgress(),
                     timeout=args.timeout, deadline=args.deadline, min_rate=args.min_rate * 1000,
                     allow_download=not (offline or getattr(args, "offline", False)))
    for check in checks:
        if check.ok:
            print(f"{_PREPARED[check.what]}: ready: {check.detail}")
        else:
            print(f"{PROG} prepare: error: {_PREPARED[check.what]}: {check.detail}", file=sys.stderr)
    if all(check.ok for check in checks):
        print("Ready to run offline: SGD Lab will download nothing in the room.")
        return 0
    print("Not ready to run offline: fix the line(s) above and run `python -m nn prepare` again.", file=sys.stderr)
    return 2


def _cache_dir_error(args) -> str | None:
    """One line when the cache directory the command would use is a file (or under one), else None."""
    from nn.mnist import cache_dir_problem

    if args.command == "train" and (args.data_dir or os.environ.get("MNIST_DIR")):
        return None  # the cache is not used
    problem = cache_dir_problem(args.cache_dir)
    if problem is None:
        return None
    given = "argument --cache-dir" if args.cache_dir else "SGDLAB_CACHE_DIR" if os.environ.get("SGDLAB_CACHE_DIR") \
        else "the cache directory"
    return f"{PROG} {args.command}: error: {given}: {problem}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = _cache_dir_error(args)
    if problem:  # before anything is read or downloaded: one line, exit 2 like a bad argument
        print(problem, file=sys.stderr)
        return 2
    return {"train": cmd_train, "download": cmd_download, "prepare": cmd_prepare}[args.command](args)
