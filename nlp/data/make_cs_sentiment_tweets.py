"""Write ``cs_sentiment_tweets.csv``: customer-service messages in the register customers use
on social media and chat (@handles, hashtags, emojis, typos, all-caps, no punctuation),
labelled negative / neutral / positive, for shops, deliveries, refunds, accounts, airlines,
banks and telecoms.

Written for Carebot: hand-written sentence cores, their slots filled and their register varied
by a seeded generator (no text copied from a data set). Neutral rows are questions, requests
and statements of fact, not mildly positive ones. Re-run to regenerate (deterministic):

    python nlp/data/make_cs_sentiment_tweets.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).with_name("cs_sentiment_tweets.csv")
SEED = 15
PER_CLASS = {"negative": 1500, "neutral": 1300, "positive": 900}

# Invented brands only: no real company is named.
HANDLES = [
    "@ShopNorth",
    "@QuickParcel",
    "@SkyWing",
    "@BlueJetAir",
    "@MetroBank",
    "@NovaMobile",
    "@FibreLink",
    "@HomeStore",
    "@SunAir",
    "@ZipPost",
    "@PennyBank",
    "@TalkTel",
    "@UrbanWear",
    "@FreshCart",
    "@AeroLine",
    "@CloudFly",
    "@BrightBank",
    "@WaveTelecom",
    "@CasaHome",
    "@TrekAirways",
    "@CourierPro",
    "@ByteMobile",
    "@GreenGrocer",
    "@PrimeRail",
]
SLOTS = {
    "order": ["order {num}", "my order", "order #{num}", "my parcel", "my package", "the delivery"],
    "num": ["A10023", "A18842", "45512", "778201", "B2291", "A13377", "90412", "C5510"],
    "flight": [
        "flight {fnum}",
        "my flight",
        "the {hour} flight",
        "my connection",
        "flt {fnum}",
        "the flight to {city}",
        "our flight",
    ],
    "fnum": ["1423", "562", "88", "2071", "310", "1190", "47", "915", "3302"],
    "city": [
        "Denver",
        "Boston",
        "Chicago",
        "LAX",
        "NYC",
        "Dallas",
        "London",
        "Madrid",
        "Miami",
        "SFO",
        "Atlanta",
        "Toronto",
        "Paris",
        "Vegas",
        "Orlando",
        "Seattle",
    ],
    "hour": ["6am", "7:15", "9am", "noon", "2pm", "5:40", "8pm", "red-eye", "10:30"],
    "n": ["2", "3", "4", "5", "two", "three", "six", "45", "90"],
    "units": ["hours", "hrs", "days", "weeks", "minutes", "mins"],
    "item": [
        "jacket",
        "phone",
        "charger",
        "sofa",
        "shoes",
        "headphones",
        "laptop",
        "dress",
        "blender",
        "mattress",
        "router",
        "sim card",
        "kettle",
        "tv",
        "watch",
        "lamp",
    ],
    "staff": [
        "the agent",
        "the lady at the desk",
        "your rep",
        "the driver",
        "the crew",
        "the guy on the phone",
        "customer service",
        "the gate agent",
        "your staff",
        "the flight attendant",
        "the pilot",
        "support",
        "the manager",
    ],
    "name": ["Maria", "James", "Priya", "Tom", "Aisha", "Leo", "Sam", "Nina", "Carlos", "Jen"],
    "thing": [
        "refund",
        "replacement",
        "credit",
        "voucher",
        "compensation",
        "callback",
        "reimbursement",
        "new card",
    ],
    "account": [
        "my account",
        "the app",
        "my online banking",
        "my login",
        "the website",
        "my profile",
        "my card",
        "my phone line",
        "my broadband",
        "my wifi",
    ],
    "day": [
        "today",
        "tomorrow",
        "on friday",
        "next week",
        "on monday",
        "tonight",
        "this weekend",
        "on the 12th",
        "in march",
    ],
    "bag": ["my bag", "my luggage", "my suitcase", "our bags", "my checked bag", "my stroller"],
    "plan": ["my plan", "my contract", "my bill", "my data plan", "my subscription"],
}

NEGATIVE = [
    "{flight} is delayed AGAIN",
    "{flight} delayed {n} {units} and nobody tells us anything",
    "{flight} got cancelled and no one can rebook me",
    "stuck on the tarmac for {n} hours on {flight}",
    "been on hold for {n} hours. {n} HOURS",
    "on hold {n} mins just to be disconnected",
    "still waiting for my {thing}",
    "still no {thing} after {n} weeks",
    "where is my {thing}?? it's been {n} weeks",
    "you lost {bag} and nobody knows where it is",
    "{bag} didn't make it to {city} and no one answers the phone",
    "{order} never arrived",
    "{order} is {n} days late and tracking hasn't moved",
    "{order} arrived damaged and the box was soaked",
    "you sent me the wrong {item} for the second time",
    "my {item} arrived broken",
    "{staff} was so rude to me",
    "{staff} hung up on me",
    "{staff} couldn't care less",
    "charged twice for {order} and still no refund",
    "you charged my card twice",
    "{account} is down again",
    "{account} keeps crashing",
    "locked out of {account} for {n} days now",
    "can't log in to {account} and nobody helps",
    "missed my connection because {flight} was late",
    "overbooked {flight} and I got bumped",
    "worst customer service ever",
    "worst airline ever",
    "never flying with you again",
    "never ordering from you again",
    "this is ridiculous",
    "absolutely unacceptable",
    "so frustrated right now",
    "thanks for nothing",
    "great, another delay",
    "love waiting {n} hours for a reply",
    "wow thanks for ruining my trip",
    "third time i'm asking. where is {order}?",
    "why is it impossible to talk to a human",
    "why does it take {n} weeks to get a {thing}",
    "how hard is it to deliver a parcel on time?",
    "no wifi, no food, no apology",
    "seat broken, screen broken, and {staff} ignored us",
    "{n} emails and not one reply",
    "DMed you {n} times and nothing",
    "your chat bot is useless",
    "the app charged me and the booking never went through",
    "{plan} went up again without any notice",
    "no signal for {n} days and you want me to pay full price",
    "my broadband has been down since monday",
    "you blocked my card while I was abroad",
    "fees on fees on fees. done with this bank",
    "my transfer vanished and support has no idea",
    "the driver left {order} in the rain",
    "marked as delivered but nothing here",
    "you cancelled {order} without telling me",
    "been waiting at baggage claim for {n} hours",
    "delayed, then cancelled, then no hotel. awful",
    "missed a funeral because of you",
    "the worst experience i've ever had",
    "terrible service, terrible staff",
    "do you even read these messages?",
    "nobody at the gate has any information",
    "paid for extra legroom and got a middle seat",
    "my {item} stopped working after {n} days",
    "refund denied for a broken {item}. seriously?",
    "ordered {day} for delivery {day}, still nothing",
    "hold music for {n} minutes then it hangs up",
    "the new update broke {account}",
    "i'm disgusted with how you treated my mom",
    "lost my booking and now the fare doubled",
    "another hour on the plane with no air con",
    "your website took my money and gave me an error",
    "this company is a joke",
    "can't believe you still haven't fixed this",
    "so disappointed",
    "fed up with this",
    "what a mess",
    "useless",
    "still waiting",
    "no help at all",
    "epic fail",
]

NEUTRAL = [
    "what time does {flight} board?",
    "is {flight} on time?",
    "what's the status of {flight}?",
    "do you fly from {city} to {city}?",
    "can I change my seat online?",
    "how much is a checked bag?",
    "what's the carry-on size limit?",
    "is there wifi on {flight}?",
    "can I bring my dog on {flight}?",
    "when does check-in open for {flight}?",
    "can I add a bag to my booking?",
    "where is {order}?",
    "when will {order} arrive?",
    "can you check the status of {order}?",
    "has {order} been dispatched yet?",
    "how long does delivery to {city} take?",
    "do you ship to {city}?",
    "how do I return a {item}?",
    "what's your returns policy?",
    "can I change the address on {order}?",
    "please cancel {order}",
    "I'd like to change my delivery date to {day}",
    "do you have the {item} in black?",
    "is the {item} back in stock?",
    "what payment methods do you take?",
    "can I pay with paypal?",
    "how do I reset my password?",
    "how do I update my address on {account}?",
    "can you send me a copy of {plan}?",
    "what's the daily limit on my card?",
    "how do I order a new card?",
    "can I upgrade {plan}?",
    "what's included in {plan}?",
    "do you have coverage in {city}?",
    "is there an outage in {city}?",
    "what are your opening hours {day}?",
    "are you open {day}?",
    "can you DM me?",
    "sent you a DM",
    "DM sent with my booking ref",
    "following up on my DM from {day}",
    "please follow back so i can DM",
    "my booking reference is {num}",
    "my order number is {num}",
    "flying to {city} {day}",
    "heading to {city} {day}",
    "just checked in for {flight}",
    "boarding {flight} to {city}",
    "landed in {city}",
    "ordered a {item} {day}",
    "booked {flight} for {day}",
    "paying my bill {day}",
    "moving house {day}, need to transfer my broadband",
    "I need to speak to someone about {order}",
    "who do I contact about a {thing}?",
    "what's the number for customer service?",
    "is there a fee to change {flight}?",
    "can I get a receipt for {order}?",
    "need an invoice for {order}",
    "what gate is {flight}?",
    "which terminal for {flight}?",
    "do you price match?",
    "is there a student discount?",
    "when does the sale end?",
    "does the {item} come with a warranty?",
    "how do I add a second user to {account}?",
    "can I pick up {order} in store?",
    "what's the cut-off for next day delivery?",
    "can I switch to paperless billing?",
    "how do I activate my new sim?",
    "is {flight} a direct flight?",
    "what's the baggage allowance to {city}?",
    "can I pre-order meals on {flight}?",
    "does {flight} have power outlets?",
    "how early should i get to the airport?",
    "will my points transfer to the new card?",
    "how do I set up a direct debit?",
    "is my {thing} being processed?",
    "any update on {order}?",
    "any news on {flight}?",
    "quick question about {order}",
    "question about {plan}",
    "hi, I have a question",
    "yes",
    "ok",
    "the {num} one",
    "it's the {item} from {order}",
]

POSITIVE = [
    "thank you so much for the quick reply",
    "thanks for sorting out {order} so fast",
    "{staff} was amazing today",
    "shoutout to {name} at the desk, best service ever",
    "huge thanks to {name} for fixing {account}",
    "{flight} was early and the crew were lovely",
    "best flight I've had in years",
    "love the new app",
    "got my {thing} today, thank you!",
    "{order} arrived a day early",
    "my {item} arrived and it's perfect",
    "you guys rock",
    "you're the best",
    "great service as always",
    "thanks for finding {bag}!",
    "{bag} was waiting for me, thank you",
    "super smooth check-in {day}",
    "thanks for the upgrade!",
    "really appreciate the help",
    "appreciate you sorting this out",
    "that was painless, thank you",
    "amazing customer service",
    "so happy with my new {item}",
    "{staff} went above and beyond",
    "fastest delivery ever",
    "problem solved in {n} minutes, impressed",
    "thanks, that fixed it",
    "perfect, thanks!",
    "brilliant, thank you",
    "awesome, thanks for the help",
    "love flying with you",
    "always a pleasure",
    "thanks for the refund, much appreciated",
    "great job on {flight} today",
    "the crew on {flight} were fantastic",
    "my broadband is finally fast, thank you",
    "new plan is great, thanks",
    "switching to you was the best decision",
    "you made my day",
    "thank you for making this so easy",
    "wow that was quick, thanks",
    "easiest return ever",
    "nice work",
    "cheers, all sorted",
    "thanks {name}!",
    "legend, thank you",
    "{order} came today and it looks great",
    "delivery driver was so friendly",
    "the {item} is even better than the photos",
    "ten out of ten, would order again",
    "refund came through already, thank you",
    "{staff} made the whole trip so easy",
    "smooth flight, comfy seats, great crew",
    "landed early in {city}, nice one",
    "so glad I switched to you",
    "love my new {item}",
    "the support chat was really helpful",
    "{name} on the chat was so patient with me",
    "thank you for the voucher, that's really kind",
    "happy with how fast you replied",
    "all fixed now, thanks a million",
    "good to have my {account} back, thanks",
    "your team is brilliant",
    "excellent service from start to finish",
    "thanks for rebooking me so quickly",
    "such a nice surprise, thank you",
    "great prices and fast shipping",
    "very impressed with {staff}",
    "thank you, you've been very helpful",
    "i really appreciate it",
    "loving the free wifi on {flight}",
]

NEG_TAGS = [
    "#fail",
    "#neveragain",
    "#customerservicefail",
    "#worstairline",
    "#unacceptable",
    "#delayed",
    "#frustrated",
    "#disappointed",
    "#badservice",
    "#ripoff",
    "#fixit",
]
NEU_TAGS = [
    "#travel",
    "#question",
    "#help",
    "#booking",
    "#delivery",
    "#flight",
    "#order",
    "#newphone",
    "#moving",
]
POS_TAGS = [
    "#thankyou",
    "#greatservice",
    "#happycustomer",
    "#love",
    "#impressed",
    "#awesome",
    "#bestairline",
    "#winning",
]
NEG_EMOJI = ["😡", "😤", "🙄", "😠", "😒", "👎", "😩", "😢", "🤬", "😞", "💔", ":(", ">:("]
POS_EMOJI = ["😊", "🙏", "❤️", "👍", "😍", "🎉", "💙", "🙌", "😀", ":)", ":-)", "<3", "✈️"]
NEG_PREFIX = [
    "ugh",
    "seriously",
    "wow",
    "unbelievable",
    "come on",
    "smh",
    "really?",
    "omg",
    "wtf",
    "hey",
]
NEU_PREFIX = ["hi", "hello", "hey", "quick q", "hi there", "morning", "question:"]
POS_PREFIX = ["wow", "yay", "omg", "hey", "just wanted to say"]
NEG_SUFFIX = [
    "!!!",
    "...",
    "?!",
    ". ridiculous",
    ". not happy",
    ". do better",
    ". smh",
    " again",
    ". every time",
    " #fail",
]
POS_SUFFIX = ["!!", "!", " :)", ". thanks again", ". keep it up", " <3"]


def fill(template: str, rng: random.Random, memo: dict[str, str] | None = None) -> str:
    """Slots filled at random; ``memo`` keeps a number the same within one message."""
    memo = {} if memo is None else memo
    while "{" in template:
        start = template.index("{")
        key = template[start + 1 : template.index("}", start)]
        value = memo.get(key) or rng.choice(SLOTS[key])
        if key in ("n", "units"):
            memo[key] = value
        template = template.replace("{" + key + "}", value, 1)
    return template


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3 and w.isalpha():
        j = rng.randrange(1, len(w) - 1)
        kind = rng.random()
        if kind < 0.4:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif kind < 0.7:
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def message(label: str, rng: random.Random) -> str:
    cores, tags, emojis, prefixes, suffixes = {
        "negative": (NEGATIVE, NEG_TAGS, NEG_EMOJI, NEG_PREFIX, NEG_SUFFIX),
        "neutral": (NEUTRAL, NEU_TAGS, [], NEU_PREFIX, []),
        "positive": (POSITIVE, POS_TAGS, POS_EMOJI, POS_PREFIX, POS_SUFFIX),
    }[label]
    memo: dict[str, str] = {}
    first = rng.choice(cores)
    text = fill(first, rng, memo)
    if rng.random() < 0.3:  # two sentences of the same kind
        second = rng.choice([c for c in cores if c != first])
        text += (" " if text[-1] in ".!?" else ". ") + fill(second, rng, memo)
    if prefixes and rng.random() < 0.2:
        text = f"{rng.choice(prefixes)} {text}"
    if suffixes and rng.random() < 0.3:
        text = text.rstrip(".!?") + rng.choice(suffixes)
    if rng.random() < 0.75:
        text = f"{rng.choice(HANDLES)} {text}"
        if rng.random() < 0.1:
            text = f"{rng.choice(HANDLES)} {text}"
    if emojis and rng.random() < 0.35:
        text += " " + rng.choice(emojis) * rng.choice([1, 1, 1, 2, 3])
    if rng.random() < 0.25:
        text += " " + rng.choice(tags)
    r = rng.random()
    if r < 0.35:
        text = text.lower()
    elif r < 0.45 and label == "negative":
        text = text.upper()
    elif r < 0.6:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.15:
        text = typo(text, rng)
    return text


def rows(seed: int = SEED) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label, n in PER_CLASS.items():
        made = tries = 0
        while made < n and tries < 50 * n:
            tries += 1
            text = message(label, rng)
            if text.lower() not in seen:
                seen.add(text.lower())
                out.append((text, label))
                made += 1
    rng.shuffle(out)
    return out


def main() -> None:
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
