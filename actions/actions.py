"""The shop's custom actions, written against rasa-sdk's public API only.

They run in-process under Carebot's server and unchanged under Rasa's action server.
Orders are only discussed with their owner: the conversation's verified `customer_id`
or the `email` the customer gave must match the order's customer.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.product_search import asks_for_a_product
from actions.replies import (
    ASK_EMAIL,
    ASK_ORDER_NUMBER,
    CANCEL_ORDER,
    HUMAN_AGENT,
    REFUND_STATUS,
    START_RETURN,
    UNAVAILABLE,
    date,
    money,
    not_found,
    refund,
    status_card,
    status_text,
)
from actions.settings import Shop, current_shop
from analytics.insights.recommender import Recommendation, resolve_category
from analytics.store.shop import RETURN_WINDOW, Requester, normalize_order_number

logger = logging.getLogger(__name__)

RECOMMENDATION_COUNT = 3


def _requester(tracker: Tracker) -> Requester:
    email = tracker.get_slot("email")
    return Requester(
        customer_id=tracker.get_slot("customer_id") or None,
        email=email.strip() if isinstance(email, str) and email.strip() else None,
    )


def _order_number(tracker: Tracker) -> str | None:
    value = tracker.get_slot("order_id")
    if isinstance(value, list):  # several order_id entities in one message: take the last
        value = value[-1] if value else None
    return normalize_order_number(str(value)) if value else None


class ShopAction(Action, metaclass=ABCMeta):
    """An action that answers from the shop's data; a database outage becomes an apology."""

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop
    ) -> list[dict[str, Any]]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            # Opening the shop on first use reads the recommender's file: off the event loop.
            shop = await asyncio.to_thread(current_shop)
            return await self.answer(dispatcher, tracker, shop)
        except SQLAlchemyError:
            logger.exception("%s could not reach the shop database", self.name())
            dispatcher.utter_message(text=UNAVAILABLE, buttons=[HUMAN_AGENT])
            return []


class OrderAction(ShopAction, metaclass=ABCMeta):
    """An action about one order of the conversation's customer."""

    @abstractmethod
    async def answer_for(
        self, dispatcher: CollectingDispatcher, shop: Shop, number: str, requester: Requester
    ) -> list[dict[str, Any]]: ...

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop
    ) -> list[dict[str, Any]]:
        number = _order_number(tracker)
        if not number:
            dispatcher.utter_message(text=ASK_ORDER_NUMBER)
            return []
        requester = _requester(tracker)
        if not requester.identified:
            # The bot's form normally asks for the email first; this is the safety net.
            dispatcher.utter_message(text=ASK_EMAIL)
            return []
        return await self.answer_for(dispatcher, shop, number, requester)

    @staticmethod
    def unknown_order(
        dispatcher: CollectingDispatcher, number: str, requester: Requester
    ) -> list[dict[str, Any]]:
        """The same answer whether the order is missing or another customer's: no leak."""
        dispatcher.utter_message(text=not_found(requester, number))
        return [SlotSet("order_id", None)]


class ActionOrderStatus(OrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def answer_for(
        self, dispatcher: CollectingDispatcher, shop: Shop, number: str, requester: Requester
    ) -> list[dict[str, Any]]:
        order = await asyncio.to_thread(shop.repository.owned_order, number, requester)
        if order is None:
            return self.unknown_order(dispatcher, number, requester)
        buttons = [START_RETURN] if order.status == "delivered" else []
        dispatcher.utter_message(text=status_text(order), buttons=buttons,
                                 json_message=status_card(order))
        return [SlotSet("order_id", order.order_number)]


class ActionCancelOrder(OrderAction):
    def name(self) -> str:
        return "action_cancel_order"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop
    ) -> list[dict[str, Any]]:
        # Irreversible: only after the customer's yes to "Cancel order …?" (cancel_order_form),
        # and that yes is used up so the next cancellation is asked about again.
        confirmed = tracker.get_slot("cancel_confirmed")
        if confirmed is False:
            dispatcher.utter_message(response="utter_cancel_kept")
            return [SlotSet("cancel_confirmed", None)]
        if confirmed is not True:
            dispatcher.utter_message(response="utter_ask_cancel_confirmed")
            return []
        return [*await super().answer(dispatcher, tracker, shop), SlotSet("cancel_confirmed", None)]

    async def answer_for(
        self, dispatcher: CollectingDispatcher, shop: Shop, number: str, requester: Requester
    ) -> list[dict[str, Any]]:
        outcome = await asyncio.to_thread(shop.repository.cancel_order, number, requester)
        order = outcome.order
        if order is None:
            return self.unknown_order(dispatcher, number, requester)
        days = RETURN_WINDOW.days
        if outcome.result == "cancelled":
            text = (
                f"Done — order {number} is cancelled. Any payment taken "
                f"({money(order.total)}) goes back to your original payment method."
            )
            dispatcher.utter_message(text=text)
        elif outcome.result == "already_cancelled":
            text = f"Order {number} is already cancelled (since {date(order.cancelled_at)})."
            dispatcher.utter_message(text=text)
        elif order.status == "shipped":
            text = (
                f"Order {number} already shipped on {date(order.shipped_at)}, so it can't be "
                f"cancelled any more. Once it arrives you can return it within {days} days "
                "of delivery."
            )
            dispatcher.utter_message(text=text, buttons=[START_RETURN])
        elif order.status == "delivered":
            text = (
                f"Order {number} was delivered on {date(order.delivered_at)}, so it can't be "
                f"cancelled — but you can return it within {days} days of delivery."
            )
            dispatcher.utter_message(text=text, buttons=[START_RETURN])
        else:
            text = f"Order {number} has already been returned, so there is nothing to cancel."
            dispatcher.utter_message(text=text, buttons=[REFUND_STATUS])
        return [SlotSet("order_id", order.order_number)]


