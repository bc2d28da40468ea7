"""Intent classification: MiniLM sentence embeddings plus TF-IDF n-grams into a
logistic regression, with calibrated confidences and out-of-scope detection
(:mod:`nlp.confidence`). Rasa's FallbackClassifier is its ``threshold`` and
``ambiguity_threshold``: a low or ambiguous top intent becomes ``nlu_fallback``; the
project's own out-of-scope threshold (chosen by cross-validation) applies on top."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from nlp.confidence import (
    NEAR_PROJECT,
    ConfidenceModel,
    HeldOut,
    choose_scope_threshold,
    fold_of,
    generic_out_of_scope,
    scope_features,
    spread_ranking,
)
from nlp.types import FALLBACK_INTENT, IntentScore


class IntentClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator over raw texts.

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

    def _head(self) -> _Head | None:
        """The fitted model as plain numpy (:class:`_Head`), rebuilt whenever the fitted
        objects change; None where it does not apply (then scikit-learn computes)."""
        model = getattr(self, "model_", None)
        if model is None:
            return None
        tfidf = getattr(self, "tfidf_", None) if self.use_tfidf else None
        confidence = getattr(self, "confidence_", None)
        cached = self.__dict__.get("_head_cache")
        if cached is not None and cached.built_from(model, tfidf, confidence, self):
            return cached
        head = _Head.build(self, model, tfidf, confidence)
        self.__dict__["_head_cache"] = head if head is not None else None
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
        proba = head.proba(texts, embeddings) if head else self._raw_proba(texts, embeddings)
        model = getattr(self, "confidence_", None)  # classifiers pickled before calibration
        if model is None or len(proba) == 0:
            return proba
        if head is not None and head.confidence is not None:
            features = scope_features(proba, embeddings, head.reference, self.reference_labels_)
            return spread_ranking(proba, head.confidence_of(features))
        features = scope_features(proba, embeddings, self.reference_, self.reference_labels_)
        return spread_ranking(proba, model.predict(features))

    def predict(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.decide(self.scores(texts, embeddings))

    @property
    def effective_threshold(self) -> float:
        """Below this confidence the top intent becomes ``nlu_fallback``: the pipeline's
        threshold or the project's out-of-scope threshold, whichever is higher."""
        return max(self.threshold, getattr(self, "scope_threshold_", 0.0))

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Top intent per row, or ``nlu_fallback`` when its confidence is below
        :attr:`effective_threshold` or within ``ambiguity_threshold`` of the second's
        (Rasa's FallbackClassifier)."""
        best = scores.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        top = scores[np.arange(len(scores)), best]
        ordered = np.sort(scores, axis=1)
        second = ordered[:, -2] if scores.shape[1] > 1 else np.zeros(len(scores))
        # getattr: classifiers pickled before the ambiguity threshold existed
        ambiguity = getattr(self, "ambiguity_threshold", 0.0)
        labels[(top < self.effective_threshold) | (top - second < ambiguity)] = FALLBACK_INTENT
        return labels

    def rank(
        self, texts: list[str], embeddings: np.ndarray | None = None, top: int = 10
    ) -> list[tuple[IntentScore, list[IntentScore]]]:
        """(chosen intent, ranking of the ``top`` intents) per text, Rasa style."""
        scores = self.scores(texts, embeddings)
        chosen = self.decide(scores)
        out = []
        for row, label in zip(scores, chosen, strict=True):
            order = np.argsort(-row)[:top]
            ranking = [IntentScore(str(self.classes_[j]), float(row[j])) for j in order]
            if label == FALLBACK_INTENT:
                # Rasa reports the fallback with the threshold as its confidence, put first
                # in front of the classifier's own ranking: the pipeline's threshold, or the
                # out-of-scope threshold when only that one was missed.
                top_score = ranking[0].confidence
                scope = getattr(self, "scope_threshold_", 0.0)
                only_scope = self.threshold <= top_score < scope
                fallback = IntentScore(
                    FALLBACK_INTENT, float(scope if only_scope else self.threshold)
                )
                out.append((fallback, [fallback, *ranking]))
            else:
                out.append((ranking[0], ranking))
        return out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["encoder"] = None
        state.pop("_head_cache", None)  # rebuilt from the fitted objects after loading
        return state

    def save(self, path: str | Path) -> None:
        joblib.dump(self, path)

    @classmethod
    def load(cls, path: str | Path, encoder=None) -> IntentClassifier:
        model = joblib.load(path)
        if not isinstance(model, cls):
            raise TypeError(
                f"{path} does not hold an IntentClassifier; retrain with `carebot train`"
            )
        model.encoder = encoder
        return model


class _Head:
    """The fitted classifier evaluated with numpy alone, for serving.

    scikit-learn's ``FeatureUnion.transform`` + ``LogisticRegression.predict_proba`` (and the
    confidence model's scaler + logistic regression) validate their inputs and build sparse
    matrices on every call: some 5 ms of a 1-message parse whose arithmetic takes a tenth of
    that. This computes the same numbers (the same analyzers, vocabularies and idf weights,
    sublinear tf, l2 norm, the same coefficients; summed in another order, so equal to
    ~1e-12) and is checked against scikit-learn in tests/nlp/test_nlu_fast_head.py.
    Anything it does not recognise leaves the computing to scikit-learn (:meth:`build`
    returns None)."""

    def __init__(self, sources, dense_weight, dense_t, parts, intercept, binary,
                 reference, confidence) -> None:  # fmt: skip
        self._sources = sources
        self.dense_weight = dense_weight
        self.dense_t = dense_t  # (embedding dims, classes)
        self.parts = parts  # (analyzer, vocabulary, idf, sublinear, l2, coef rows per feature)
        self.intercept = intercept
        self.binary = binary
        self.reference = reference  # float32 copy of the examples' embeddings
        self.confidence = confidence  # (mean, scale, coef, intercept) or None

    def built_from(self, model, tfidf, confidence, clf) -> bool:
        m, t, c, ref, weight = self._sources
        return (m is model and t is tfidf and c is confidence
                and ref is getattr(clf, "reference_", None)
                and weight == clf.embedding_weight)  # fmt: skip

    @classmethod
    def build(cls, clf, model, tfidf, confidence) -> _Head | None:
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
                parts.append([vec.build_analyzer(), vec.vocabulary_, vec.idf_,
                              vec.sublinear_tf, vec.norm == "l2"])  # fmt: skip
                offset += len(vec.vocabulary_)
        dims = coef.shape[1] - offset
        if dims <= 0:
            return None
        start = dims
        for part in parts:
            width = len(part[1])
            part.append(np.ascontiguousarray(coef[:, start : start + width].T))
            start += width
        conf = None
        if confidence is not None:
            conf = _confidence_params(confidence)
            if conf is None:
                return None
        reference = getattr(clf, "reference_", None)
        ref32 = None if reference is None else np.asarray(reference, dtype=np.float32)
        sources = (model, tfidf, confidence, reference, clf.embedding_weight)
        return cls(sources, clf.embedding_weight, np.ascontiguousarray(coef[:, :dims].T),
                   parts, np.asarray(model.intercept_, dtype=np.float64),
                   len(model.classes_) <= 2, ref32, conf)  # fmt: skip

    def proba(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        # the dense block as scikit-learn has it: float32 embeddings times the weight
        dense = (np.asarray(embeddings) * self.dense_weight).astype(np.float64)
        scores = dense @ self.dense_t + self.intercept
        if self.parts:
            for row, text in enumerate(texts):
                lowered = text.lower()
                for analyze, vocabulary, idf, sublinear, l2, coef_t in self.parts:
                    counts: dict[int, int] = {}
                    for feature in analyze(lowered):
                        j = vocabulary.get(feature)
                        if j is not None:
                            counts[j] = counts.get(j, 0) + 1
                    if not counts:
                        continue
                    idx = np.fromiter(counts, dtype=np.intp, count=len(counts))
                    values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                    if sublinear:
                        values = np.log(values) + 1.0
                    values *= idf[idx]
                    if l2:
                        norm = np.sqrt(values @ values)
                        if norm > 0:
                            values /= norm
                    scores[row] += values @ coef_t[idx]
        if self.binary:
            positive = _expit(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def confidence_of(self, features: np.ndarray) -> np.ndarray:
        mean, scale, coef, intercept = self.confidence
        x = np.asarray(features, dtype=np.float64)
        if mean is not None:
            x = x - mean
        if scale is not None:
            x = x / scale
        return _expit(x @ coef + intercept)


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


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)
