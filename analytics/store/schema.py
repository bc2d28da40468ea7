"""SQLAlchemy 2.x schema of the analytics store. Alembic migrations mirror it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
REFUND_STATUSES = ("none", "requested", "processing", "refunded", "rejected")
CONVERSATION_STATUSES = ("bot", "escalated", "agent", "resolved")
ROLES = ("agent", "analyst", "admin")


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. "C1001"
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(128))
    country: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    segment: Mapped[str | None] = mapped_column(String(64))

    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64), index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    description: Mapped[str] = mapped_column(Text, default="")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. "A10023"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # ORDER_STATUSES
    refund_status: Mapped[str] = mapped_column(String(16), default="none")  # REFUND_STATUSES
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    shipping_address: Mapped[str] = mapped_column(String(512), default="")
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # Rasa's sender id
    channel: Mapped[str] = mapped_column(String(32), default="rest")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="bot")  # CONVERSATION_STATUSES
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_active_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    fallback_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    csat_rating: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    # The dialogue tracker (slots, active form, pending events) so a restart loses nothing.
    tracker_state: Mapped[dict] = mapped_column(JSON, default=dict)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4, set by the writer's caller
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    sender: Mapped[str] = mapped_column(String(16))  # "user" | "bot" | "agent"
    text: Mapped[str] = mapped_column(Text)  # redacted for user messages
    # The words as written, Fernet-encrypted, for the customer's own history and the agent
    # only (bot/privacy); analytics never reads it. Purged after the retention (revision 0004).
    raw_text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list] = mapped_column(JSON, default=list)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # buttons, custom payloads, agent id
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_conversation_created", "conversation_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    type: Mapped[str] = mapped_column(String(64), index=True)  # e.g. action, slot, agent_reply
    actor: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(64))  # human_agent, negative_sentiment, fallback, complaint
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher is more urgent
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|claimed|resolved|returned
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the email a customer left while nobody was online, to be answered by email (0006)
    contact_email: Mapped[str | None] = mapped_column(String(255))


class User(Base):
    """A person who logs into the agent console or the analytics dashboard."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # ROLES
    created_at: Mapped[datetime] = mapped_column(DateTime)
    display_name: Mapped[str | None] = mapped_column(String(128))  # shown to customers (0006)


class UserSession(Base):
    """A console or dashboard log-in (revision 0004): the cookie holds a random token, this
    row its SHA-256; deleting the row (log-out, new password, user removed) ends it."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ConversationNote(Base):
    """An agent's private note on a conversation (revision 0006); customers never see it."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)  # no FK: as receipts
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SavedReply(Base):
    """A canned answer agents insert with ``/shortcut`` (revision 0006)."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


# -- analytics rollups and model outputs (revision 0002) ---------------------------------


class ConversationFacts(Base):
    """What a conversation's messages add up to; kept current by the conversation log so
    reports never scan the message table (analytics/store/rollups.py)."""

    __tablename__ = "conversation_facts"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_messages: Mapped[int] = mapped_column(Integer, default=0)
    bot_messages: Mapped[int] = mapped_column(Integer, default=0)
    agent_messages: Mapped[int] = mapped_column(Integer, default=0)
    fallback_messages: Mapped[int] = mapped_column(Integer, default=0)
    negative_messages: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_n: Mapped[int] = mapped_column(Integer, default=0)  # customer messages scored
    sentiment_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_first: Mapped[float | None] = mapped_column(Float)
    sentiment_last: Mapped[float | None] = mapped_column(Float)
    sentiment_min: Mapped[float | None] = mapped_column(Float)
    primary_intent: Mapped[str | None] = mapped_column(String(64), index=True)
    last_intent: Mapped[str | None] = mapped_column(String(64))
    first_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_unresolved: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ConversationIntentFacts(Base):
    """Per conversation and intent: the customer's messages and their sentiment."""

    __tablename__ = "conversation_intent_facts"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    intent: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    negative_messages: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_n: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_sum: Mapped[float] = mapped_column(Float, default=0.0)
    first_at: Mapped[datetime | None] = mapped_column(DateTime)


class CustomerSegment(Base):
    """The segment the segmentation model put a customer in (analytics/insights/segments.py)."""

    __tablename__ = "customer_segments"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(64), index=True)
    fitted_at: Mapped[datetime] = mapped_column(DateTime)


class CsatPrediction(Base):
    """The satisfaction model's predicted CSAT for a conversation the customer did not rate."""

    __tablename__ = "csat_predictions"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    predicted_csat: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))
    fitted_at: Mapped[datetime] = mapped_column(DateTime)



# -- the dialogue core's scheduled reminders (revision 0003) ------------------------------


class Reminder(Base):
    """A Rasa reminder (ReminderScheduled) waiting to fire its intent; deleted when it fires or
    is cancelled (bot/dialogue/actions/reminders.py)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_conversation_name", "conversation_id", "name",
                            unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128))  # no FK: may precede the row
    name: Mapped[str] = mapped_column(String(255))  # Rasa's reminder name; a new one replaces
    intent: Mapped[str] = mapped_column(String(255))
    fire_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    kill_on_user_msg: Mapped[bool] = mapped_column(Boolean)
    event: Mapped[dict] = mapped_column(JSON)  # the ReminderScheduled event (entities...)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# -- client message ids already handled (revision 0005) ---------------------------------


class MessageReceipt(Base):
    """A client message id (the widget's uuid) some server process has handled: the key
    that makes a resent message a duplicate forever, in every process
    (analytics/store/receipts.py)."""

    __tablename__ = "message_receipts"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128))  # no FK: may precede the row
    received_at: Mapped[datetime] = mapped_column(DateTime)


# -- the NLU inbox: customer messages a bot builder labelled (revision 0007) -------------


class NluReviewLabel(Base):
    """A customer message the bot understood badly, labelled by a bot builder with the intent
    it meant (or marked out of scope); written into the project's NLU data on export
    (analytics/insights/nlu_inbox.py). The text is the redacted one, copied at labelling."""

    __tablename__ = "nlu_review_labels"

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))  # None: out of scope
    predicted_intent: Mapped[str | None] = mapped_column(String(64))
    labelled_by: Mapped[str] = mapped_column(String(64))
    labelled_at: Mapped[datetime] = mapped_column(DateTime)
    exported_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


# Reports quote customer messages most negative first, overall and per intent.
_CUSTOMER_MESSAGE = text("sender = 'user'")
Index("ix_messages_user_intent_sentiment", Message.intent, Message.sentiment_score,
      postgresql_where=_CUSTOMER_MESSAGE, sqlite_where=_CUSTOMER_MESSAGE)
Index("ix_messages_user_sentiment", Message.sentiment_score,
      postgresql_where=_CUSTOMER_MESSAGE, sqlite_where=_CUSTOMER_MESSAGE)
# The escalation repair (bot/dialogue/handoffs.py) looks for waiting conversations each minute.
_WAITING = text("status = 'escalated'")
Index("ix_conversations_waiting", Conversation.status,
      postgresql_where=_WAITING, sqlite_where=_WAITING)
