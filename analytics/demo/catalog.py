"""Names, places and the product catalogue the demo shop is generated from."""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella James Mia William Amelia "
    "Benjamin Harper Lucas Evelyn Henry Abigail Theodore Emily Jack Elizabeth Levi Sofia "
    "Alexander Avery Jackson Ella Mateo Scarlett Daniel Grace Michael Chloe Mason Victoria "
    "Sebastian Riley Ethan Aria Logan Lily Owen Aurora Samuel Zoey Jacob Nora Asher Hannah "
    "Aiden Layla John Priya Joseph Mei Wyatt Amara David Fatima Leo Ines Luke Yuki Julian "
    "Chiara Hudson Aisha Grayson Lucia Matteo Sara Ravi Hana Diego Elena Omar Freya Tomas"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Patel Kim Chen Schmidt Muller Rossi Dubois Novak Tanaka Silva Kowalski Jensen "
    "Okafor Haddad Larsen Moreau Bianchi Fischer Costa Ivanova Sato Murphy Kelly Byrne"
).split()
CITIES = (
    ("Seattle", "US"), ("Austin", "US"), ("Chicago", "US"), ("Boston", "US"),
    ("Denver", "US"), ("New York", "US"), ("San Diego", "US"), ("Atlanta", "US"),
    ("Portland", "US"), ("Miami", "US"), ("Toronto", "CA"), ("Vancouver", "CA"),
    ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"), ("Berlin", "DE"),
    ("Munich", "DE"), ("Amsterdam", "NL"), ("Paris", "FR"), ("Lyon", "FR"),
    ("Madrid", "ES"), ("Milan", "IT"), ("Stockholm", "SE"), ("Sydney", "AU"),
    ("Melbourne", "AU"),
)  # fmt: skip
STREETS = (
    "Maple Street", "Oak Avenue", "Pine Road", "Cedar Lane", "Elm Street", "Lake View Drive",
    "Hillside Avenue", "River Road", "Park Lane", "Church Street", "Mill Road", "High Street",
    "Station Road", "Harbor Way", "Sunset Boulevard", "Willow Court",
)  # fmt: skip

