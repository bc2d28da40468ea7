"""Simulated customers for `carebot simulate`: who they are, what they want, how they say it,
how they answer the bot, and how they rate it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from analytics.store.shop import CustomerOrders

MOODS = ("calm", "neutral", "frustrated", "angry")
MOOD_WEIGHTS = (0.35, 0.35, 0.2, 0.1)

# goal -> how customers open with it ({order} is replaced by an order number when they know it)
OPENERS: dict[str, tuple[str, ...]] = {
    "order_status": (
        "where is my order?", "has my order {order} shipped yet?", "I'm still waiting for my package",
        "can you check on order {order} for me", "when will my parcel arrive?",
        "my delivery was supposed to come yesterday", "tracking hasn't updated in days",
    ),
    "cancel_order": (
        "I'd like to cancel my order", "please cancel order {order}", "can I still cancel {order}?",
        "I ordered the wrong size, cancel it please", "I changed my mind, how do I cancel?",
    ),
    "return_item": (
        "I want to return something", "how do I send back the shoes I bought?",
        "the jacket doesn't fit, I'd like to return it", "I need to return order {order}",
        "the item arrived damaged and I want to send it back",
    ),
    "refund_status": (
        "where's my refund?", "I returned {order} two weeks ago and still no money",
        "when will I get my money back?", "any news on my refund for {order}?",
    ),
    "shipping_info": (
        "how long does shipping take?", "do you ship to Canada?", "how much is express delivery?",
        "is shipping free?", "what are your delivery options",
    ),
    "product_recommendation": (
        "can you recommend something?", "I'm looking for a gift for my sister",
        "what headphones would you suggest?", "any good running shoes?",
        "show me something nice for the kitchen",
    ),
    "payment_issue": (
        "my card keeps getting declined", "I was charged twice for the same order",
        "payment failed but the money left my account", "why won't my payment go through?",
    ),
    "account_help": (
        "I can't log into my account", "how do I reset my password?",
        "I want to change the email on my account", "how can I delete my account",
    ),
    "change_address": (
        "I need to change my delivery address", "wrong address on order {order}, can you fix it?",
        "I moved, can you update the shipping address?",
    ),
    "complaint": (
        "this is the worst service I've ever had", "I'm really unhappy with how this was handled",
        "your delivery company lost my parcel and nobody cares",
        "I've been waiting for weeks and nobody answers my emails",
    ),
    "human_agent": (
        "can I talk to a real person?", "I want to speak to someone from support",
        "get me a human please", "is there an agent I can chat with?",
    ),
}
GOAL_WEIGHTS: dict[str, float] = {
    "order_status": 0.24, "cancel_order": 0.07, "return_item": 0.11, "refund_status": 0.09,
    "shipping_info": 0.1, "product_recommendation": 0.1, "payment_issue": 0.07,
    "account_help": 0.07, "change_address": 0.05, "complaint": 0.06, "human_agent": 0.04,
}
# what a customer often asks next (the journey moves on)
FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "order_status": ("return_item", "change_address", "cancel_order"),
    "shipping_info": ("product_recommendation", "order_status"),
    "product_recommendation": ("shipping_info", "payment_issue"),
    "return_item": ("refund_status",),
    "refund_status": ("complaint",),
    "cancel_order": ("refund_status",),
    "payment_issue": ("order_status",),
    "change_address": ("order_status",),
}
GREETINGS = ("hi", "hello", "hey there", "good morning", "hi!", "hello, anyone there?")
THANKS = ("thanks!", "great, thank you", "perfect, thanks a lot", "ok thanks", "cheers")
GOODBYES = ("bye", "that's all, bye", "ok bye", "have a nice day")
AFFIRM = ("yes please", "yes", "sure", "yeah ok")
DENY = ("no thanks", "no", "not now")
CONFUSED = ("hmm what do you mean", "that's not what I asked", "??", "I don't understand",
            "whatever", "do you sell gift cards shaped like dinosaurs", "my cat walked on the keyboard")
BOT_CHALLENGE = ("am I talking to a bot?", "are you a real person?")
CATEGORIES = ("electronics", "clothing", "shoes", "home", "kitchen", "books", "sports",
              "beauty", "toys")
ANGRY_PREFIX = ("Seriously, ", "Unbelievable. ", "This is the third time I ask: ", "Come on, ")
ANGRY_SUFFIX = ("!!", " This is ridiculous.", " I'm fed up.", "!!!")
FRUSTRATED_SUFFIX = (" I've been waiting forever.", " again...", " this is annoying")
POLITE_PREFIX = ("Hi, ", "Hello! ", "Good afternoon, ")
POLITE_SUFFIX = (" Thanks!", " Thank you.", " please")
AGENT_REPLIES = ("Hi, I've looked into it and sorted it out for you.",
                 "Thanks for waiting. I've escalated this with the warehouse and you'll get an "
                 "email today.", "Sorry about this. I've issued a credit to your account.")
COMMENTS_GOOD = ("quick and easy", "very helpful", "great service")
COMMENTS_BAD = ("took far too long", "the bot didn't understand me", "still not solved")


@dataclass
class Persona:
    """One simulated customer."""

    mood: str
    goal: str
    external_id: str | None = None  # a verified, signed-in customer
    email: str | None = None
    orders: list[str] = field(default_factory=list)
    patience: int = 2  # misunderstandings tolerated before giving up or asking for a person
    chatty: bool = False  # greets, thanks, asks follow-ups
    typo_rate: float = 0.0

    @property
    def order(self) -> str | None:
        return self.orders[0] if self.orders else None


def make_persona(rng: random.Random, shop_customers: list[CustomerOrders]) -> Persona:
    """A random customer; 60% are signed-in shop customers, the rest anonymous visitors who
    still know one of their orders."""
    mood = rng.choices(MOODS, MOOD_WEIGHTS)[0]
    goal = rng.choices(list(GOAL_WEIGHTS), list(GOAL_WEIGHTS.values()))[0]
    if mood in ("calm", "neutral") and goal == "complaint":
        mood = "frustrated"
    customer = rng.choice(shop_customers) if shop_customers else None
    signed_in = customer is not None and rng.random() < 0.6
    orders = list(customer.order_numbers) if customer else []
    rng.shuffle(orders)
    return Persona(
        mood=mood, goal=goal, external_id=customer.external_id if signed_in else None,
        email=customer.email if customer else None, orders=orders[:3],
        patience={"calm": 3, "neutral": 2, "frustrated": 1, "angry": 1}[mood] + rng.randint(0, 1),
        chatty=rng.random() < (0.7 if mood in ("calm", "neutral") else 0.3),
        typo_rate=rng.choice((0.0, 0.0, 0.02, 0.05)),
    )


def say(rng: random.Random, persona: Persona, text: str) -> str:
    """``text`` the way this persona types it."""
    if persona.mood == "angry":
        text = rng.choice(ANGRY_PREFIX) + text + rng.choice(ANGRY_SUFFIX)
        if rng.random() < 0.2:
            text = text.upper()
    elif persona.mood == "frustrated" and rng.random() < 0.6:
        text = text + rng.choice(FRUSTRATED_SUFFIX)
    elif persona.mood == "calm" and rng.random() < 0.4:
        text = rng.choice(POLITE_PREFIX) + text + (rng.choice(POLITE_SUFFIX)
                                                   if rng.random() < 0.5 else "")
    if persona.typo_rate:
        text = "".join(c for c in text if rng.random() >= persona.typo_rate)
    return text.strip() or "hi"


def opener(rng: random.Random, persona: Persona, goal: str) -> str:
    options = OPENERS[goal]
    if persona.order is None:
        options = tuple(o for o in options if "{order}" not in o) or options
    text = rng.choice(options).replace("{order}", persona.order or "my order")
    return say(rng, persona, text)


@dataclass
class Experience:
    """What happened to the customer, which decides the rating."""

    fallbacks: int = 0
    answered: int = 0  # goals the bot (or an agent) dealt with
    escalated: bool = False
    agent_resolved: bool = False
    gave_up: bool = False


def rating(rng: random.Random, persona: Persona, experience: Experience) -> int | None:
    """1-5, or None when the customer does not bother to rate (most don't)."""
    score = {"calm": 4.0, "neutral": 3.6, "frustrated": 2.7, "angry": 2.0}[persona.mood]
    score += 0.5 * min(experience.answered, 2) - 0.7 * experience.fallbacks
    if experience.escalated:
        score += 0.6 if experience.agent_resolved else -1.0
    if experience.gave_up:
        score -= 1.2
    score += rng.gauss(0, 0.6)
    value = int(round(min(5.0, max(1.0, score))))
    extreme = value in (1, 5)
    if rng.random() > (0.55 if extreme else 0.35):
        return None
    return value


def comment(rng: random.Random, value: int) -> str | None:
    if rng.random() > 0.3:
        return None
    return rng.choice(COMMENTS_GOOD if value >= 4 else COMMENTS_BAD)
