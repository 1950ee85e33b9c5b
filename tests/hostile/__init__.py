"""The harness of the hostile-input cases (tests/unit/test_hostile_*.py): ``harness.py`` says what is
checked for every request and how to add a case."""