class ActionReturnItem(OrderAction):
    def name(self) -> str:
        return "action_return_item"

    async def answer_for(
        self, dispatcher: CollectingDispatcher, shop: Shop, number: str, requester: Requester
    ) -> list[dict[str, Any]]:
        check = await asyncio.to_thread(shop.repository.return_eligibility, number, requester)
        order = check.order
        if order is None:
            return self.unknown_order(dispatcher, number, requester)
        days = RETURN_WINDOW.days
        buttons: list[dict[str, str]] = []
        match check.result:
            case "eligible":
                text = (
                    f"Good news: order {number} can be returned until {date(check.deadline)}. "
                    f"We'll email a prepaid return label to {order.customer.email}. Pack the "
                    "items in their original packaging, attach the label and drop the parcel "
                    f"at any {order.carrier or 'carrier'} point. Your refund of up to "
                    f"{money(order.total)} is issued within 5 business days of the parcel "
                    "reaching us."
                )
            case "window_closed":
                text = (
                    f"Order {number} was delivered on {date(order.delivered_at)}, and returns "
                    f"are accepted for {days} days, so the return window closed on "
                    f"{date(check.deadline)}. If something is wrong with the item, a person "
                    "from our team can look into it."
                )
                buttons = [HUMAN_AGENT]
            case "not_delivered" if order.status == "shipped":
                text = (
                    f"Order {number} is on its way (shipped {date(order.shipped_at)}). Once "
                    f"it's delivered you can return it within {days} days."
                )
            case "not_delivered":
                text = (
                    f"Order {number} hasn't shipped yet, so there is nothing to return — "
                    "you can cancel it instead."
                )
                buttons = [CANCEL_ORDER]
            case "cancelled":
                text = f"Order {number} was cancelled, so there is nothing to return."
            case _:
                text = f"Order {number} has already been returned; {refund(order)}."
                buttons = [REFUND_STATUS]
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("order_id", order.order_number)]


class ActionRefundStatus(OrderAction):
    def name(self) -> str:
        return "action_refund_status"

    async def answer_for(
        self, dispatcher: CollectingDispatcher, shop: Shop, number: str, requester: Requester
    ) -> list[dict[str, Any]]:
        order = await asyncio.to_thread(shop.repository.owned_order, number, requester)
        if order is None:
            return self.unknown_order(dispatcher, number, requester)
        amount = money(order.total)
        buttons: list[dict[str, str]] = []
        match order.refund_status:
            case "requested":
                text = f"We've received the refund request for order {number} and will review it shortly."
            case "processing":
                text = (
                    f"The refund of {amount} for order {number} is being processed; it usually "
                    "reaches your account within 5–7 business days."
                )
            case "refunded":
                text = f"Order {number} has been refunded: {amount} went back to your original payment method."
            case "rejected":
                text = (
                    f"The refund request for order {number} was declined. A person from our "
                    "team can explain why and review it with you."
                )
                buttons = [HUMAN_AGENT]
            case _:
                text = f"There's no refund in progress for order {number}."
                if order.status == "delivered":
                    buttons = [START_RETURN]
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("order_id", order.order_number)]


class ActionCustomerProfile(ShopAction):
    def name(self) -> str:
        return "action_customer_profile"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop
    ) -> list[dict[str, Any]]:
        # Only a verified identity unlocks the profile: an email typed into the chat proves nothing.
        customer_id = tracker.get_slot("customer_id")
        if not customer_id:
            dispatcher.utter_message(
                text="I can show your account details once you're signed in. Please sign in "
                "to your account on our site and open the chat again."
            )
            return []
        profile = await asyncio.to_thread(shop.repository.customer_profile, customer_id)
        if profile is None:
            dispatcher.utter_message(
                text="I couldn't load your account details. A person from our team can help.",
                buttons=[HUMAN_AGENT],
            )
            return []
        customer = profile.customer
        membership = "VIP member" if customer.vip else "member"
        if customer.segment:
            membership += f" ({customer.segment})"
        lines = [
            f"Here's your account, {customer.name}:",
            f"Email: {customer.email}",
            f"Status: {membership}",
            f"Orders: {profile.order_count}, worth {money(profile.lifetime_value)} in total",
        ]
        if profile.recent_orders:
            recent = "; ".join(
                f"{o.order_number} ({o.status}, {date(o.created_at)})"
                for o in profile.recent_orders
            )
            lines.append(f"Recent orders: {recent}")
        dispatcher.utter_message(text="\n".join(lines))
        return []


