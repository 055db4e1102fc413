"""micrograd's names that fnad spells differently (issue 20): importing them says fnad's."""

from __future__ import annotations

import pytest

import fnad
from fnad.errors import FnadError, RenamedError


@pytest.mark.parametrize(
    ("name", "fnad_name"), [("Value", "from fnad import Node"), ("draw_dot", "fnad.render(z)")]
)
def test_importing_a_micrograd_name_is_an_import_error_naming_fnads(
    name: str, fnad_name: str
) -> None:
    with pytest.raises(ImportError) as caught:
        if name == "Value":
            from fnad import Value  # type: ignore[attr-defined]  # noqa: F401
        else:
            from fnad import draw_dot  # type: ignore[attr-defined]  # noqa: F401
    error = caught.value
    assert isinstance(error, RenamedError) and isinstance(error, FnadError)
    assert str(error).startswith(f"cannot import name {name!r} from 'fnad': micrograd's")
    assert fnad_name in str(error)
    assert error.name == name
    # the fix it names works
    with fnad.Tape():
        x = fnad.Node(2.0, label="x")
        assert (x * x).backward()[x] == 4.0


def test_other_missing_names_stay_attribute_errors() -> None:
    assert not hasattr(fnad, "no_such_name")
    with pytest.raises(ImportError, match="cannot import name 'no_such_name'"):
        from fnad import no_such_name  # type: ignore[attr-defined]  # noqa: F401
