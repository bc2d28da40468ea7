"""The shop's orders, customers and products: the read model the custom actions, the agent
console and the simulator use, over the shop tables of analytics/store/schema.py.

Synchronous (SQLAlchemy sessions); call it from a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import Engine, distinct, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from analytics.store.records import naive_utc_now
from analytics.store.schema import Customer, Order, OrderItem, Product

logger = logging.getLogger(__name__)

RETURN_WINDOW = timedelta(days=30)
CANCELLABLE_STATUSES = ("pending", "processing")
# Orders that never turned into a sale do not count towards value or popularity.
UNSOLD_STATUSES = ("cancelled",)
NOT_REVENUE_STATUSES = ("cancelled", "returned")
CATALOGUE_MAX_AGE = 60.0  # seconds the kept catalogue is trusted without reading it again
_CATALOGUE_FINGERPRINT = select(
    func.count(), func.max(Product.id),
    func.sum(func.length(Product.sku) + func.length(Product.name)
             + func.length(Product.category) + func.coalesce(func.length(Product.description), 0)),
    func.sum(Product.price))


def normalize_order_number(order_number: str) -> str:
    """' #a10023 ' -> 'A10023'."""
    return order_number.strip().lstrip("#").strip().upper()


@dataclass(frozen=True)
class CustomerInfo:
    external_id: str
    name: str
    email: str
    vip: bool
    segment: str | None


@dataclass(frozen=True)
class Requester:
    """Who the conversation is with: a verified customer id, an email they typed, or neither."""

    customer_id: str | None = None
    email: str | None = None

    @property
    def identified(self) -> bool:
        return bool(self.customer_id or self.email)

    def owns(self, customer: CustomerInfo) -> bool:
        """True when the conversation's customer is `customer` (verified id or same email)."""
        if self.customer_id and self.customer_id == customer.external_id:
            return True
        return bool(self.email) and self.email.strip().casefold() == customer.email.casefold()


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderSummary:
    order_number: str
    status: str
    total: Decimal
    created_at: datetime


@dataclass(frozen=True)
class OrderDetails:
    order_number: str
    status: str
    refund_status: str
    total: Decimal
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    shipping_address: str
    customer: CustomerInfo
    items: tuple[OrderLine, ...]


@dataclass(frozen=True)
class CustomerProfile:
    customer: CustomerInfo
    order_count: int
    lifetime_value: Decimal  # excludes cancelled and returned orders
    recent_orders: tuple[OrderSummary, ...]


@dataclass(frozen=True)
class CancelOutcome:
    result: Literal["cancelled", "already_cancelled", "too_late", "not_found"]
    order: OrderDetails | None  # None when not_found


@dataclass(frozen=True)
class ReturnEligibility:
    result: Literal[
        "eligible", "not_delivered", "window_closed", "cancelled", "already_returned", "not_found"
    ]
    order: OrderDetails | None
    deadline: datetime | None = None  # last day a return is accepted, when delivered


@dataclass(frozen=True)
class CustomerOrders:
    external_id: str
    email: str
    order_numbers: tuple[str, ...]


@dataclass(frozen=True)
class ProductInfo:
    sku: str
    name: str
    category: str
    price: float
    description: str


@dataclass(frozen=True)
class Purchase:
    customer_external_id: str
    product_sku: str
    quantity: int
    ordered_at: datetime


def _customer_info(customer: Customer) -> CustomerInfo:
    return CustomerInfo(
        customer.external_id, customer.name, customer.email, bool(customer.vip), customer.segment
    )


def _details(order: Order) -> OrderDetails:
    return OrderDetails(
        order_number=order.order_number,
        status=order.status,
        refund_status=order.refund_status or "none",
        total=Decimal(order.total),
        created_at=order.created_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipping_address=order.shipping_address or "",
        customer=_customer_info(order.customer),
        items=tuple(
            OrderLine(i.product.sku, i.product.name, i.quantity, Decimal(i.unit_price))
            for i in order.items
        ),
    )


def _product_info(product: Product) -> ProductInfo:
    return ProductInfo(
        product.sku, product.name, product.category, float(product.price), product.description or ""
    )


