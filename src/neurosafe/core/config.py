"""A pydantic base for configuration models whose validation errors are one line, not pydantic's report."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from neurosafe.core.errors import NeurosafeError

__all__ = ["StrictConfig"]


class StrictConfig(BaseModel):
    """Frozen, unknown keys refused; an invalid value raises ``error`` (a NeurosafeError subclass set by the
    subclass) with one line naming each offending field."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    error: ClassVar[type[NeurosafeError]] = NeurosafeError

    def __init__(self, **values) -> None:
        try:
            super().__init__(**values)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or type(self).__name__}: "
                                 f"{'unknown option' if e['type'] == 'extra_forbidden' else e['msg']}"
                                 for e in err.errors())
            raise self.error(f"invalid {type(self).__name__}: {problems}") from None
