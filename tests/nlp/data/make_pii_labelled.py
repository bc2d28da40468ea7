"""Writes pii_labelled.jsonl: customer messages with the personal data in them labelled by
category. Run it again only to change the set (its output is committed; seed fixed):

    python tests/nlp/data/make_pii_labelled.py

Categories: PERSON, EMAIL (plain and written out), PHONE, CARD, ADDRESS (street addresses and
UK postcodes), IBAN, SSN (US social security and UK National Insurance numbers). The
sentences are written the way customers write to a shop: lower case, typos of punctuation,
the data mid-sentence; some are hard on purpose (a name with no cue, a number split oddly).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("pii_labelled.jsonl")

FIRST = ["mary", "John", "aisha", "Tom", "li wei", "Sophie", "raj", "Emma", "carlos", "Olga",
         "peter", "Fatima", "james", "Hannah", "noah", "Grace", "oliver", "Chloe", "ahmed",
         "Isabella"]
LAST = ["jones", "Smith", "khan", "Brown", "garcia", "Nowak", "patel", "Murphy", "okafor",
        "Dubois", "wilson", "Rossi", "taylor", "Schmidt", "evans", "Kowalski"]
PERSON = [
    "my wife is {name}, she placed the order",
    "my husband {name} ordered it for me",
    "the parcel was for my son {name}",
    "hi, my name is {name} and my order never came",
    "this is {name} again, any news on my refund?",
    "please ask for {name} when you call",
    "regards, {name}",
    "it's addressed to {name} at our office",
    "can you deliver to {name} next door",
    "i spoke to your colleague about this, {name} i think",
    "my mother {name} can collect it",
    "thanks {name}, that helped a lot",
    "the account is in the name of {name}",
    "I'm {name}, I called yesterday",
    "my friend {name} recommended your shop",
    "signed {name}",
    "my daughter's name is {name}",
    "our neighbour {name} took the parcel in",
]
EMAIL_USERS = ["john", "mary.jones", "a.khan", "tom_b", "sophie99", "raj.patel", "emma+shop",
               "c.garcia", "olga.n", "peterw"]
DOMAINS = ["example.com", "mail.co.uk", "shop-mail.net", "inbox.org", "web.de"]
EMAIL = [
    "my email is {email}",
    "send the label to {email} please",
    "you can reach me on {email}",
    "i changed my address to {email} last week",
    "email: {email}",
    "{email} is the account email",
    "contact me at {email} or by phone",
]
EMAIL_WRITTEN = ["{user}(at){dom1}(dot){dom2}", "{user} at {dom1} dot {dom2}",
                 "{user} [at] {dom1} [dot] {dom2}", "{USER}(AT){DOM1}(DOT){DOM2}"]
PHONE = [
    "call me on {phone}",
    "my number is {phone}",
    "text {phone} when the courier is near",
    "phone: {phone}",
    "you can ring {phone} after 5pm",
    "the driver should call {phone}",
]
PHONES = ["07700 900123", "+44 7700 900456", "(555) 123-4567", "+1 202 555 0143",
          "020 7946 0018", "555.867.5309", "+49 30 901820", "0161 496 0752", "+33 1 42 68 53 00",
          "07911 123456", "+1 (415) 555-2671", "0044 7700 900789"]
CARD = [
    "my card {card} was charged twice",
    "refund to card {card} please",
    "i paid with {card}",
    "card number {card}, expiry 04/27",
    "the payment on {card} failed",
]
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881",
         "3782 822463 10005", "6011 1111 1111 1117", "5555 5555 5555 4444",
         "4000 0566 5566 5556", "3714 496353 98431"]
ADDRESS = [
    "ship it to {street} instead",
    "my address is {street}",
    "i moved to {street} last month",
    "deliver to {street}, the blue door",
    "the parcel went to {street} by mistake",
    "i live at {postcode}, can you deliver there?",
    "my postcode is {postcode}",
    "London {postcode}",
    "send it to {street}, {postcode}",
]
STREETS = ["42 Elm Street", "12 high street", "7b Baker St", "221 Maple Avenue apt 4",
           "3 Station Road", "15 Oak Lane", "88 Kings Road, flat 2", "1600 Pennsylvania Ave",
           "9 Church Close", "27 Mill Crescent"]
POSTCODES = ["NW1 6XE", "SW1A 1AA", "m1 1ae", "EC1A 1BB", "b33 8th", "CR2 6XH", "DN55 1PT",
             "W1A 0AX", "ls1 4ap", "EH1 1YZ"]
IBAN = [
    "please refund to my iban {iban}",
    "IBAN {iban}",
    "bank transfer to {iban} is fine",
    "my account {iban}, thanks",
    "use {iban} for the refund",
]
IBANS = ["GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
         "DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606",
         "NL91ABNA0417164300", "ES9121000418450200051332", "IT60X0542811101000000123456",
         "BE68539007547034", "CH9300762011623852957"]
SSN = [
    "ssn {ssn}",
    "my social security number is {ssn}",
    "they asked for my ssn, it's {ssn}",
    "SSN: {ssn} for the credit check",
    "my ni number is {nino}",
    "national insurance {nino}",
]
SSNS = ["078-05-1120", "219-09-9999", "457-55-5462", "123 45 6789", "078051120", "536-22-1234"]
NINOS = ["AB 12 34 56 C", "JG103759A", "ce 12 34 56 d", "PR 64 13 77 B"]


def labelled(text: str, kind: str, value: str) -> dict:
    assert value in text
    return {"text": text, "pii": [{"kind": kind, "value": value}]}


def build(rng: random.Random) -> list[dict]:
    rows = []
    for template in PERSON:
        for _ in range(2):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if rng.random() < 0.6 \
                else rng.choice(FIRST)
            rows.append(labelled(template.format(name=name), "PERSON", name))
    for template in EMAIL:
        for _ in range(3):
            email = f"{rng.choice(EMAIL_USERS)}@{rng.choice(DOMAINS)}"
            rows.append(labelled(template.format(email=email), "EMAIL", email))
    for form in EMAIL_WRITTEN:
        for _ in range(3):
            user, (dom1, dom2) = rng.choice(EMAIL_USERS).split(".")[0], rng.choice(
                [("example", "com"), ("gmail", "com"), ("mail", "net"), ("inbox", "org")])
            value = form.format(user=user, dom1=dom1, dom2=dom2, USER=user.upper(),
                                DOM1=dom1, DOM2=dom2.upper())
            rows.append(labelled(f"{rng.choice(['write to', 'my email is', 'reach me at'])} "
                                 f"{value}", "EMAIL", value))
    for template in PHONE:
        for phone in rng.sample(PHONES, 5):
            rows.append(labelled(template.format(phone=phone), "PHONE", phone))
    for template in CARD:
        for card in rng.sample(CARDS, 5):
            rows.append(labelled(template.format(card=card), "CARD", card))
    for template in ADDRESS:
        for _ in range(4):
            street, postcode = rng.choice(STREETS), rng.choice(POSTCODES)
            text = template.format(street=street, postcode=postcode)
            pii = [{"kind": "ADDRESS", "value": v} for v, key in ((street, "{street}"),
                                                                 (postcode, "{postcode}"))
                   if key in template]
            rows.append({"text": text, "pii": pii})
    for template in IBAN:
        for iban in rng.sample(IBANS, 6):
            rows.append(labelled(template.format(iban=iban), "IBAN", iban))
    for template in SSN:
        for _ in range(5):
            value = rng.choice(NINOS) if "{nino}" in template else rng.choice(SSNS)
            rows.append(labelled(template.format(ssn=value, nino=value), "SSN", value))
    # two kinds in one message
    for _ in range(12):
        name, email = f"{rng.choice(FIRST)} {rng.choice(LAST)}", \
            f"{rng.choice(EMAIL_USERS)}@{rng.choice(DOMAINS)}"
        rows.append({"text": f"my name is {name}, email {email}",
                     "pii": [{"kind": "PERSON", "value": name}, {"kind": "EMAIL", "value": email}]})
    return rows


if __name__ == "__main__":
    rows = build(random.Random(10))
    with OUT.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {OUT}")
