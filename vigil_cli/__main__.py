"""``python -m vigil_cli``: the same as the installed ``vigil`` command."""

from vigil_cli.main import main

main()
