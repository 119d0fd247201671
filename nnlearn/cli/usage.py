"""Typer, speaking as nnlearn does. Usage mistakes are answered with the command meant: Typer alone
reports `--epochs 3` as an unknown option and `--set KEY VALUE` as an unexpected extra argument; nnlearn
names the `--set` or option that was meant, as a whole command, in its own error/fix style (exit 2).
And --help shows flags without a `<bool>` value and, piped, without padding at line ends."""

from __future__ import annotations

import typer

from nnlearn.cli.display import make_console, print_error, trimmed
from nnlearn.errors import NnlearnError


def _flags_take_no_value() -> None:
    """Typer's help labels on/off flags `<bool>` as if they took a value; a flag takes none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else shown(self, ctx)


_flags_take_no_value()


def _help_without_padding() -> None:
    """Typer's --help and usage errors, piped or logged, without rich's padding spaces at line ends."""
    from typer import rich_utils

    made = rich_utils._get_rich_console
    rich_utils._get_rich_console = lambda stderr=False: trimmed(made(stderr))


_help_without_padding()


_USAGE_ERROR = typer.BadParameter.__bases__[0]  # click's UsageError, bundled by Typer or from click itself


class Commands(typer.core.TyperGroup):
    """Typer's commands, with a did-you-mean for usage mistakes: an unknown option (a config key given as
    one becomes its --set), `--set KEY VALUE` without its `=`, and `predict RUN_DIR FILE` without
    `--input`. The suggestion is a whole command, printed as nnlearn prints every error (exit 2)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        ctx.meta["arguments"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as error:
            arguments = ctx.meta.get("arguments", [])
            if getattr(error, "option_name", None):  # click's NoSuchOption: an option the command lacks
                problem = _unknown_option(error, arguments)
            elif "unexpected extra argument" in error.message and (suggestion := _did_you_mean(arguments)):
                problem = NnlearnError(suggestion[0], hint=f"did you mean: {suggestion[1]}")
            else:  # a missing argument, a bad value: Typer's words, in nnlearn's error/fix form
                name = _command_name(error)
                said = error.format_message().rstrip(".")
                problem = NnlearnError(said[:1].lower() + said[1:] + ".", hint=f"see: {name} --help")
            errors = make_console(stderr=True)
            if error.ctx is not None:
                errors.print(error.ctx.get_usage(), soft_wrap=True, highlight=False, markup=False)
            print_error(errors, problem)
            raise typer.Exit(2) from None


def _command_name(error) -> str:
    """`nnlearn train`: the command the mistake was made in, named as the user types it."""
    return " ".join(["nnlearn"] + (error.ctx.command_path.split()[1:] if error.ctx is not None else []))


def _unknown_option(error, arguments: list[str]) -> NnlearnError:
    """An option the command does not have: a config key given as an option (`--epochs 3`) becomes the
    --set meant (`--set fit.epochs=3`) where the command takes --set; any other, its close matches."""
    import shlex

    option = error.option_name
    command = error.ctx.command if error.ctx is not None else None
    takes_set = command is not None and any("--set" in getattr(param, "opts", []) for param in command.params)
    paths = _config_keys().get(option.lstrip("-").replace("-", "_"), []) if takes_set else []
    name = _command_name(error)
    words = list(arguments)
    at = next((index for index, word in enumerate(words) if word.split("=")[0] == option), None)
    if paths and at is not None:
        given, equals, value = words[at].partition("=")
        if not equals:
            taken = at + 1 < len(words) and not words[at + 1].startswith("-")
            value = words[at + 1] if taken else "VALUE"
            del words[at + 1:at + 1 + taken]
        meant = [" ".join(["nnlearn"] + [shlex.quote(word) for word in words[:at]] + ["--set",
                                                                                     shlex.quote(f"{path}={value}")]
                          + [shlex.quote(word) for word in words[at + 1:]]) for path in paths]
        return NnlearnError(f"{name} has no option {option}: config values are changed with --set KEY=VALUE.",
                            hint="did you mean: " + "; or ".join(meant))
    from difflib import get_close_matches

    close = get_close_matches(option, sorted(set(getattr(error, "possibilities", None) or [])), 3, 0.7)
    hint = (f"did you mean {' or '.join(close)}? All" if close else "all") + f" the options: {name} --help"
    return NnlearnError(f"{name} has no option {option}.", hint=hint)


def _config_keys() -> dict[str, list[str]]:
    """Each config key's last name -> its full paths in the schema: epochs -> [fit.epochs],
    units -> [model.layers[0].units], optimizer -> [compile.optimizer.type]; and the usual short names
    (lr, bs) -> their keys' paths."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    from nnlearn.config.schema import Config

    keys: dict[str, list[str]] = {}

    def sections(annotation, in_list=False):
        """(section model, inside a list) for each section an annotation may hold."""
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield annotation, in_list
            return
        for inner in get_args(annotation):
            yield from sections(inner, in_list or get_origin(annotation) is list)

    def walk(model, prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = prefix + name
            held = list(sections(field.annotation))
            # a section takes no single value, but one chosen by its type does: --optimizer sgd
            typed = all(not in_list and "type" in section.model_fields for section, in_list in held)
            settable = path if not held else path + ".type" if typed else None
            if settable and settable not in keys.setdefault(name, []):
                keys[name].append(settable)
            for section, in_list in held:
                walk(section, path + ("[0]." if in_list else "."))

    walk(Config, "")
    for short, name in SHORT_NAMES.items():
        keys.setdefault(short, keys.get(name, []))
    return keys


SHORT_NAMES = {"lr": "learning_rate", "bs": "batch_size", "batch": "batch_size"}  # as other tools spell them


def _did_you_mean(arguments: list[str]) -> tuple[str, str] | None:
    """(what is wrong, the command meant) for a command line with one word too many, or None."""
    import shlex

    words = [shlex.quote(word) for word in arguments]
    for index in range(len(arguments) - 2):
        option, key, value = arguments[index:index + 3]
        if option == "--set" and "=" not in key and not value.startswith("-"):
            words[index + 1:index + 3] = [shlex.quote(f"{key}={value}")]
            return "--set takes KEY=VALUE as one word.", "nnlearn " + " ".join(words)
    positional = [index for index, word in enumerate(arguments)
                  if index and not word.startswith("-") and arguments[index - 1] not in _TAKE_A_VALUE]
    given = any(word.split("=")[0] in ("--input", "--row") for word in arguments)
    if arguments[:1] == ["predict"] and len(positional) == 2 and not given:
        extra = arguments[positional[1]]
        option, what = ("--row", "NAME=VALUE") if "=" in extra else ("--input", "FILE")
        words[positional[1]] = f"{option} {words[positional[1]]}"
        return (f"predict takes one RUN_DIR; the rows to predict come with {option} {what}, not as a second "
                f"argument ({extra}).", "nnlearn " + " ".join(words))
    return None


_TAKE_A_VALUE = ("--input", "--row", "--output")  # predict's options that take the next word as their value
