"""Developer tools, run as modules from the repository root (``.venv/bin/python -m tools.<name>``)."""
