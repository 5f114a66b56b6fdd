"""lib.versions: the one-line note about an untested torch release."""

import pytest

from lib.versions import torch_note


@pytest.mark.parametrize("version", ["2.13.0", "2.13.1+cpu", "2.14.1+cu126", "2.14.0a0+git1234"])
def test_tested_releases_get_no_note(version):
    assert torch_note(version) is None


@pytest.mark.parametrize("version", ["2.9.0+cu126", "2.12.1", "2.15.0", "3.0.0", "1.13.1"])
def test_other_releases_get_one_line_naming_both(version):
    note = torch_note(version)
    assert note is not None
    assert "\n" not in note
    assert version in note
    assert "2.13 and 2.14" in note


@pytest.mark.parametrize(
    ("bad", "error"), [(2.13, TypeError), (None, TypeError), ("latest", ValueError), ("", ValueError)]
)
def test_bad_input_is_named(bad, error):
    with pytest.raises(error, match="version"):
        torch_note(bad)
