"""Pure rules of Vigil: standard library only, no I/O, no clock reads (``now`` is passed in)."""
