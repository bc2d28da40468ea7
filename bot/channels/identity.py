"""Verified customer identity, as Chatwoot does it: the shop signs the customer id (HMAC)."""

from __future__ import annotations

import hashlib
import hmac


def sign_customer_id(customer_id: str, secret: str) -> str:
    """What the shop's backend computes and puts in the widget's data-customer-signature."""
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def verified_customer_id(customer_id: str | None, signature: str | None,
                         secret: str | None) -> str | None:
    """The customer id if its signature is right; None (anonymous visitor) otherwise."""
    if not (isinstance(customer_id, str) and isinstance(signature, str) and customer_id
            and signature and secret):
        return None
    expected = sign_customer_id(customer_id, secret).encode()
    given = signature.strip().lower().encode("utf-8", "replace")
    return customer_id if hmac.compare_digest(expected, given) else None
