"""What the shop's actions say: wording, buttons and formatting of dates and money."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from analytics.store.shop import OrderDetails, Requester

START_RETURN = {"title": "Start a return", "payload": "/return_item"}
CANCEL_ORDER = {"title": "Cancel the order", "payload": "/cancel_order"}
REFUND_STATUS = {"title": "Check my refund", "payload": "/refund_status"}
HUMAN_AGENT = {"title": "Talk to a person", "payload": "/human_agent"}
UNAVAILABLE = (
    "Sorry, I can't reach our order system right now. Please try again in a few minutes, "
    "or ask to talk to a person."
)
ASK_ORDER_NUMBER = (
    "What's your order number? It's the letter A followed by 5 digits, for example A10023."
)
ASK_EMAIL = "To look up your order I need the email address you used for it. What is it?"


def date(moment: datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else "an unknown date"


def money(amount: Decimal | float) -> str:
    return f"${amount:,.2f}"


def items_summary(order: OrderDetails) -> str:
    return ", ".join(f"{line.quantity} × {line.name}" for line in order.items) or "no items"


REFUND_PHRASES = {
    "none": "no refund has been started",
    "requested": "the refund has been requested",
    "processing": "the refund is being processed",
    "refunded": "it has been refunded",
    "rejected": "the refund was declined",
}


def refund(order: OrderDetails) -> str:
    return REFUND_PHRASES.get(order.refund_status, f"the refund is {order.refund_status}")


def not_found(requester: Requester, number: str) -> str:
    # Same words whether the order does not exist or belongs to someone else: never confirm
    # to a stranger that an order number is real.
    owner = "your account" if requester.customer_id else f"the email {requester.email}"
    return (
        f"I couldn't find an order {number} for {owner}. Please check the number (the letter A "
        "followed by 5 digits, like A10023) and the email address, and tell me again."
    )


# Where each carrier the shop uses shows a parcel's progress ({number}: the tracking number).
TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "DHL": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
}


def status_card(order: OrderDetails) -> dict:
    """The order as the widget's card shows it (custom payload), with a tracking link."""
    card = {"type": "order", "order_number": order.order_number, "status": order.status,
            "total": str(order.total), "carrier": order.carrier,
            "tracking_number": order.tracking_number, "tracking_url": None}
    template = TRACKING_URLS.get(order.carrier or "")
    if template and order.tracking_number:
        card["tracking_url"] = template.format(number=quote(order.tracking_number, safe=""))
    return card


def status_text(order: OrderDetails) -> str:
    number = order.order_number
    match order.status:
        case "pending":
            text = f"Order {number} was placed on {date(order.created_at)} and is waiting to be processed."
        case "processing":
            text = (
                f"Order {number} (placed {date(order.created_at)}) is being prepared for shipping."
            )
        case "shipped":
            text = f"Order {number} shipped on {date(order.shipped_at)}"
            if order.carrier and order.tracking_number:
                text += f" with {order.carrier}, tracking number {order.tracking_number}."
            elif order.carrier:
                text += f" with {order.carrier}."
            else:
                text += "."
        case "delivered":
            text = f"Order {number} was delivered on {date(order.delivered_at)}."
        case "cancelled":
            text = f"Order {number} was cancelled on {date(order.cancelled_at)}."
        case "returned":
            text = f"Order {number} was returned; {refund(order)}."
        case other:
            text = f"Order {number} is {other}."
    return f"{text} Items: {items_summary(order)}. Total: {money(order.total)}."