CATALOGUE_LIMIT = 10_000  # "rank everything" for the product search
# How much the recommender's order counts among products equally relevant to the request.
MODEL_WEIGHT = 0.05


@dataclass(frozen=True)
class Picks:
    products: list[Recommendation]
    # the request named products and nothing in the catalogue fits them
    not_sold: bool = False
    searched: bool = False  # the picks are what the request named


def _recommend(
    shop: Shop, customer_id: str | None, category: str | None, text: str = ""
) -> Picks:
    repository = shop.repository
    # Orders placed since the model was trained count as bought too.
    bought = repository.purchased_skus(customer_id) if customer_id else set()
    if shop.recommender is not None:
        ranked = shop.recommender.recommend(customer_id, category, k=CATALOGUE_LIMIT,
                                            exclude=bought)
    else:
        ranked = [
            Recommendation(p.sku, p.name, p.category, p.price, 0.0, "popular")
            for p in repository.popular_products(category, customer_id, CATALOGUE_LIMIT)
            if p.sku not in bought
        ]
    if not asks_for_a_product(text):
        return Picks(ranked[:RECOMMENDATION_COUNT])
    # The request decides what kind of product; the model's order decides among products
    # as relevant as each other (the brands of one product type).
    catalogue = [p for p in repository.products() if category is None or p.category == category]
    matches = shop.search.search(text, catalogue)
    if matches is None:
        return Picks(ranked[:RECOMMENDATION_COUNT])
    if not matches:
        return Picks([], not_sold=True)
    relevance = {catalogue[m.index].sku: m.relevance for m in matches}
    place = {p.sku: i for i, p in enumerate(ranked)}
    wanted = sorted(
        (p for p in ranked if p.sku in relevance),
        key=lambda p: -(relevance[p.sku] - MODEL_WEIGHT * place[p.sku] / max(len(ranked), 1)),
    )
    return Picks(wanted[:RECOMMENDATION_COUNT], searched=True)


def _known_categories(shop: Shop) -> list[str]:
    if shop.recommender is not None:
        return shop.recommender.categories
    return shop.repository.categories()


class ActionRecommendProducts(ShopAction):
    def name(self) -> str:
        return "action_recommend_products"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop
    ) -> list[dict[str, Any]]:
        # Personalise for verified customers only: recommendations built from a typed-in
        # email would reveal what that person bought.
        customer_id = tracker.get_slot("customer_id") or None
        asked = tracker.get_slot("product_category")
        text = (tracker.latest_message or {}).get("text") or ""
        category = None
        if asked:
            known = await asyncio.to_thread(_known_categories, shop)
            category = resolve_category(str(asked), known)
            if category is None and not asks_for_a_product(text):
                dispatcher.utter_message(
                    text=f"We don't have a '{asked}' section. I can suggest something from: "
                    f"{', '.join(known)}."
                )
                return [SlotSet("product_category", None)]
            # not a section name ("headphones", "gym gear"): the product search finds it
        found = await asyncio.to_thread(_recommend, shop, customer_id, category, text)
        picks = found.products
        if found.not_sold:
            known = await asyncio.to_thread(_known_categories, shop)
            where = f" in {category}" if category else ""
            dispatcher.utter_message(
                text=f"Sorry, we don't sell that{where}. I can suggest something from: "
                f"{', '.join(known)}."
            )
            return [SlotSet("last_recommendations", []), SlotSet("product_category", None)]
        if not picks:
            where = f" in {category}" if category else ""
            dispatcher.utter_message(text=f"I have nothing new to suggest{where} right now.")
            return [SlotSet("last_recommendations", [])]
        if found.searched:
            intro = "Here's what we have for that:"
        elif any(p.reason != "popular" for p in picks):
            intro = "Based on your past orders, you might like:"
        elif category:
            intro = f"Popular in {category} right now:"
        else:
            intro = "Some of our best sellers:"
        lines = [intro] + [f"• {p.name} — {money(p.price)}" for p in picks]
        products = [
            {
                "sku": p.sku,
                "name": p.name,
                "price": p.price,
                "category": p.category,
                "url": f"/products/{p.sku}",
                "image": None,
            }
            for p in picks
        ]
        dispatcher.utter_message(
            text="\n".join(lines), json_message={"type": "products", "products": products}
        )
        events = [SlotSet("last_recommendations", [p.sku for p in picks])]
        if category:
            events.append(SlotSet("product_category", category))
        elif asked:  # a product, not a section: not kept for the next request
            events.append(SlotSet("product_category", None))
        return events
