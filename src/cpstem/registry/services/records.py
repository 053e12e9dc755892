"""Validated writes (kept names; the write path itself is :mod:`.write`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from cpstem.registry.services.derived import attach_gmfm66, item_map
from cpstem.registry.services.write import save as save_validated

__all__ = ["attach_gmfm66", "item_map", "model_errors", "save_validated"]


def model_errors(exc: ValidationError) -> dict[str, Any]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
