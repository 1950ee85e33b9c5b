"""Use cases: each orchestrates domain rules and ports; ports are keyword arguments."""
