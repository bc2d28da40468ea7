"""Offline evaluation of the product recommender: hit-rate@k on each customer's last order.

    python benchmarks/recommender.py                      # demo shops from seeds 11 and 23
    python benchmarks/recommender.py --seeds 7 --k 10
    python benchmarks/recommender.py --database-url sqlite:///carebot.db   # a real shop

For every customer with at least two orders, the last order is held out and the model is
fitted on everything else. A hit is any product of the held-out order (that the customer
had not bought before) among the top k recommendations. The baseline recommends best
sellers (distinct buyers) the customer has not bought.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.insights.recommender import Recommender  # noqa: E402
from analytics.store.shop import ProductInfo, Purchase, ShopRepository  # noqa: E402

VARIANTS = {
    "recommender (default)": {},
    "collaborative only": {"content_weight": 0.0, "popularity_weight": 0.0},
    "content only": {"cf_weight": 0.0, "content_weight": 1.0, "popularity_weight": 0.0},
}


def split_last_orders(
    purchases: list[Purchase],
) -> tuple[list[Purchase], dict[str, set[str]]]:
    """Training purchases, and per test customer the new products of their last order."""
    orders: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for p in purchases:
        orders[p.customer_external_id][p.ordered_at].append(p)
    train: list[Purchase] = []
    held_out: dict[str, set[str]] = {}
    for customer, by_time in orders.items():
        times = sorted(by_time)
        kept = [p for t in (times[:-1] if len(times) > 1 else times) for p in by_time[t]]
        train += kept
        if len(times) > 1:
            new = {p.product_sku for p in by_time[times[-1]]} - {p.product_sku for p in kept}
            if new:
                held_out[customer] = new
    return train, held_out


def popularity_baseline(train: list[Purchase], held_out: dict[str, set[str]], k: int) -> float:
    buyers = Counter(sku for _, sku in {(p.customer_external_id, p.product_sku) for p in train})
    ranked = [sku for sku, _ in buyers.most_common()]
    bought = defaultdict(set)
    for p in train:
        bought[p.customer_external_id].add(p.product_sku)
    hits = 0
    for customer, targets in held_out.items():
        top = [sku for sku in ranked if sku not in bought[customer]][:k]
        hits += bool(targets & set(top))
    return hits / len(held_out)


def evaluate(
    model: Recommender, train: list[Purchase], products: list[ProductInfo], held_out, k: int
) -> tuple[float, float, float]:
    """(hit rate, fit seconds, median recommend milliseconds)."""
    started = time.perf_counter()
    model.fit(train, products)
    fit_seconds = time.perf_counter() - started
    hits, latencies = 0, []
    for customer, targets in held_out.items():
        started = time.perf_counter()
        top = model.recommend(customer, k=k)
        latencies.append((time.perf_counter() - started) * 1000)
        hits += bool(targets & {r.sku for r in top})
    return hits / len(held_out), fit_seconds, statistics.median(latencies)


def report(name: str, repository: ShopRepository, k: int) -> None:
    purchases = repository.purchases()
    products = repository.products()
    train, held_out = split_last_orders(purchases)
    print(
        f"\n{name}: {len(products)} products, {len(purchases)} purchased lines, "
        f"{len(held_out)} customers with a held-out last order"
    )
    print(f"  {'model':<24} hit-rate@{k:<3} fit s   recommend ms (median)")
    print(f"  {'popularity baseline':<24} {popularity_baseline(train, held_out, k):.3f}")
    for variant, params in VARIANTS.items():
        hit, fit_s, ms = evaluate(Recommender(**params), train, products, held_out, k)
        print(f"  {variant:<24} {hit:.3f}        {fit_s:5.2f}   {ms:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[11, 23], help="demo shop seeds")
    parser.add_argument("--database-url", help="evaluate on this shop instead of demo shops")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    if args.database_url:
        report(args.database_url, ShopRepository(create_engine(args.database_url)), args.k)
        return
    from analytics.demo.seed import seed
    from analytics.store.schema import Base

    for demo_seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite:///{Path(tmp) / 'demo.db'}")
            Base.metadata.create_all(engine)
            seed(engine, seed=demo_seed, progress=False)
            report(f"demo shop, seed {demo_seed}", ShopRepository(engine), args.k)
            engine.dispose()


if __name__ == "__main__":
    main()
