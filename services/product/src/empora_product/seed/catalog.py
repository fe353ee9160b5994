"""The demo catalog, generated in code: deterministic, varied, no network.

Categories in three levels; every leaf names its product kinds, brands, features, attribute
choices and a price range, and a seeded random generator combines them, so every run produces
exactly the same catalog.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from empora_product.slugs import slugify


@dataclass(frozen=True)
class Leaf:
    """A category that holds products, and what its products are made of."""

    code: str
    kinds: tuple[str, ...]
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    price_range: tuple[int, int]  # whole currency units
    count: int = 13


@dataclass(frozen=True)
class CategorySpec:
    name: str
    children: tuple[CategorySpec, ...] = ()
    leaf: Leaf | None = None

    @property
    def slug(self) -> str:
        return slugify(self.name, fallback="category")


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    slug: str
    name: str
    description: str
    price_amount: int
    category_slug: str
    images: list[str]
    attributes: dict[str, str]
    stock: int
    age_minutes: int = 0


@dataclass(frozen=True)
class CategoryRow:
    slug: str
    name: str
    parent_slug: str | None


@dataclass
class Catalog:
    categories: list[CategoryRow] = field(default_factory=list)
    products: list[ProductSpec] = field(default_factory=list)


_COLORS = ("Black", "White", "Graphite", "Navy", "Silver", "Forest Green", "Sand", "Red")
_SIZES = ("XS", "S", "M", "L", "XL")


def _c(name: str, *children: CategorySpec, leaf: Leaf | None = None) -> CategorySpec:
    return CategorySpec(name=name, children=children, leaf=leaf)


TREE: tuple[CategorySpec, ...] = (
    _c(
        "Electronics",
        _c(
            "Audio",
            _c(
                "Headphones",
                leaf=Leaf(
                    "HP",
                    ("Headphones", "Earbuds", "Over-Ear Headphones", "Studio Monitors Headphones"),
                    ("Sonora", "Aurelia", "Bassline", "Kestrel"),
                    ("Wireless", "Noise-Cancelling", "Foldable", "Sport", "Studio"),
                    (
                        "active noise cancellation that quiets trains and open offices",
                        "up to 40 hours of battery life and USB-C fast charging",
                        "memory-foam ear cushions for all-day comfort",
                        "multipoint Bluetooth 5.3 pairing with two devices at once",
                        "a detachable braided cable for wired listening",
                    ),
                    {"color": _COLORS, "connectivity": ("Bluetooth", "Wired", "Bluetooth + Wired")},
                    (29, 399),
                ),
            ),
            _c(
                "Speakers",
                leaf=Leaf(
                    "SP",
                    ("Bluetooth Speaker", "Soundbar", "Bookshelf Speakers", "Smart Speaker"),
                    ("Sonora", "Bassline", "Echoform"),
                    ("Portable", "Waterproof", "Compact", "Room-Filling"),
                    (
                        "360-degree sound with deep, punchy bass",
                        "IP67 water and dust resistance for the beach or the shower",
                        "stereo pairing with a second speaker",
                        "voice assistant built in",
                    ),
                    {"color": _COLORS, "power": ("20 W", "40 W", "60 W", "120 W")},
                    (39, 599),
                ),
            ),
        ),
        _c(
            "Computers",
            _c(
                "Laptops",
                leaf=Leaf(
                    "LT",
                    ("Laptop", "Ultrabook", "Gaming Laptop", "2-in-1 Laptop"),
                    ("Vertex", "Nimbus", "Orion", "Quanta"),
                    ("Thin", "Performance", "Everyday", "Creator"),
                    (
                        "a bright 14-inch display with accurate colours",
                        "16 GB of memory and a fast 1 TB SSD",
                        "a backlit keyboard with a generous glass trackpad",
                        "all-day battery life and a 1080p webcam",
                    ),
                    {"memory": ("8 GB", "16 GB", "32 GB"), "storage": ("256 GB", "512 GB", "1 TB")},
                    (499, 2499),
                ),
            ),
            _c(
                "Computer Accessories",
                leaf=Leaf(
                    "CA",
                    (
                        "Mechanical Keyboard",
                        "Wireless Mouse",
                        "USB-C Hub",
                        "Monitor Stand",
                        "Webcam",
                    ),
                    ("Keystone", "Vertex", "Plexus"),
                    ("Ergonomic", "Low-Profile", "Wireless", "Aluminium"),
                    (
                        "hot-swappable switches and PBT keycaps",
                        "a silent click and a precise 4000 DPI sensor",
                        "4K HDMI output and 100 W power delivery pass-through",
                        "works with Windows, macOS and Linux without drivers",
                    ),
                    {"color": _COLORS, "connectivity": ("USB-C", "Bluetooth", "2.4 GHz")},
                    (15, 249),
                ),
            ),
        ),
        _c(
            "Phones & Tablets",
            leaf=Leaf(
                "PH",
                ("Smartphone", "Tablet", "Phone Case", "Wireless Charger", "Screen Protector"),
                ("Orion", "Nimbus", "Lumen"),
                ("Slim", "Rugged", "Pro", "Lite"),
                (
                    "a 6.1-inch OLED display and a triple camera",
                    "MagSafe-compatible magnetic charging",
                    "drop protection tested from two metres",
                    "tempered glass with an oleophobic coating",
                ),
                {"color": _COLORS, "storage": ("64 GB", "128 GB", "256 GB")},
                (9, 1199),
            ),
        ),
    ),
    _c(
        "Home & Kitchen",
        _c(
            "Kitchen",
            _c(
                "Cookware",
                leaf=Leaf(
                    "CW",
                    ("Frying Pan", "Saucepan", "Dutch Oven", "Wok", "Stockpot"),
                    ("Hearth", "Copperline", "Castello"),
                    ("Cast-Iron", "Non-Stick", "Stainless", "Enamelled"),
                    (
                        "even heating on gas, electric and induction hobs",
                        "oven-safe up to 260 °C",
                        "a riveted stay-cool handle",
                        "a PFAS-free ceramic coating",
                    ),
                    {
                        "material": ("Cast iron", "Stainless steel", "Aluminium", "Carbon steel"),
                        "diameter": ("20 cm", "24 cm", "28 cm"),
                    },
                    (19, 329),
                ),
            ),
            _c(
                "Coffee & Tea",
                leaf=Leaf(
                    "CT",
                    (
                        "Espresso Machine",
                        "Burr Grinder",
                        "French Press",
                        "Pour-Over Kettle",
                        "Teapot",
                    ),
                    ("Barista & Co", "Hearth", "Kettlewell"),
                    ("Manual", "Programmable", "Compact", "Gooseneck"),
                    (
                        "15-bar pressure and a steam wand for silky milk",
                        "40 grind settings from espresso to cold brew",
                        "double-walled borosilicate glass",
                        "precise temperature control for green and black teas",
                    ),
                    {"capacity": ("0.35 l", "0.6 l", "1 l", "1.7 l"), "color": _COLORS},
                    (15, 899),
                ),
            ),
        ),
        _c(
            "Furniture",
            leaf=Leaf(
                "FU",
                ("Desk", "Office Chair", "Bookshelf", "Side Table", "Sofa"),
                ("Nordhem", "Oakridge", "Loft Nine"),
                ("Standing", "Mid-Century", "Modular", "Solid Oak"),
                (
                    "FSC-certified solid wood",
                    "tool-free assembly in fifteen minutes",
                    "adjustable height from 65 to 125 cm",
                    "lumbar support and breathable mesh",
                ),
                {"material": ("Oak", "Walnut", "Steel", "Birch plywood"), "color": _COLORS},
                (49, 1299),
            ),
        ),
        _c(
            "Lighting",
            leaf=Leaf(
                "LI",
                ("Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip", "Smart Bulb"),
                ("Lumen", "Nordhem", "Glowworks"),
                ("Dimmable", "Smart", "Industrial", "Minimalist"),
                (
                    "warm-to-cool colour temperature from 2700 K to 6500 K",
                    "app and voice control",
                    "a weighted base and an articulated arm",
                    "energy class A LEDs rated for 25,000 hours",
                ),
                {"color": _COLORS, "power": ("5 W", "9 W", "12 W", "18 W")},
                (12, 349),
            ),
        ),
    ),
    _c(
        "Clothing",
        _c(
            "Men",
            leaf=Leaf(
                "MN",
                ("T-Shirt", "Oxford Shirt", "Chinos", "Hoodie", "Rain Jacket"),
                ("Tailwind", "Harbor & Pine", "Northfold"),
                ("Organic Cotton", "Slim-Fit", "Relaxed", "Merino"),
                (
                    "organic cotton, pre-shrunk and garment-dyed",
                    "a waterproof, breathable three-layer shell",
                    "reinforced seams and corozo buttons",
                    "a cut that fits true to size",
                ),
                {"size": _SIZES, "color": _COLORS},
                (19, 249),
            ),
        ),
        _c(
            "Women",
            leaf=Leaf(
                "WM",
                ("Linen Dress", "Blouse", "High-Rise Jeans", "Cardigan", "Trench Coat"),
                ("Tailwind", "Maison Vell", "Northfold"),
                ("Linen", "Cropped", "Oversized", "Cashmere-Blend"),
                (
                    "European linen that softens with every wash",
                    "stretch denim that keeps its shape",
                    "a water-repellent cotton gabardine",
                    "a cut that fits true to size",
                ),
                {"size": _SIZES, "color": _COLORS},
                (25, 329),
            ),
        ),
        _c(
            "Shoes",
            leaf=Leaf(
                "SH",
                ("Running Shoes", "Leather Sneakers", "Hiking Boots", "Sandals", "Loafers"),
                ("Stride", "Trailhead", "Maison Vell"),
                ("Lightweight", "Waterproof", "Classic", "Cushioned"),
                (
                    "a responsive foam midsole and a grippy rubber outsole",
                    "full-grain leather uppers",
                    "a waterproof membrane and a Vibram sole",
                    "a removable, washable insole",
                ),
                {"size": ("38", "39", "40", "41", "42", "43", "44", "45"), "color": _COLORS},
                (35, 279),
            ),
        ),
    ),
    _c(
        "Sports & Outdoors",
        _c(
            "Fitness",
            leaf=Leaf(
                "FI",
                ("Yoga Mat", "Adjustable Dumbbells", "Kettlebell", "Resistance Bands", "Jump Rope"),
                ("Pulse", "Ironleaf", "Stride"),
                ("Non-Slip", "Adjustable", "Pro", "Travel"),
                (
                    "a non-slip natural rubber surface",
                    "quick-change weights from 2 to 24 kg",
                    "a powder-coated cast-iron body",
                    "a carry strap and a mesh bag",
                ),
                {"weight": ("1 kg", "4 kg", "8 kg", "12 kg", "24 kg"), "color": _COLORS},
                (9, 449),
            ),
        ),
        _c(
            "Camping",
            leaf=Leaf(
                "CM",
                ("Tent", "Sleeping Bag", "Camping Stove", "Headlamp", "Backpack"),
                ("Trailhead", "Summit", "Fjellby"),
                ("Ultralight", "Four-Season", "Packable", "Rugged"),
                (
                    "a freestanding design that pitches in five minutes",
                    "rated comfortable down to -5 °C",
                    "boils a litre of water in three minutes",
                    "400 lumens with a red night-vision mode",
                ),
                {
                    "capacity": ("1 person", "2 persons", "3 persons", "40 l", "65 l"),
                    "color": _COLORS,
                },
                (19, 699),
            ),
        ),
        _c(
            "Cycling",
            leaf=Leaf(
                "CY",
                ("Bike Helmet", "Bike Light Set", "Cycling Jersey", "Bike Lock", "Water Bottle"),
                ("Velo", "Summit", "Pulse"),
                ("Aero", "Reflective", "Insulated", "Heavy-Duty"),
                (
                    "MIPS protection and twelve vents",
                    "USB rechargeable lights visible from 500 metres",
                    "a hardened steel shackle rated Sold Secure Gold",
                    "keeps drinks cold for twelve hours",
                ),
                {"size": _SIZES, "color": _COLORS},
                (9, 249),
            ),
        ),
    ),
    _c(
        "Books",
        _c(
            "Fiction",
            leaf=Leaf(
                "BF",
                (
                    "Novel",
                    "Short Story Collection",
                    "Mystery",
                    "Science Fiction Saga",
                    "Fantasy Epic",
                ),
                ("Lantern Press", "Harbor Books", "Quill & Co"),
                ("Award-Winning", "Bestselling", "Debut", "Illustrated"),
                (
                    "a page-turner about a lighthouse keeper and a missing ship",
                    "stories set in one city across a hundred years",
                    "a detective who solves crimes by their sounds",
                    "a generation ship and the last gardener aboard",
                ),
                {"format": ("Hardcover", "Paperback", "E-book"), "language": ("English", "French")},
                (8, 45),
            ),
        ),
        _c(
            "Non-Fiction",
            leaf=Leaf(
                "BN",
                ("Cookbook", "Field Guide", "Biography", "History", "Programming Handbook"),
                ("Lantern Press", "Harbor Books", "Atlas House"),
                ("Practical", "Definitive", "Illustrated", "Pocket"),
                (
                    "120 weeknight recipes with seasonal vegetables",
                    "every bird of Europe with colour plates",
                    "the life of an engineer who built bridges on three continents",
                    "Python, PostgreSQL and distributed systems explained with examples",
                ),
                {"format": ("Hardcover", "Paperback", "E-book"), "language": ("English", "German")},
                (10, 65),
            ),
        ),
    ),
)


# Kinds whose prices differ a lot from their category's range (whole currency units).
KIND_PRICES: dict[str, tuple[int, int]] = {
    "Earbuds": (29, 249),
    "Smartphone": (299, 1199),
    "Tablet": (249, 999),
    "Phone Case": (9, 49),
    "Wireless Charger": (19, 79),
    "Screen Protector": (9, 29),
    "USB-C Hub": (29, 99),
    "Monitor Stand": (29, 149),
    "Espresso Machine": (249, 899),
    "French Press": (15, 49),
    "Teapot": (19, 79),
    "Sofa": (599, 1299),
    "Side Table": (49, 199),
    "LED Strip": (12, 49),
    "Smart Bulb": (12, 39),
    "T-Shirt": (19, 49),
    "Rain Jacket": (99, 249),
    "Trench Coat": (149, 329),
    "Jump Rope": (9, 29),
    "Resistance Bands": (12, 39),
    "Adjustable Dumbbells": (149, 449),
    "Tent": (149, 699),
    "Headlamp": (19, 69),
    "Water Bottle": (9, 35),
    "Bike Light Set": (19, 79),
}


def _walk(specs: tuple[CategorySpec, ...], parent: str | None, out: list[CategoryRow]) -> None:
    for spec in specs:
        out.append(CategoryRow(slug=spec.slug, name=spec.name, parent_slug=parent))
        _walk(spec.children, spec.slug, out)


def _leaves(specs: tuple[CategorySpec, ...]) -> list[tuple[CategorySpec, Leaf]]:
    found: list[tuple[CategorySpec, Leaf]] = []
    for spec in specs:
        if spec.leaf is not None:
            found.append((spec, spec.leaf))
        found.extend(_leaves(spec.children))
    return found


def _price(rng: random.Random, low: int, high: int) -> int:
    whole = rng.randint(low, high)
    return whole * 100 + rng.choice((99, 95, 49, 0))


def _stock(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.08:
        return 0  # some products are sold out
    if roll < 0.25:
        return rng.randint(1, 5)  # the last few units
    return rng.randint(6, 250)


def build_catalog() -> Catalog:
    """The whole demo catalog (the same on every call)."""
    catalog = Catalog()
    _walk(TREE, None, catalog.categories)
    slugs: set[str] = set()
    age = 0
    for spec, leaf in _leaves(TREE):
        rng = random.Random(f"empora-demo-{leaf.code}")
        names: set[str] = set()
        n = 0
        while n < leaf.count:
            kind = leaf.kinds[n % len(leaf.kinds)]
            brand = rng.choice(leaf.brands)
            adjective = rng.choice(leaf.adjectives)
            if adjective.split()[0] in kind:
                continue  # "Linen Linen Dress"
            name = f"{brand} {adjective} {kind}"
            if name in names:
                name = f"{name} {rng.choice(('II', 'Plus', 'Max', 'Mini', 'SE', 'X'))}"
                if name in names:
                    continue
            names.add(name)
            n += 1
            sku = f"EMP-{leaf.code}-{n:03d}"
            slug = slugify(name, fallback="product")
            if slug in slugs:
                slug = f"{slug}-{sku.lower()}"
            slugs.add(slug)
            first, second = rng.sample(leaf.features, k=2)
            description = (
                f"{adjective} {kind.lower()} by {brand}, with {first}. "
                f"It also brings {second}. Part of our {spec.name} range."
            )
            attributes = {key: rng.choice(values) for key, values in leaf.attributes.items()}
            attributes["brand"] = brand
            images = [f"https://picsum.photos/seed/{sku.lower()}-{i}/800/800" for i in (1, 2)]
            low, high = KIND_PRICES.get(kind, leaf.price_range)
            catalog.products.append(
                ProductSpec(
                    sku=sku,
                    slug=slug,
                    name=name,
                    description=description,
                    price_amount=_price(rng, low, high),
                    category_slug=spec.slug,
                    images=images,
                    attributes=attributes,
                    stock=_stock(rng),
                    age_minutes=age,
                )
            )
            age += 7
    return catalog
