"""core.config.StrictConfig: pydantic's multi-line report becomes one line of the subclass's error type."""

import pytest
from pydantic import Field

from neurosafe.core.config import StrictConfig
from neurosafe.core.errors import DataValidationError


class _Planted(StrictConfig):
    error = DataValidationError
    rate: float = Field(1.0, gt=0)


def test_one_line_error_names_each_field_and_unknown_keys():
    with pytest.raises(DataValidationError) as info:
        _Planted(rate=-1, colour="red")
    message = str(info.value)
    assert "\n" not in message and "rate:" in message and "colour: unknown option" in message
    assert _Planted(rate=2).rate == 2.0
    with pytest.raises(Exception, match="frozen"):
        _Planted().rate = 3.0  # type: ignore[misc]