class ShopRepository:
    """The shop's data, read and (for cancellations) written synchronously.

    `clock` returns naive UTC "now"; tests inject a fixed one.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = naive_utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # (fingerprint, when read, products): see products(); replaced whole, never changed
        self._catalogue: tuple[tuple, float, tuple[ProductInfo, ...]] | None = None

    # -- orders -----------------------------------------------------------------------------

    def _load_order(self, session: Session, order_number: str) -> Order | None:
        number = normalize_order_number(order_number)
        if not number:
            return None
        query = select(Order).options(
            joinedload(Order.customer), selectinload(Order.items).joinedload(OrderItem.product)
        )
        # Exact match uses the unique index; the upper() scan only runs for odd stored casing.
        order = session.scalars(query.where(Order.order_number == number)).first()
        if order is None:
            order = session.scalars(query.where(func.upper(Order.order_number) == number)).first()
        return order

    def order(self, order_number: str) -> OrderDetails | None:
        """Any order by number, case-insensitive. For staff tools: customers use owned_order."""
        with self._sessions() as session:
            order = self._load_order(session, order_number)
            return _details(order) if order else None

    def owned_order(self, order_number: str, requester: Requester) -> OrderDetails | None:
        """The order if it belongs to `requester`; None whether it is missing or someone else's."""
        order = self.order(order_number)
        if order is None or not requester.owns(order.customer):
            return None
        return order

    def cancel_order(self, order_number: str, requester: Requester) -> CancelOutcome:
        """Cancel a pending or processing order of `requester`, atomically."""
        with self._sessions.begin() as session:
            order = self._load_order(session, order_number)
            if order is None or not requester.owns(_customer_info(order.customer)):
                return CancelOutcome("not_found", None)
            if order.status in CANCELLABLE_STATUSES:
                # The status guard in the UPDATE makes this safe against a warehouse system
                # shipping the order between our read and our write.
                changed = session.execute(
                    update(Order)
                    .where(Order.id == order.id, Order.status.in_(CANCELLABLE_STATUSES))
                    .values(status="cancelled", cancelled_at=self._clock())
                    .execution_options(synchronize_session=False)
                ).rowcount
                session.refresh(order)
                if changed == 1:
                    logger.info("cancelled order %s", order.order_number)
                    return CancelOutcome("cancelled", _details(order))
            if order.status == "cancelled":
                return CancelOutcome("already_cancelled", _details(order))
            return CancelOutcome("too_late", _details(order))

    def return_eligibility(self, order_number: str, requester: Requester) -> ReturnEligibility:
        """Whether `requester` can still return the order: delivered within RETURN_WINDOW."""
        order = self.owned_order(order_number, requester)
        if order is None:
            return ReturnEligibility("not_found", None)
        if order.status == "cancelled":
            return ReturnEligibility("cancelled", order)
        if order.status == "returned":
            return ReturnEligibility("already_returned", order)
        if order.status != "delivered":
            return ReturnEligibility("not_delivered", order)
        delivered = order.delivered_at or order.shipped_at or order.created_at
        deadline = delivered + RETURN_WINDOW
        result = "eligible" if self._clock() <= deadline else "window_closed"
        return ReturnEligibility(result, order, deadline)

    # -- customers --------------------------------------------------------------------------

    def customer_by_external_id(self, external_id: str) -> CustomerInfo | None:
        with self._sessions() as session:
            customer = session.scalars(
                select(Customer).where(Customer.external_id == external_id.strip())
            ).first()
            return _customer_info(customer) if customer else None

    def customer_by_email(self, email: str) -> CustomerInfo | None:
        with self._sessions() as session:
            customer = session.scalars(
                select(Customer).where(func.lower(Customer.email) == email.strip().lower())
            ).first()
            return _customer_info(customer) if customer else None

    def orders_of(self, external_id: str, limit: int | None = None) -> list[OrderSummary]:
        """The customer's orders, newest first."""
        query = (
            select(Order.order_number, Order.status, Order.total, Order.created_at)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Customer.external_id == external_id)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit)
        )
        with self._sessions() as session:
            return [
                OrderSummary(number, status, Decimal(total), created)
                for number, status, total, created in session.execute(query)
            ]

    def customer_profile(self, external_id: str, recent: int = 5) -> CustomerProfile | None:
        customer = self.customer_by_external_id(external_id)
        if customer is None:
            return None
        revenue = func.sum(Order.total).filter(Order.status.not_in(NOT_REVENUE_STATUSES))
        query = (
            select(func.count(Order.id), func.coalesce(revenue, 0))
            .join(Customer, Customer.id == Order.customer_id)
            .where(Customer.external_id == external_id)
        )
        with self._sessions() as session:
            count, value = session.execute(query).one()
        return CustomerProfile(
            customer=customer,
            order_count=int(count),
            lifetime_value=Decimal(value).quantize(Decimal("0.01")),
            recent_orders=tuple(self.orders_of(external_id, limit=recent)),
        )

    def customers_with_orders(self) -> list[CustomerOrders]:
        """Every customer who ordered something, with their order numbers, by external id."""
        query = (
            select(Customer.external_id, Customer.email, Order.order_number)
            .join(Order, Order.customer_id == Customer.id)
            .order_by(Customer.external_id, Order.order_number)
        )
        with self._sessions() as session:
            rows = session.execute(query).all()
        by_customer: dict[str, tuple[str, list[str]]] = {}
        for external_id, email, number in rows:
            by_customer.setdefault(external_id, (email, []))[1].append(number)
        return [CustomerOrders(external_id, email, tuple(numbers))
                for external_id, (email, numbers) in by_customer.items()]

    # -- products and purchases -------------------------------------------------------------

    def products(self) -> list[ProductInfo]:
        """The whole catalogue, by SKU.

        The product search reads it on every request, so it is kept: read again only when
        the catalogue's fingerprint (one aggregate row: count, highest id, text lengths,
        prices) changes, and at least every ``CATALOGUE_MAX_AGE`` seconds (an edit that keeps
        every length and price). Reading 200 rows on a worker thread took 20-200 ms under
        load (each row fetched hands the GIL back and waits to get it again); one row does not.
        """
        with self.engine.connect() as conn:
            fingerprint = tuple(conn.execute(_CATALOGUE_FINGERPRINT).one())
            kept = self._catalogue
            if kept is not None and kept[0] == fingerprint \
                    and time.monotonic() - kept[1] < CATALOGUE_MAX_AGE:
                return list(kept[2])
            rows = conn.execute(select(Product.sku, Product.name, Product.category,
                                       Product.price, Product.description)
                                .order_by(Product.sku)).all()
        catalogue = tuple(ProductInfo(sku, name, category, float(price), description or "")
                          for sku, name, category, price, description in rows)
        self._catalogue = (fingerprint, time.monotonic(), catalogue)
        return list(catalogue)

    def categories(self) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(select(distinct(Product.category)).order_by(Product.category))
            )

    def purchases(self) -> list[Purchase]:
        """Every purchased line of every order that was not cancelled, oldest first."""
        query = (
            select(Customer.external_id, Product.sku, OrderItem.quantity, Order.created_at)
            .select_from(OrderItem)
            .join(Order, Order.id == OrderItem.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .join(Product, Product.id == OrderItem.product_id)
            .where(Order.status.not_in(UNSOLD_STATUSES))
            .order_by(Order.created_at, Order.id, OrderItem.id)
        )
        with self._sessions() as session:
            return [Purchase(*row) for row in session.execute(query)]

    def purchased_skus(self, external_id: str) -> set[str]:
        query = (
            select(Product.sku)
            .join(OrderItem, OrderItem.product_id == Product.id)
            .join(Order, Order.id == OrderItem.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Customer.external_id == external_id, Order.status.not_in(UNSOLD_STATUSES))
        )
        with self._sessions() as session:
            return set(session.scalars(query))

    def popular_products(
        self, category: str | None = None, exclude_customer: str | None = None, k: int = 3
    ) -> list[ProductInfo]:
        """Best sellers by number of distinct buyers, without what `exclude_customer` bought."""
        buyers = (
            select(OrderItem.product_id, func.count(distinct(Order.customer_id)).label("buyers"))
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.status.not_in(UNSOLD_STATUSES))
            .group_by(OrderItem.product_id)
            .subquery()
        )
        query = (
            select(Product)
            .outerjoin(buyers, buyers.c.product_id == Product.id)
            .order_by(func.coalesce(buyers.c.buyers, 0).desc(), Product.name)
            .limit(k)
        )
        if category:
            query = query.where(Product.category == category)
        if exclude_customer:
            bought = (
                select(OrderItem.product_id)
                .join(Order, Order.id == OrderItem.order_id)
                .join(Customer, Customer.id == Order.customer_id)
                .where(
                    Customer.external_id == exclude_customer, Order.status.not_in(UNSOLD_STATUSES)
                )
            )
            query = query.where(Product.id.not_in(bought))
        with self._sessions() as session:
            return [_product_info(p) for p in session.scalars(query)]
