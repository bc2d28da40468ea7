"""`carebot simulate`: simulated customers talk to the real bot, over the same WebSocket the
widget uses (some over the REST channel), and a simulated agent answers the hand-offs through
the agent console's API. The bot runs in this process on an ephemeral port."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import Engine
from tqdm import tqdm

from analytics.store.backdate import backdate
from analytics.store.reads import ConversationStore
from analytics.store.shop import CustomerOrders, ShopRepository
from bot.channels.identity import sign_customer_id
from bot.config import Config
from bot.simulate import customers as sim
from bot.web.keys import DB, SERVICE, SESSIONS, STORE
from bot.web.sessions import AuthUser

logger = logging.getLogger(__name__)

AGENT_USERNAME = "simulated-agent"
REPLY_TIMEOUT = 60.0
MAX_TURNS = 14
REST_SHARE = 0.15
_HANDOFF_WORDS = ("connecting you with a person", "passing this to a member of our team")


class SimulationError(RuntimeError):
    """The simulation cannot run (e.g. no trained models)."""


@dataclass
class SimulationResult:
    conversations: int = 0
    customer_messages: int = 0
    escalated: int = 0
    agent_resolved: int = 0
    gave_up: int = 0
    rated: int = 0
    seconds: float = 0.0
    ratings: list[int] = field(default_factory=list)

    def describe(self) -> str:
        average = sum(self.ratings) / len(self.ratings) if self.ratings else float("nan")
        return (f"Simulated {self.conversations} conversations ({self.customer_messages} customer "
                f"messages) in {self.seconds:.0f} s: {self.escalated} handed to the simulated "
                f"agent ({self.agent_resolved} resolved), {self.gave_up} customers gave up, "
                f"{self.rated} rated (average {average:.2f}). Run `carebot analytics retrain` "
                "to refit the models, then open /analytics.")


class SimulatedConversation:
    """One persona's conversation, driven turn by turn from what the bot answers."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, rng: random.Random,
                 persona: sim.Persona, widget_secret: str, agent_headers: dict[str, str]):
        self.session, self.base_url, self.rng, self.persona = session, base_url, rng, persona
        self.secret, self.agent_headers = widget_secret, agent_headers
        self.id = f"sim-{uuid.UUID(int=rng.getrandbits(128)).hex[:20]}"
        self.rest = rng.random() < REST_SHARE
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: list[dict] = []
        self.experience = sim.Experience()
        self.messages_sent = 0
        self.rating: int | None = None

    # -- transport -----------------------------------------------------------------------

    async def _send(self, text: str) -> list[str]:
        """Say ``text``; returns the bot's replies (empty while a person holds the chat)."""
        self.messages_sent += 1
        if self.rest:
            metadata = {}
            if self.persona.external_id:
                metadata = {"customer_id": self.persona.external_id,
                            "signature": sign_customer_id(self.persona.external_id, self.secret)}
            async with self.session.post(self.base_url + "/webhooks/rest/webhook", json={
                    "sender": self.id, "message": text, "metadata": metadata}) as response:
                response.raise_for_status()
                return [m.get("text", "") for m in await response.json()]
        assert self.ws is not None
        await self.ws.send_json({"type": "message", "text": text, "id": str(uuid.uuid4())})
        replies = []
        while True:
            frame = await self._frame()
            if frame.get("type") == "bot":
                replies.append(frame.get("text", ""))
            elif frame.get("type") == "typing" and frame.get("on") is False \
                    and frame.get("who") != "agent":
                return replies

    async def _frame(self, timeout: float = REPLY_TIMEOUT) -> dict:
        assert self.ws is not None
        frame = await self.ws.receive_json(timeout=timeout)
        self.frames.append(frame)
        return frame

    async def _wait_for(self, kind: str, timeout: float = REPLY_TIMEOUT) -> dict | None:
        for frame in self.frames:
            if frame.get("type") == kind:
                self.frames.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await self._frame(left)
            except TimeoutError:
                return None
            if frame.get("type") == kind:
                self.frames.remove(frame)
                return frame
        return None

    def _escalated(self, replies: list[str]) -> bool:
        if any(f.get("type") == "status" and f.get("status") == "escalated" for f in self.frames):
            return True
        return any(word in r.lower() for r in replies for word in _HANDOFF_WORDS)

    # -- the conversation ----------------------------------------------------------------

    async def run(self) -> None:
        if not self.rest:
            self.ws = await self.session.ws_connect(self.base_url + "/ws")
            hello: dict[str, Any] = {"type": "hello", "conversation_id": self.id}
            if self.persona.external_id:
                hello["customer_id"] = self.persona.external_id
                hello["signature"] = sign_customer_id(self.persona.external_id, self.secret)
            await self.ws.send_json(hello)
            await self._wait_for("welcome")
        try:
            await self._talk()
            if self.ws is not None and not self.rest:
                await self._rate()
        finally:
            if self.ws is not None:
                await self.ws.close()

    async def _talk(self) -> None:
        rng, persona = self.rng, self.persona
        if persona.chatty or rng.random() < 0.25:
            await self._send(sim.say(rng, persona, rng.choice(sim.GREETINGS)))
        goal = persona.goal
        text = sim.opener(rng, persona, goal)
        noise_left = 1 if rng.random() < 0.2 else 0
        for _ in range(MAX_TURNS):
            replies = await self._send(text)
            if self._escalated(replies):
                self.experience.escalated = True
                await self._agent_handles_it()
                return
            said = " ".join(replies).lower()
            if "?" in said and rng.random() < (0.12 if persona.mood == "angry" else 0.05):
                self.experience.gave_up = True  # walked away instead of answering
                return
            if "order number" in said and "?" in said:
                text = self._order_answer()
            elif "email address" in said:
                text = persona.email or "I don't remember"
            elif "particular category" in said:
                text = rng.choice(sim.CATEGORIES)
            elif "talk to a person" in said or "shall i get a person" in said:
                wants = persona.mood in ("frustrated", "angry") or \
                    self.experience.fallbacks >= persona.patience
                text = rng.choice(sim.AFFIRM if wants else sim.DENY)
            elif "didn't quite get" in said or "doesn't look like" in said:
                self.experience.fallbacks += 1
                if self.experience.fallbacks > persona.patience + 1:
                    self.experience.gave_up = True
                    return
                text = sim.opener(rng, persona, goal)
            elif noise_left:
                noise_left -= 1
                text = rng.choice(sim.CONFUSED + sim.BOT_CHALLENGE)
            else:
                self.experience.answered += 1
                follow = sim.FOLLOW_UPS.get(goal)
                if follow and rng.random() < (0.4 if persona.chatty else 0.2):
                    goal = rng.choice(follow)
                    text = sim.opener(rng, persona, goal)
                    continue
                if persona.chatty or rng.random() < 0.4:
                    await self._send(sim.say(rng, persona, rng.choice(sim.THANKS)))
                    if rng.random() < 0.5:
                        await self._send(rng.choice(sim.GOODBYES))
                return
        self.experience.gave_up = True

    def _order_answer(self) -> str:
        order = self.persona.order
        if order is None or self.rng.random() < 0.08:
            return self.rng.choice(("I don't have it", "it's in my email somewhere", "A12"))
        return self.rng.choice((order, f"it's {order}", f"order {order}", order.lower()))

    async def _agent_handles_it(self) -> None:
        """The simulated agent claims, answers and resolves (or hands back) the conversation."""
        rng = self.rng
        base = f"{self.base_url}/agent/api/conversations/{self.id}"
        await asyncio.sleep(rng.uniform(0.05, 0.3))
        async with self.session.post(base + "/claim", headers=self.agent_headers) as response:
            if response.status != 200:
                logger.warning("simulated agent could not claim %s: %s", self.id,
                               await response.text())
                return
        async with self.session.post(base + "/reply", headers=self.agent_headers,
                                     json={"text": rng.choice(sim.AGENT_REPLIES)}) as response:
            response.raise_for_status()
        if not self.rest:
            await self._wait_for("agent", 10)
            if rng.random() < 0.6:
                await self._send(sim.say(rng, self.persona, rng.choice(sim.THANKS)))
        step = "/resolve" if rng.random() < 0.85 else "/handback"
        async with self.session.post(base + step, headers=self.agent_headers) as response:
            response.raise_for_status()
        self.experience.agent_resolved = step == "/resolve"
        if not self.rest and step == "/resolve":
            await self._wait_for("ended", 10)

    async def _rate(self) -> None:
        if self.experience.gave_up and self.rng.random() < 0.7:
            return  # people who give up rarely stay to rate
        value = sim.rating(self.rng, self.persona, self.experience)
        if value is None or self.ws is None:
            return
        message: dict[str, Any] = {"type": "csat", "rating": value}
        if (text := sim.comment(self.rng, value)) is not None:
            message["comment"] = text
        await self.ws.send_json(message)
        if await self._wait_for("csat_thanks", 10) is not None:
            self.rating = value


