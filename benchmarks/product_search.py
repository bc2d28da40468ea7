"""Product search of the demo shop's recommendations (issue 11): hit@3 and the "we don't
sell that" precision on tests/actions/data/product_requests.csv.

    python benchmarks/product_search.py                   # the demo shop (seed 7), encoder
    python benchmarks/product_search.py --words-only      # without the sentence encoder
    python benchmarks/product_search.py --show-misses

The demo shop is seeded into a temporary SQLite file, its recommender trained, and every
request goes through the action's own ranking (actions.actions._recommend, anonymous
visitor, no category slot). A request is a hit when one of the 3 products shown is one of
the product types (or the category) the CSV expects; a request for something the shop does
not sell is right when the answer is "we don't sell that". No-match precision: of the
requests answered "we don't sell that", the share that asked for something not sold.
The encoder is the exported ONNX graph in CAREBOT_BASE_MODELS_DIR / CAREBOT_MODELS_DIR
(default models/), as the server runs it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REQUESTS = REPO / "tests" / "actions" / "data" / "product_requests.csv"
K = 3


@dataclass(frozen=True)
class Request:
    text: str
    expected: tuple[str, ...]  # product types ("Running Shoes") or "category:kitchen"; () not sold
    kind: str


@dataclass(frozen=True)
class Outcome:
    request: Request
    shown: tuple[tuple[str, str], ...]  # (name, category) of the products shown
    not_sold: bool

    @property
    def hit(self) -> bool:
        if not self.request.expected:
            return self.not_sold
        return any(_fits(name, category, want) for name, category in self.shown
                   for want in self.request.expected)


def _fits(name: str, category: str, want: str) -> bool:
    if want.startswith("category:"):
        return category == want.removeprefix("category:")
    return name.endswith(want)


def read_requests(path: Path = REQUESTS) -> list[Request]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Request(row["request"], tuple(filter(None, row["expected"].split("|"))),
                        row["kind"]) for row in csv.DictReader(f)]


def demo_shop(folder: Path, words_only: bool = False):
    """The seeded demo shop with its trained recommender and the product search."""
    from sqlalchemy import create_engine

    from actions.product_search import ProductSearch
    from actions.settings import Settings, Shop, product_encoder
    from analytics.demo.seed import seed
    from analytics.insights.recommender import Recommender
    from analytics.store.shop import ShopRepository

    engine = create_engine(f"sqlite:///{folder / 'shop.db'}")
    from analytics.store.schema import Base

    Base.metadata.create_all(engine)
    seed(engine, progress=False)
    repository = ShopRepository(engine)
    recommender = Recommender().fit(repository.purchases(), repository.products())
    embed = None if words_only else product_encoder(Settings.from_env())
    if not words_only and embed is None:
        raise SystemExit("no exported sentence encoder (nlu.int8.onnx); run `carebot train`")
    return Shop(repository, recommender, ProductSearch(embed))


def evaluate(shop, requests: list[Request], customer_id: str | None = None) -> list[Outcome]:
    from actions.actions import _recommend

    outcomes = []
    for request in requests:
        picks = _recommend(shop, customer_id, None, request.text)
        shown = tuple((p.name, p.category) for p in picks.products[:K])
        outcomes.append(Outcome(request, shown, picks.not_sold))
    return outcomes


@dataclass(frozen=True)
class Figures:
    hit_at_3: float  # over the requests for products the shop sells
    not_sold_right: float  # requests for unsold things answered "we don't sell that"
    no_match_precision: float  # of the "we don't sell that" answers, the right ones
    by_kind: dict[str, tuple[int, int]]


def figures(outcomes: list[Outcome]) -> Figures:
    sold = [o for o in outcomes if o.request.expected]
    unsold = [o for o in outcomes if not o.request.expected]
    refused = [o for o in outcomes if o.not_sold]
    by_kind: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        hits, total = by_kind.get(o.request.kind, (0, 0))
        by_kind[o.request.kind] = (hits + o.hit, total + 1)
    return Figures(
        hit_at_3=sum(o.hit for o in sold) / len(sold),
        not_sold_right=sum(o.hit for o in unsold) / max(len(unsold), 1),
        no_match_precision=sum(not o.request.expected for o in refused) / max(len(refused), 1),
        by_kind=by_kind,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words-only", action="store_true",
                        help="word match only (no sentence encoder)")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    requests = read_requests()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        shop = demo_shop(Path(tmp), words_only=args.words_only)
        shop.search.search("warm-up", shop.repository.products())  # embeds the catalogue
        ready = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = evaluate(shop, requests)
        per_request = (time.perf_counter() - started) / len(requests)
        shop.repository.engine.dispose()
    result = figures(outcomes)
    sold = sum(1 for r in requests if r.expected)
    print(f"requests: {len(requests)} ({sold} for products sold, {len(requests) - sold} not sold)")
    print(f"search: {'words only' if args.words_only else 'sentence encoder + words'}")
    print(f"hit@3: {result.hit_at_3:.3f}")
    print(f"no-match precision: {result.no_match_precision:.3f}")
    print(f"not-sold requests answered 'we don't sell that': {result.not_sold_right:.3f}")
    for kind, (hits, total) in sorted(result.by_kind.items()):
        print(f"  {kind:<12} {hits}/{total}")
    print(f"shop, recommender and catalogue embeddings ready in {ready:.1f} s; "
          f"{per_request * 1000:.0f} ms per request (shared, loaded machine)")
    if args.show_misses:
        for o in outcomes:
            if not o.hit:
                got = "we don't sell that" if o.not_sold else "; ".join(n for n, _ in o.shown)
                print(f"MISS {o.request.text!r}: want {'|'.join(o.request.expected) or '-'}"
                      f" got {got}")


if __name__ == "__main__":
    main()
