"""The command registry behind `python -m gan_study <command>`.

A module that provides a command registers it beside the code it runs:

    @command("parzen", RUN_ARGS + [arg("--samples", required=True), arg("--out", required=True)])
    def parzen_command(config, args): ...

and `cli.COMMANDS` names the module and the one-line help, so the parser lists every command without importing
any of them (most import torch) and imports only the one that runs. Torch-free.
"""

_REGISTRY = {}


def arg(*names, **options):
    """One argparse argument: `arg("--out", required=True)`."""
    return names, options


RUN_ARGS = [arg("--model", required=True), arg("--dataset", required=True), arg("--seed", required=True, type=int)]


def command(name, arguments=()):
    """Register the decorated `fn(config, args)` as command `name` with its `arguments` (a list of `arg`)."""

    def register(fn):
        _REGISTRY[name] = (list(arguments), fn)
        return fn

    return register


def registered(name):
    """(arguments, function) of a command, once its module is imported."""
    return _REGISTRY[name]