async def run_simulation(config: Config, count: int, *,
                         create_app: Callable[[Config], web.Application], concurrency: int = 4,
                         days: int = 30, seed: int | None = None,
                         progress: bool = True) -> SimulationResult:
    """Run ``count`` simulated conversations against an in-process bot made by
    ``create_app``; spread them over the past ``days`` days."""
    rng = random.Random(seed)
    secret = config.widget_secret or secrets.token_hex(16)
    # every simulated customer comes from this machine: limits per address would stop them
    limits = replace(config.limits, messages_per_address="off", order_lookups_per_address="off")
    # the simulated customers talk to their own in-process server: no REST token either
    config = replace(config.with_overrides(widget_secret=secret, limits=limits),
                     rest_token=None)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    try:
        await runner.setup()
    except RuntimeError as exc:
        raise SimulationError(f"The bot cannot start: {exc}") from exc
    started = time.perf_counter()
    result = SimulationResult()
    finished: list[SimulatedConversation] = []
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        engine: Engine = app[DB]
        customers = await asyncio.to_thread(_shop_customers, engine)
        agent = await asyncio.to_thread(_simulated_agent, app[STORE])
        headers = {"Authorization": f"Bearer {await app[SESSIONS].issue(agent)}"}
        limit = asyncio.Semaphore(concurrency)
        seeds = [rng.getrandbits(64) for _ in range(count)]
        timeout = aiohttp.ClientTimeout(total=None, sock_read=REPLY_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with tqdm(total=count, desc="simulated conversations", unit="conv",
                      disable=not progress) as bar:

                async def one(conversation_seed: int) -> None:
                    own = random.Random(conversation_seed)
                    persona = sim.make_persona(own, customers)
                    conversation = SimulatedConversation(session, base_url, own, persona,
                                                         secret, headers)
                    async with limit:
                        await conversation.run()
                    finished.append(conversation)
                    bar.update()

                await asyncio.gather(*(one(s) for s in seeds))
        log = app[SERVICE].log
        if not await asyncio.to_thread(log.flush, 120.0):
            raise SimulationError("The conversation log did not catch up; check the database.")
        if days:
            await asyncio.to_thread(_spread, engine, finished, days, rng)
    finally:
        await runner.cleanup()
    for c in finished:
        result.conversations += 1
        result.customer_messages += c.messages_sent
        result.escalated += c.experience.escalated
        result.agent_resolved += c.experience.agent_resolved
        result.gave_up += c.experience.gave_up
        if c.rating is not None:
            result.rated += 1
            result.ratings.append(c.rating)
    result.seconds = time.perf_counter() - started
    return result


def _spread(engine: Engine, conversations: list[SimulatedConversation], days: int,
            rng: random.Random) -> None:
    for c in tqdm(conversations, desc="spreading over past days", unit="conv", leave=False,
                  disable=len(conversations) < 50):
        backdate(engine, c.id, shift=timedelta(seconds=rng.uniform(0, days * 86400)),
                 agent_wait=timedelta(seconds=rng.lognormvariate(5.2, 0.8)),  # median ~3 min
                 agent_work=timedelta(seconds=rng.lognormvariate(5.9, 0.6)))  # median ~6 min


def _shop_customers(engine: Engine) -> list[CustomerOrders]:
    customers = ShopRepository(engine).customers_with_orders()
    if not customers:
        logger.warning("The shop has no customers; every simulated visitor is anonymous "
                       "(run `carebot demo-data` for a demo shop)")
    return customers


def _simulated_agent(store: ConversationStore) -> AuthUser:
    """The simulated agent's account (created once, with a password nobody knows)."""
    user = store.user_named(AGENT_USERNAME)
    if user is None:
        user = store.add_user(AGENT_USERNAME, secrets.token_urlsafe(24), "agent")
    return AuthUser(user.id, user.username, user.role)
