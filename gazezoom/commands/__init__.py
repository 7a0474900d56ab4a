"""The ``gazezoom`` sub-commands, one module per command (``commands/<name>.py``; ``bench/`` holds the benchmarks).

Each defines ``add_arguments(parser)`` and ``run(args) -> int`` and is registered in :data:`gazezoom.cli.COMMANDS`,
which imports only the command that runs. Commands wire stages through :mod:`gazezoom.build`, read and write files
through :mod:`gazezoom.io`, and share argument groups from :mod:`gazezoom.cliargs`. Nothing below this layer imports it.
"""
