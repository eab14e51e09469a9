"""flowvault.errors: the one-line name of a failure."""

from flowvault.errors import first_line


def test_first_line_names_an_error_by_its_message_or_its_type():
    assert first_line(ValueError("bad value\nmore detail")) == "bad value"
    assert first_line(KeyError()) == "KeyError"
