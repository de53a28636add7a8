"""Sub-commands of ``shaoguan-abm``, one module each.

Every module exposes ``add_parser(subparsers)`` and ``main(args) -> int``;
:mod:`model.commands.cli` lists them in :data:`model.commands.cli.COMMANDS`. Command modules
stay thin: parse, call the API, print.
"""
