"""The musforms command line: click commands only.

Each command parses its options, makes one library call, and echoes. Library errors
(MusformsError) become one ``Error: …`` line and exit 1; usage mistakes are click's (exit 2).
Heavy libraries are imported inside the commands so ``musforms --help`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from musforms import __version__
from musforms.errors import MusformsError

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn a MusformsError into ``Error: …`` and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MusformsError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="musforms")
def cli() -> None:
    """Prepare, collect and follow up MUS (medarbejderudviklingssamtale) forms.

    \b
    A yearly round:
      musforms init mus2026                      # a question set, roster template, how-to
      musforms check mus2026/config/questions.yaml
      musforms generate --questions mus2026/config/questions.yaml \\
                        --roster roster.csv --out forms/2026 --cycle 2026
      musforms collect returned/ --forms forms/2026 --out results/2026
    """


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="musforms")
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
        sys.exit(130)
