"""`ucgen --help` and every subcommand's --help: exit 0, every option documented."""

import argparse

import pytest

from ucgen.cli.main import build_parser, main


def subcommands(parser, prefix=()):
    """(argv prefix, parser) of the top level and every (nested) subcommand."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subcommands(sub, (*prefix, name))


COMMANDS = list(subcommands(build_parser()))


def test_every_command_is_listed():
    names = {p[0] for p, _ in COMMANDS if p}
    assert {"train", "sample", "traverse", "flip", "vary", "cluster", "report", "demo"} <= names
    assert {"eval", "data"} <= names


@pytest.mark.parametrize(
    "prefix, parser", COMMANDS, ids=[" ".join(p) or "ucgen" for p, _ in COMMANDS]
)
def test_help_lists_every_option_with_help(prefix, parser, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*prefix, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"{' '.join(prefix)} {action.option_strings or action.dest}: no help"
        for option in action.option_strings:
            assert option in text
