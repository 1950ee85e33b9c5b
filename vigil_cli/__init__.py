"""``vigil``: the administrators' command line for Vigil's HTTP API."""

__version__ = "0.1.0"
