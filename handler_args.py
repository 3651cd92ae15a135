"""Whether arguments fit a workflow handler's function (for the signal guard in
workflows/interceptors.py; outside the workflow modules, which import only through the
sandbox)."""

from __future__ import annotations

import inspect
from typing import Any


def arguments_fit(function: Any, args: Any) -> bool:
    """True when *function* (a handler as defined on its class: unbound, with `self`) can be
    called with *args*; True as well when it has no signature to check."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    params = list(signature.parameters.values())
    if params and params[0].name == "self" and not inspect.ismethod(function):
        args = [None, *args]
    try:
        signature.bind(*args)
    except TypeError:
        return False
    return True
