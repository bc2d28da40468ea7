"""Intent classification: MiniLM sentence embeddings plus TF-IDF n-grams into a
logistic regression, with calibrated confidences and out-of-scope detection
(:mod:`nlp.confidence`). Rasa's FallbackClassifier is its ``threshold`` and
``ambiguity_threshold``: a low or ambiguous top intent becomes ``nlu_fallback``; the
project's own out-of-scope threshold (chosen by cross-validation) applies on top."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np

import nlp.lean

nlp.lean.import_sklearn()  # scikit-learn without pandas or torch (see nlp.lean)

from scipy import sparse  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import FeatureUnion  # noqa: E402

from nlp.confidence import (  # noqa: E402
    NEAR_PROJECT,
    ConfidenceModel,
    HeldOut,
    choose_scope_threshold,
    fold_of,
    generic_out_of_scope,
    scope_features,
    spread_ranking,
)
from nlp.intent_serving import (  # noqa: E402
    SERVING_FORMAT,
    Deciding,
    Head,
    file_digest,
    serving_path,
)


class IntentClassifier(Deciding, ClassifierMixin, BaseEstimator):
    """scikit-learn estimator over raw texts (its decisions: :class:`nlp.intent_serving.Deciding`;
    what a server runs: its serving form, :meth:`serving_form`).

    ``encoder`` is anything with ``encode(list[str]) -> ndarray``; it is never pickled, so a
    loaded classifier takes the process-wide :class:`nlp.encoder.SentenceEncoder`.
    """

    def __init__(
        self,
        encoder=None,
        threshold: float = 0.3,
        ambiguity_threshold: float = 0.0,
        C: float = 10.0,
        use_tfidf: bool = True,
        embedding_weight: float = 1.0,
        max_iter: int = 2000,
        calibrate: bool = True,
        folds: int = 5,
        out_of_scope: bool = True,
        out_of_scope_examples: list[str] | None = None,
    ) -> None:
        """``calibrate``: confidences from a model fitted on ``folds``-fold cross-validated
        predictions (and the out-of-scope threshold chosen on them); ``out_of_scope``: add
        Carebot's generic out-of-scope messages (or ``out_of_scope_examples``) to that fit.
        Without ``calibrate`` the confidence is the top softmax probability."""
        self.encoder = encoder
        self.threshold = threshold
        self.ambiguity_threshold = ambiguity_threshold
        self.C = C
        self.use_tfidf = use_tfidf
        self.embedding_weight = embedding_weight
        self.max_iter = max_iter
        self.calibrate = calibrate
        self.folds = folds
        self.out_of_scope = out_of_scope
        self.out_of_scope_examples = out_of_scope_examples

    def _encoder(self):
        if self.encoder is None:
            from nlp.encoder import SentenceEncoder

            self.encoder = SentenceEncoder.shared()
        return self.encoder

    def _features(self, texts: list[str], embeddings: np.ndarray | None, fit: bool):
        if embeddings is None:
            embeddings = self._encoder().encode(list(texts))
        dense = sparse.csr_matrix(embeddings * self.embedding_weight)
        if not self.use_tfidf:
            return dense
        lowered = [t.lower() for t in texts]
        if fit:
            self.tfidf_ = FeatureUnion(
                [
                    ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                    (
                        "char",
                        TfidfVectorizer(
                            analyzer="char_wb",
                            ngram_range=(2, 5),
                            sublinear_tf=True,
                            min_df=2,
                        ),
                    ),
                ]
            ).fit(lowered)
        return sparse.hstack([dense, self.tfidf_.transform(lowered)]).tocsr()

    def fit(self, texts: list[str], intents: list[str], embeddings: np.ndarray | None = None):
        texts = list(texts)
        if embeddings is None:
            embeddings = self._encoder().encode(texts)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        self.model_, self.tfidf_ = self._fit_model(texts, intents, embeddings)
        self.classes_ = self.model_.classes_
        # The examples' embeddings: how near a message is to what the project knows.
        self.reference_ = embeddings.astype(np.float16)
        self.reference_labels_ = np.searchsorted(self.classes_, np.asarray(intents))
        self.confidence_ = None
        self.scope_threshold_ = 0.0
        self.calibration_ = {}
        if self.calibrate:
            self._calibrate(texts, np.asarray(intents), embeddings)
        return self

    def _fit_model(self, texts, intents, embeddings):
        features = self._features(texts, embeddings, fit=True)
        model = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(features, intents)
        return model, getattr(self, "tfidf_", None)

    def _calibrate(self, texts: list[str], intents: np.ndarray, embeddings: np.ndarray) -> None:
        """Cross-validate, then fit the confidence model and choose the scope threshold."""
        oos = self._out_of_scope_texts(embeddings)
        oos_emb = self._encoder().encode(oos) if oos else np.zeros((0, embeddings.shape[1]))
        folds = max(2, min(self.folds, len(texts) // 2))
        fold = fold_of(intents, folds)
        oos_fold = np.arange(len(oos)) % folds
        features = np.zeros((len(texts), 5))
        correct = np.zeros(len(texts), dtype=bool)
        oos_features = np.zeros((len(oos), 5))
        full = (self.model_, self.tfidf_)
        for k in range(folds):
            train, held = fold != k, fold == k
            if not held.any() or len(set(intents[train])) < 2:
                continue
            train_texts = [t for t, keep in zip(texts, train, strict=True) if keep]
            self.model_, self.tfidf_ = self._fit_model(train_texts, intents[train],
                                                       embeddings[train])  # fmt: skip
            classes = self.model_.classes_
            ref, ref_labels = embeddings[train], np.searchsorted(classes, intents[train])
            held_texts = [t for t, keep in zip(texts, held, strict=True) if keep]
            proba = self._raw_proba(held_texts, embeddings[held])
            features[held] = scope_features(proba, embeddings[held], ref, ref_labels)
            correct[held] = classes[proba.argmax(axis=1)] == intents[held]
            mine = oos_fold == k
            if mine.any():
                chosen = [t for t, keep in zip(oos, mine, strict=True) if keep]
                proba = self._raw_proba(chosen, oos_emb[mine])
                oos_features[mine] = scope_features(proba, oos_emb[mine], ref, ref_labels)
        self.model_, self.tfidf_ = full
        if not len(oos) and len(set(correct.tolist())) < 2:
            # Held-out examples all right (or all wrong) and no out-of-scope set: nothing to
            # calibrate against, so the classifier's own probabilities stay.
            self.calibration_ = {"folds": folds, "held_out_accuracy": float(correct.mean())}
            return
        held_out = HeldOut(features, correct, oos_features)
        self.confidence_ = ConfidenceModel().fit(held_out)
        conf_in = self.confidence_.predict(features)
        # (scikit-learn refuses an empty array: a project that opts out has no such rows)
        conf_oos = self.confidence_.predict(oos_features) if len(oos) else np.zeros(0)
        self.scope_threshold_ = choose_scope_threshold(conf_in, correct, conf_oos)
        # Kept for reports (`carebot nlu evaluate`, the training report): held-out evidence.
        self.held_out_ = {"confidence": conf_in, "correct": correct, "oos_confidence": conf_oos}
        self.calibration_ = {
            "folds": folds,
            "held_out_accuracy": round(float(correct.mean()), 4),
            "out_of_scope_examples": len(oos),
            "scope_threshold": self.scope_threshold_,
            "held_out_rejected": round(float((conf_in < self.scope_threshold_).mean()), 4),
            "out_of_scope_rejected": round(float((conf_oos < self.scope_threshold_).mean()), 4)
            if len(oos)
            else None,
        }

    def _out_of_scope_texts(self, embeddings: np.ndarray) -> list[str]:
        """Generic out-of-scope messages, less those close to one of the project's examples."""
        if not self.out_of_scope:
            return []
        texts = list(self.out_of_scope_examples or generic_out_of_scope())
        if not texts:
            return []
        emb = self._encoder().encode(texts)
        nearest = (emb @ embeddings.T).max(axis=1)
        return [t for t, sim in zip(texts, nearest, strict=True) if sim < NEAR_PROJECT]

    def predict_proba(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """The classifier's probabilities over ``classes_`` (the fallback is not a column)."""
        texts = list(texts)
        if embeddings is None:
            embeddings = self._encoder().encode(texts)
        head = self._head()
        if head is not None:
            return head.proba(texts, embeddings)
        return self._raw_proba(texts, embeddings)

    def _head(self) -> Head | None:
        """The fitted model as plain numpy (:class:`nlp.intent_serving.Head`), rebuilt whenever
        the fitted objects change; None where it does not apply (then scikit-learn computes)."""
        model = getattr(self, "model_", None)
        if model is None:
            return None
        tfidf = getattr(self, "tfidf_", None) if self.use_tfidf else None
        confidence = getattr(self, "confidence_", None)
        fitted = (model, tfidf, confidence, getattr(self, "reference_", None))
        cached = self.__dict__.get("_head_cache")
        if (cached is not None and all(a is b for a, b in zip(cached[0], fitted, strict=True))
                and cached[1] == self.embedding_weight):  # fmt: skip
            return cached[2]
        head = build_head(self, model, tfidf, confidence)
        self.__dict__["_head_cache"] = (fitted, self.embedding_weight, head)
        return head

    def _raw_proba(self, texts, embeddings):
        return self.model_.predict_proba(self._features(texts, embeddings, fit=False))

    def scores(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Per-intent confidences: the top intent's is P(it is right) from the confidence
        model; the others are scaled below it. Without calibration: the probabilities."""
        texts = list(texts)
        if embeddings is None:
            embeddings = self._encoder().encode(texts)
        head = self._head()
        if head is not None:  # its confidence model is this one's (None without calibration)
            return head.scores(texts, embeddings, getattr(self, "reference_labels_", None))
        proba = self._raw_proba(texts, embeddings)
        model = getattr(self, "confidence_", None)  # classifiers pickled before calibration
        if model is None or len(proba) == 0:
            return proba
        features = scope_features(proba, embeddings, self.reference_, self.reference_labels_)
        return spread_ranking(proba, model.predict(features))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["encoder"] = None
        state.pop("_head_cache", None)  # rebuilt from the fitted objects after loading
        return state

    def save(self, path: str | Path) -> None:
        """The fitted classifier at ``path`` and, when it has one, its serving form beside it
        (:func:`nlp.intent_serving.serving_path`): what a server loads, without scikit-learn.
        A classifier without one removes a stale serving form."""
        path = Path(path)
        joblib.dump(self, path)
        serving, form = serving_path(path), self.serving_form()
        if form is None:
            serving.unlink(missing_ok=True)
            return
        form["classifier_sha256"] = file_digest(path)  # which classifier it is the form of
        partial = serving.with_name(serving.name + ".partial")
        joblib.dump(form, partial)
        os.replace(partial, serving)

    def serving_form(self) -> dict | None:
        """Plain arrays and dicts for :class:`nlp.intent_serving.ServingIntents`, or None when
        the fitted objects are not of the kind it computes (then serving loads this class)."""
        head = self._head()
        if head is None:
            return None
        return {
            "format": SERVING_FORMAT,
            "classes": [str(c) for c in self.classes_],
            "threshold": float(self.threshold),
            "ambiguity_threshold": float(getattr(self, "ambiguity_threshold", 0.0)),
            "scope_threshold": float(getattr(self, "scope_threshold_", 0.0)),
            "reference_labels": np.asarray(self.reference_labels_),
            "calibration": dict(getattr(self, "calibration_", {}) or {}),
            "head": head.to_dict(),
        }

    @classmethod
    def load(cls, path: str | Path, encoder=None) -> IntentClassifier:
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise TypeError(
                f"{path} does not hold an IntentClassifier; retrain with `carebot train`"
            )
        model.encoder = encoder
        return model


# TfidfVectorizer settings the serving analyzers (nlp.intent_serving.make_analyzer) reproduce
_ANALYZER_DEFAULTS = {"lowercase": True, "strip_accents": None, "preprocessor": None,
                      "tokenizer": None, "stop_words": None, "input": "content",
                      "decode_error": "strict"}  # fmt: skip


def build_head(clf, model, tfidf, confidence) -> Head | None:
    """The fitted classifier evaluated with numpy alone, for serving.

    scikit-learn's ``FeatureUnion.transform`` + ``LogisticRegression.predict_proba`` (and the
    confidence model's scaler + logistic regression) validate their inputs and build sparse
    matrices on every call: some 5 ms of a 1-message parse whose arithmetic takes a tenth of
    that. The head computes the same numbers (the same n-grams, vocabularies and idf weights,
    sublinear tf, l2 norm, the same coefficients; summed in another order, so equal to
    ~1e-12), checked against scikit-learn in tests/nlp/test_nlu_fast_head.py. Anything it
    does not reproduce leaves the computing to scikit-learn (None)."""
    if not isinstance(model, LogisticRegression):
        return None
    if getattr(model, "multi_class", "auto") not in ("auto", "multinomial", "deprecated"):
        return None  # one-vs-rest probabilities: left to scikit-learn
    coef = np.asarray(model.coef_, dtype=np.float64)
    parts, offset = [], 0
    if tfidf is not None:
        if not isinstance(tfidf, FeatureUnion) or tfidf.transformer_weights:
            return None
        for _, vec in tfidf.transformer_list:
            if not isinstance(vec, TfidfVectorizer) or vec.norm not in ("l2", None):
                return None
            if not vec.use_idf or vec.binary or vec.dtype is not np.float64:
                return None
            if vec.analyzer not in ("word", "char_wb") or any(
                getattr(vec, k) != v for k, v in _ANALYZER_DEFAULTS.items()
            ):
                return None
            parts.append({"kind": vec.analyzer, "ngram_range": tuple(vec.ngram_range),
                          "token_pattern": vec.token_pattern,
                          "vocabulary": {str(k): int(j) for k, j in vec.vocabulary_.items()},
                          "idf": np.asarray(vec.idf_, dtype=np.float64),
                          "sublinear": bool(vec.sublinear_tf),
                          "l2": vec.norm == "l2"})  # fmt: skip
            offset += len(vec.vocabulary_)
    dims = coef.shape[1] - offset
    if dims <= 0:
        return None
    start = dims
    for part in parts:
        width = len(part["vocabulary"])
        part["coef_t"] = np.ascontiguousarray(coef[:, start : start + width].T)
        start += width
    conf = None
    if confidence is not None:
        conf = _confidence_params(confidence)
        if conf is None:
            return None
    reference = getattr(clf, "reference_", None)
    ref32 = None if reference is None else np.asarray(reference, dtype=np.float32)
    return Head(float(clf.embedding_weight), np.ascontiguousarray(coef[:, :dims].T), parts,
                np.asarray(model.intercept_, dtype=np.float64), len(model.classes_) <= 2,
                ref32, conf)  # fmt: skip


def _confidence_params(confidence: ConfidenceModel):
    """(mean, scale, coef, intercept) of a ConfidenceModel's StandardScaler + binary logistic
    regression, or None for any other shape."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    model = getattr(confidence, "model_", None)
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    scaler, lr = model.steps[0][1], model.steps[1][1]
    if not isinstance(scaler, StandardScaler) or not isinstance(lr, LogisticRegression):
        return None
    if len(lr.classes_) != 2 or list(lr.classes_) != [0, 1]:
        return None
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None
    return mean, scale, np.asarray(lr.coef_, np.float64).ravel(), float(lr.intercept_[0])