# category -> (brands, [(product noun, lowest price, highest price, what it is)])
CATALOG: dict[str, tuple[tuple[str, ...], tuple[tuple[str, int, int, str], ...]]] = {
    "electronics": (
        ("Aurora", "Voltix", "Nimbus", "Pulse", "Kestrel"),
        (
            ("Wireless Earbuds", 29, 199, "Bluetooth earbuds with a pocket charging case."),
            ("Bluetooth Speaker", 25, 249, "A portable speaker with 12 hours of playback."),
            ("USB-C Charger", 15, 69, "A fast wall charger for phones and laptops."),
            ("Smart Watch", 79, 399, "Tracks steps, sleep and heart rate."),
            ("Noise-Cancelling Headphones", 99, 379, "Over-ear headphones that quiet a commute."),
            ("Power Bank", 19, 89, "Charges a phone three times over."),
            ("4K Webcam", 49, 199, "Sharp video calls in any light."),
            ("E-Reader", 89, 249, "A glare-free screen for weeks of reading."),
        ),
    ),
    "clothing": (
        ("Northwind", "Urban Loom", "Coastline", "Marlow", "Fieldhouse"),
        (
            ("Cotton T-Shirt", 12, 39, "Soft organic cotton, regular fit."),
            ("Denim Jacket", 49, 149, "A classic jacket in washed denim."),
            ("Wool Sweater", 39, 129, "Warm merino wool in a relaxed cut."),
            ("Rain Jacket", 59, 199, "Waterproof, breathable and packable."),
            ("Chino Trousers", 29, 89, "Stretch chinos for every day."),
            ("Hooded Sweatshirt", 25, 79, "A brushed fleece hoodie."),
            ("Linen Shirt", 29, 89, "Light linen for warm days."),
            ("Puffer Vest", 39, 119, "A light insulated vest."),
        ),
    ),
    "shoes": (
        ("Stride", "Trailmark", "Cobble & Co", "Aerofoot", "Peakline"),
        (
            ("Running Shoes", 59, 179, "Cushioned shoes for road running."),
            ("Leather Boots", 89, 249, "Water-resistant boots with a grippy sole."),
            ("Canvas Sneakers", 29, 79, "Everyday low-top sneakers."),
            ("Hiking Boots", 79, 229, "Supportive boots for rough trails."),
            ("Slip-On Loafers", 49, 149, "Easy leather loafers."),
            ("Sandals", 19, 89, "Comfortable summer sandals."),
        ),
    ),
    "home": (
        ("Hearth", "Nordhem", "Lumen", "Casa Verde", "Willowby"),
        (
            ("Table Lamp", 25, 129, "A dimmable lamp with a linen shade."),
            ("Throw Blanket", 19, 89, "A soft knitted blanket for the sofa."),
            ("Scented Candle", 9, 39, "Burns for 40 hours."),
            ("Wall Clock", 19, 79, "A silent sweep wall clock."),
            ("Storage Basket", 12, 49, "Woven baskets to tidy a shelf."),
            ("Bath Towel Set", 24, 89, "Thick cotton towels, set of four."),
            ("Area Rug", 59, 299, "A low-pile rug that is easy to clean."),
        ),
    ),
    "kitchen": (
        ("Copperleaf", "Chef's Table", "Brightpan", "Mesa", "Oakline"),
        (
            ("Chef's Knife", 29, 149, "A balanced knife of high-carbon steel."),
            ("Nonstick Frying Pan", 24, 99, "Even heat and easy cleaning."),
            ("French Press", 19, 59, "Brews four cups of rich coffee."),
            ("Blender", 39, 199, "Crushes ice and blends smoothies."),
            ("Cutting Board", 15, 59, "A sturdy board of end-grain wood."),
            ("Cast Iron Skillet", 29, 89, "Pre-seasoned and built to last."),
            ("Electric Kettle", 25, 89, "Boils a litre in three minutes."),
        ),
    ),
    "books": (
        ("Lantern Press", "Bluefield Books", "Harbor House", "Quill & Ink"),
        (
            ("Mystery Novel", 9, 24, "A page-turning whodunit."),
            ("Cookbook", 15, 39, "Weeknight recipes with simple ingredients."),
            ("Science Fiction Novel", 9, 24, "A far-future adventure."),
            ("Travel Guide", 12, 29, "Maps, tips and itineraries."),
            ("Biography", 12, 32, "The life of a remarkable inventor."),
            ("Children's Picture Book", 7, 19, "A bedtime story with bright pictures."),
        ),
    ),
    "sports": (
        ("Summit", "Velocity", "Ironclad", "Tidewater", "Apex"),
        (
            ("Yoga Mat", 19, 79, "A non-slip mat with extra cushioning."),
            ("Adjustable Dumbbells", 59, 299, "From 2 to 24 kg in one pair."),
            ("Water Bottle", 9, 39, "Keeps drinks cold for 24 hours."),
            ("Tennis Racket", 39, 199, "Light and easy to swing."),
            ("Cycling Helmet", 35, 149, "Ventilated and certified for road use."),
            ("Resistance Bands", 12, 39, "Five bands from light to heavy."),
            ("Camping Tent", 79, 349, "A two-person tent that pitches in minutes."),
        ),
    ),
    "beauty": (
        ("Glowe", "Petal & Pine", "Lunaria", "Pure Theory"),
        (
            ("Face Moisturizer", 12, 59, "Light daily cream with SPF 30."),
            ("Vitamin C Serum", 15, 69, "Brightens and evens skin tone."),
            ("Shampoo", 7, 29, "Gentle and sulfate-free."),
            ("Lip Balm Set", 6, 19, "Three tinted balms."),
            ("Hair Dryer", 29, 199, "Dries fast with less heat."),
            ("Perfume", 29, 129, "A fresh floral scent."),
        ),
    ),
    "toys": (
        ("Brickworks", "Little Owl", "Funfair", "Tinker Lab"),
        (
            ("Building Blocks Set", 19, 119, "500 pieces for endless builds."),
            ("Jigsaw Puzzle", 9, 29, "1000 pieces, a mountain landscape."),
            ("Remote Control Car", 29, 99, "Rechargeable and fast."),
            ("Plush Bear", 9, 39, "Soft and cuddly, machine washable."),
            ("Board Game", 19, 59, "Strategy for 2 to 5 players."),
            ("Science Kit", 24, 69, "Twenty experiments for curious kids."),
        ),
    ),
}
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
