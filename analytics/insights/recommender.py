"""Product recommendations: item-item collaborative filtering with a content-based fallback.

Customers who bought something get items that co-occur with their purchases in other
customers' baskets (cosine similarity over the customer x item matrix), blended with items
whose text (name, category, description; TF-IDF) resembles what they bought. Anonymous or
new customers, and categories where their history says nothing, fall back to popularity.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
from sqlalchemy import Engine
from tqdm import tqdm

from analytics.store.shop import ShopRepository

if TYPE_CHECKING:
    import pandas as pd
    from scipy import sparse

logger = logging.getLogger(__name__)

RECOMMENDER_FILE = "recommender.joblib"
# Bump when the saved attributes change; old files are then refused. Format 2 saves the
# parameters and learned arrays, not the class, so the file does not depend on where the
# class lives (format 1 pickled actions.recommender.Recommender). Format 3 keeps the sparse
# matrices as plain numpy arrays (:class:`Rows`): a server loads and uses the recommender
# without SciPy or scikit-learn (~50 MB of its RSS); format 2 files are still read.
_FORMAT = 3
_READABLE = (2, 3)
INTERACTION_COLUMNS = ("customer_external_id", "product_sku", "quantity")
PRODUCT_COLUMNS = ("sku", "name", "category", "price", "description")


@dataclass(frozen=True)
class Recommendation:
    sku: str
    name: str
    category: str
    price: float
    score: float
    reason: str  # "bought_together" | "similar_items" | "popular"


def _frame(data: Any, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """Rows as a DataFrame with `columns`, from a DataFrame, dataclasses, dicts or tuples."""
    import pandas as pd  # fitting only: a server recommending from the saved model needs none

    frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    if frame.empty:
        return pd.DataFrame(columns=list(columns))
    if all(isinstance(c, int) for c in frame.columns):  # plain tuples: positional columns
        frame = frame.iloc[:, : len(columns)]
        frame.columns = list(columns[: frame.shape[1]])
    if "quantity" in columns and "quantity" not in frame.columns:
        frame["quantity"] = 1
    if "description" in columns and "description" not in frame.columns:
        frame["description"] = ""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} need columns {', '.join(columns)}; missing {', '.join(missing)}")
    return frame[list(columns)]


class Rows:
    """A sparse matrix in compressed rows (scipy's CSR arrays), numpy only: what serving
    reads of the fitted matrices (one customer's row, a weighted sum of item rows)."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 shape: tuple[int, int]) -> None:  # fmt: skip
        self.data = np.asarray(data, dtype=np.float32)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.shape = (int(shape[0]), int(shape[1]))

    @classmethod
    def of(cls, matrix) -> Rows:
        """From a SciPy sparse matrix (or another Rows)."""
        if isinstance(matrix, Rows):
            return matrix
        matrix = matrix.tocsr()
        matrix.sum_duplicates()
        return cls(matrix.data, matrix.indices, matrix.indptr, matrix.shape)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of row ``i``'s stored entries."""
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.indices[start:end], self.data[start:end]

    def weighted_sum(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """sum_k weights[k] * self[rows[k]] as a dense vector (a sparse row times this)."""
        out = np.zeros(self.shape[1])
        for r, w in zip(rows, weights, strict=True):
            columns, values = self.row(int(r))
            out[columns] += float(w) * values.astype(np.float64)  # a row's columns are unique
        return out


def _top_k_cosine(rows: sparse.csr_matrix, k: int, chunk: int = 256) -> sparse.csr_matrix:
    """Cosine similarity between the rows, keeping each row's k best neighbours (not itself)."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    rows = normalize(sparse.csr_matrix(rows, dtype=np.float32))
    n = rows.shape[0]
    k = max(0, min(k, n - 1))
    data, indices, indptr = [], [], [0]
    for start in range(0, n, chunk):
        block = (rows[start : start + chunk] @ rows.T).toarray()
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0.0
        for row in block:
            best = np.argpartition(-row, k - 1)[:k] if k else np.array([], dtype=int)
            best = best[row[best] > 0]
            indices.append(best)
            data.append(row[best])
            indptr.append(indptr[-1] + len(best))
    return sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.array([], np.float32),
            np.concatenate(indices) if indices else np.array([], int),
            np.array(indptr),
        ),
        shape=(n, n),
        dtype=np.float32,
    )


def resolve_category(category: str | None, known: Iterable[str]) -> str | None:
    """The spelling of `category` among `known` ('Shoe' -> 'shoes'), or None if unknown."""
    if not category:
        return None
    wanted = category.strip().lower()
    known = set(known)
    for candidate in (wanted, wanted + "s", wanted.removesuffix("s")):
        if candidate in known:
            return candidate
    return None


def _scaled(values: np.ndarray) -> np.ndarray:
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def _reason(cf: float, content: float) -> str:
    if cf > 0:
        return "bought_together"
    return "similar_items" if content > 0 else "popular"


class Recommender:
    """Recommends products for a customer (or an anonymous visitor), optionally in a category.

    n_neighbors: similar items kept per item. The score adds up, each scaled to 0..1:
    cf_weight x bought-together, content_weight x text similarity to the customer's
    purchases, popularity_weight x best-seller rank.

    scikit-learn's estimator conventions (``get_params`` / ``set_params``, fitted attributes
    ending in ``_``) without its base class: fitting uses scikit-learn and SciPy, a fitted or
    loaded recommender answers with numpy alone.
    """

    def __init__(
        self,
        n_neighbors: int = 100,
        cf_weight: float = 1.0,
        content_weight: float = 0.3,
        popularity_weight: float = 0.5,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.cf_weight = cf_weight
        self.content_weight = content_weight
        self.popularity_weight = popularity_weight

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params: Any) -> Recommender:
        unknown = set(params) - set(PARAMS)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; use {', '.join(PARAMS)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != _DEFAULTS[k]}
        return f"Recommender({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def fit(self, interactions: Iterable[Any], products: Iterable[Any]) -> Recommender:
        """Learn from (customer_external_id, product_sku, quantity) rows and the catalogue."""
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer

        catalogue = _frame(products, PRODUCT_COLUMNS, "products").drop_duplicates("sku")
        if catalogue.empty:
            raise ValueError("cannot fit a recommender without products; load the catalogue first")
        catalogue = catalogue.sort_values("sku").reset_index(drop=True)
        self.skus_ = catalogue["sku"].astype(str).to_numpy()
        self.names_ = catalogue["name"].astype(str).to_numpy()
        self.categories_ = catalogue["category"].astype(str).str.lower().to_numpy()
        self.prices_ = catalogue["price"].astype(float).to_numpy()
        self.item_index_ = {sku: i for i, sku in enumerate(self.skus_)}

        bought = _frame(interactions, INTERACTION_COLUMNS, "interactions")
        known = bought["product_sku"].astype(str).isin(self.item_index_)
        if (~known).any():
            logger.warning("ignoring %d purchases of products not in the catalogue", (~known).sum())
        bought = bought[known]
        customers = sorted(bought["customer_external_id"].astype(str).unique())
        self.customer_index_ = {c: i for i, c in enumerate(customers)}
        matrix = sparse.csr_matrix(
            (
                bought["quantity"].astype(float).clip(lower=1).to_numpy(),
                (
                    bought["customer_external_id"].astype(str).map(self.customer_index_).to_numpy(),
                    bought["product_sku"].astype(str).map(self.item_index_).to_numpy(),
                ),
            ),
            shape=(len(customers), len(self.skus_)),
            dtype=np.float32,
        )
        matrix.sum_duplicates()
        # log damping: buying 10 socks says less than 10 separate purchases would
        matrix.data = np.log1p(matrix.data)
        self.customer_items_ = Rows.of(matrix)
        buyers = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(float)
        self.popularity_ = _scaled(buyers)
        self.item_similarity_ = Rows.of(_top_k_cosine(matrix.T.tocsr(), self.n_neighbors))

        text = (
            catalogue[["name", "category", "description"]]
            .fillna("")
            .astype(str)
            .agg(" ".join, axis=1)
        )
        tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(text)
        self.content_similarity_ = Rows.of(_top_k_cosine(tfidf, self.n_neighbors))
        logger.info(
            "fitted recommender on %d purchases by %d customers over %d products",
            len(bought),
            len(customers),
            len(self.skus_),
        )
        return self

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.categories_))

    def resolve_category(self, category: str | None) -> str | None:
        """The catalogue's spelling of `category` ('Shoe' -> 'shoes'), or None if unknown."""
        return resolve_category(category, self.categories_)

    def recommend(
        self, customer_external_id: str | None, category: str | None = None, k: int = 3,
        exclude: Iterable[str] = (),
    ) -> list[Recommendation]:
        """Up to k products the customer has not bought (nor any SKU of ``exclude``), best
        first; ValueError on unknown category."""
        n = len(self.skus_)
        cf = np.zeros(n)
        content = np.zeros(n)
        row = self.customer_index_.get(customer_external_id or "")
        history = self.customer_items_.row(row) if row is not None else None
        if history is not None:
            cf = self.cf_weight * _scaled(self.item_similarity_.weighted_sum(*history))
            content = self.content_weight * _scaled(
                self.content_similarity_.weighted_sum(*history)
            )
        score = cf + content + self.popularity_weight * self.popularity_
        allowed = np.ones(n, dtype=bool)
        if history is not None:
            allowed[history[0]] = False
        if category is not None:
            resolved = self.resolve_category(category)
            if resolved is None:
                raise ValueError(
                    f"unknown category {category!r}; use one of {', '.join(self.categories)}"
                )
            allowed &= self.categories_ == resolved
        rows, index = self._plain_catalogue()
        if exclude:
            allowed[[index[sku] for sku in exclude if sku in index]] = False
        candidates = np.flatnonzero(allowed)
        # stable sort keeps catalogue order among equal scores, so results are repeatable
        ranked = candidates[np.argsort(-score[candidates], kind="stable")][:k].tolist()
        # plain Python values read once per model: the product search ranks the whole
        # catalogue on every request, and reading numpy scalars was half of its 0.4 ms
        scores, cf_, content_ = score.tolist(), cf.tolist(), content.tolist()
        return [Recommendation(*rows[i], scores[i], _reason(cf_[i], content_[i])) for i in ranked]

    def _plain_catalogue(self) -> tuple[list[tuple[str, str, str, float]], dict[str, int]]:
        """Each product's (sku, name, category, price) and each SKU's row, kept per catalogue
        array (a refit makes new ones); the attribute's name does not end in "_", so saving
        the model leaves it out."""
        kept = self.__dict__.get("_plain_kept")
        if kept is None or kept[0] is not self.skus_:
            skus = self.skus_.tolist()
            rows = list(zip(skus, self.names_.tolist(), self.categories_.tolist(),
                            self.prices_.tolist(), strict=True))
            kept = self.__dict__["_plain_kept"] = (self.skus_, rows,
                                                   {sku: i for i, sku in enumerate(skus)})
        return kept[1], kept[2]


def train_recommender(engine: Engine, models_dir: Path, progress: bool = True) -> Path:
    """Fit a Recommender on the shop's orders and save it as models_dir/recommender.joblib."""
    repository = ShopRepository(engine)
    with tqdm(total=3, desc="recommender", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("reading orders")
        products = repository.products()
        purchases = repository.purchases()
        bar.update()
        if not products:
            raise ValueError(
                "the database has no products; load the shop's catalogue (or the demo data) "
                "before training the recommender"
            )
        bar.set_postfix_str(f"fitting on {len(purchases)} purchases")
        model = Recommender().fit(purchases, products)
        bar.update()
        bar.set_postfix_str("saving")
        path = Path(models_dir) / RECOMMENDER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".joblib.partial")
        joblib.dump(_saved_form(model), partial)
        os.replace(partial, path)  # a running server never sees a half-written file
        bar.update()
    logger.info("saved recommender to %s", path)
    return path


class RecommenderUnusable(RuntimeError):
    """The saved recommender cannot be loaded; the message says how to replace it."""


# the parameters and their defaults, read from the signature (as scikit-learn does)
_DEFAULTS = {p.name: p.default for p in inspect.signature(Recommender.__init__).parameters.values()
             if p.name != "self"}  # fmt: skip
PARAMS = tuple(_DEFAULTS)


def _saved_form(model: Recommender) -> dict[str, Any]:
    learned = {k: v for k, v in vars(model).items() if k.endswith("_")}
    return {"format": _FORMAT, "params": model.get_params(), "learned": learned}


def load_recommender(models_dir: Path) -> Recommender | None:
    """The trained recommender in models_dir, or None if none was trained yet;
    RecommenderUnusable when the file is from another Carebot version."""
    path = Path(models_dir) / RECOMMENDER_FILE
    if not path.exists():
        logger.info("no recommender at %s; recommendations fall back to best sellers", path)
        return None
    unusable = RecommenderUnusable(
        f"{path} was written by an incompatible Carebot version; retrain it "
        "(`carebot train`) and restart"
    )
    try:
        saved = joblib.load(path)
    except (ModuleNotFoundError, AttributeError) as exc:  # a class that moved or went away
        raise unusable from exc
    if not isinstance(saved, dict) or saved.get("format") not in _READABLE:
        raise unusable
    model = Recommender(**saved["params"])
    vars(model).update(saved["learned"])
    for name in ("customer_items_", "item_similarity_", "content_similarity_"):
        setattr(model, name, Rows.of(getattr(model, name)))  # format 2: SciPy matrices
    return model
