"""Keeping a serving process lean: libraries that import heavy optional packages merely
because they are installed (spaCy's thinc imports torch; scikit-learn imports pandas, which
imports pyarrow) are imported here with those packages hidden, so that a server holds only
what it runs. Whatever imports them later (training, reports) gets them as usual.

A server runs no scikit-learn or SciPy at all (the intent classifier's serving form,
:mod:`nlp.intent_serving`; the recommender's own arrays); where scikit-learn is imported
(training, models saved without a serving form), :func:`import_sklearn` imports it first,
without pandas or torch."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator


@contextlib.contextmanager
def hidden(*names: str) -> Iterator[None]:
    """While inside, ``import name`` raises ImportError for each of ``names`` that is not
    imported yet (a ``None`` entry in sys.modules); afterwards they import normally."""
    hide = [n for n in names if n not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hide:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_sklearn() -> None:
    """Import scikit-learn without pandas: sklearn.utils.fixes imports pandas when installed
    (some 100 MB with pyarrow) for a helper Carebot's serving never calls; the estimators a
    server runs take numpy and scipy arrays. Also without torch (sklearn's array-API support
    probes for it)."""
    if "sklearn" in sys.modules:
        return
    with hidden("pandas", "torch"):
        import sklearn.base  # noqa: F401
        import sklearn.utils.fixes  # noqa: F401


def release_freed_memory() -> None:
    """Hand the heap freed while loading models (ONNX Runtime parses the whole graph file
    before it builds its weights) back to the system: glibc keeps it otherwise. No-op
    elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def import_rasa_sdk() -> None:
    """Import rasa-sdk without Sanic. ``rasa_sdk/__init__`` imports ``rasa_sdk.plugin``, which
    imports Sanic (~8 MB with its dependencies) only to annotate a hook of rasa-sdk's own action
    server (``rasa_sdk.endpoint``); Carebot runs a project's actions in process through
    ``rasa_sdk.executor`` and never starts that server. While rasa-sdk is first imported,
    ``sanic`` is a stand-in holding a ``Sanic`` class; afterwards ``import sanic`` (the action
    server, ``rasa_sdk.endpoint``) imports the real one."""
    if "rasa_sdk" in sys.modules or "sanic" in sys.modules:
        import rasa_sdk  # noqa: F401
        return
    stand_in = types.ModuleType("sanic")
    stand_in.Sanic = type("Sanic", (), {"__doc__": "stand-in: rasa_sdk.plugin's annotation"})
    sys.modules["sanic"] = stand_in
    try:
        import rasa_sdk  # noqa: F401
    finally:
        if sys.modules.get("sanic") is stand_in:
            del sys.modules["sanic"]
