"""Word lists the simulated company is made of: names, domains, devices, catalogue terms."""

from __future__ import annotations

FIRST_NAMES = (
    "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo Alfie Henry Joshua "
    "Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed Logan Theo "
    "Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily Sophia Grace Evie Scarlett Ruby Chloe Sophie "
    "Freya Daisy Phoebe Florence Alice Jessica Sienna Aisha Priya Zara Hannah Megan Niamh Siobhan Aoife "
    "Ciaran Sean Conor Fatima Amir Raj Sanjay Anika Chen Wei Mei Tomasz Katarzyna Lukas Marie Pierre Camille "
    "Hans Greta Jan Sanne Pablo Lucia Carmen Margaret Susan David Peter Paul Andrew Christopher Sarah Emma"
).split()
LAST_NAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker "
    "Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller "
    "Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler "
    "Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey O'Brien O'Connor Byrne Dubois Moreau Muller "
    "Schmidt Schneider de-Vries Jansen Garcia Fernandez Lopez Nowak Kowalski Wang Li Zhang Nguyen Ahmed"
).split()
PERSONAL_DOMAINS = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "outlook.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
    "sky.com",
    "live.co.uk",
    "protonmail.com",
)
WORK_DOMAINS = ("acme-logistics.co.uk", "brightwell.com", "northgate-eng.co.uk", "harbourside.org", "kestrel.io")

COUNTRIES = ("GB", "IE", "FR", "DE", "NL", "ES")
COUNTRY_WEIGHTS = (0.86, 0.05, 0.03, 0.03, 0.02, 0.01)
TIMEZONES = ("Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "Europe/Amsterdam", "Europe/Madrid")
DIAL_CODES = ("44", "353", "33", "49", "31", "34")

PLATFORMS = ("web", "ios", "android")
WEB_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like"
    " Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
    " Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
)
IOS_USER_AGENTS = (
    "Frictionshop/5.12.0 (iPhone; iOS 18.1; Scale/3.00)",
    "Frictionshop/5.11.2 (iPhone; iOS 17.6.1; Scale/3.00)",
    "Frictionshop/5.12.0 (iPad; iOS 18.0; Scale/2.00)",
)
ANDROID_USER_AGENTS = (
    "Frictionshop/5.12.0 (Linux; Android 14; Pixel 8)",
    "Frictionshop/5.11.2 (Linux; Android 13; SM-A546B)",
    "Frictionshop/5.12.0 (Linux; Android 15; SM-S921B)",
)
# Every one names itself: bot, spider, crawler or HeadlessChrome (as the contract says).
MONITOR_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)
CRAWLER_USER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (compatible; SiteAuditCrawler/1.4; +https://example.org/crawler)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
)
EXTERNAL_REFERRERS = (
    "https://www.google.com/",
    "https://www.google.co.uk/",
    "https://www.bing.com/",
    "https://l.facebook.com/",
    "https://www.instagram.com/",
    "https://news.frictionshop-mail.co.uk/",
)
SITE = "https://www.frictionshop.co.uk"

SEARCH_TERMS = (
    "rain jacket",
    "running shoes",
    "wool jumper",
    "kettle",
    "air fryer",
    "bedding set",
    "desk lamp",
    "backpack",
    "headphones",
    "yoga mat",
    "winter boots",
    "phone charger",
    "coffee grinder",
    "duvet",
    "kids wellies",
    "gift card",
    "christmas lights",
    "towels",
    "saucepan set",
    "hoodie",
    "dress",
    "jeans",
    "smart watch",
    "umbrella",
    "scarf",
    "thermal socks",
    "vacuum cleaner",
    "garden hose",
    "board game",
    "candles",
)
# Queries the catalogue has nothing for: misspellings, brands not stocked, jargon.
DEAD_END_TERMS = (
    "raincoat gortex xxl",
    "hedphones",
    "iphone 17 pro case",
    "dyson v15 filter",
    "vegan leather sofa",
    "airfrier",
    "kettel",
    "ps6",
    "size 14 wide fit",
    "returns label",
    "where is my order",
    "student discount",
)
CHECKOUT_FAILURE_REASONS = ("card_declined", "3ds_failed", "insufficient_funds", "address_validation")
TURBULENT_FAILURE_REASONS = ("processor_unavailable", "payment_timeout")
LOGIN_FAILURE_REASONS = ("wrong_password", "wrong_password", "unknown_email", "account_locked")
ERROR_CODES = ("ERR_500", "CART_SYNC_FAILED", "SESSION_EXPIRED", "IMAGE_LOAD_FAILED")
PAYMENT_ERROR_CODES = ("PAYMENT_GATEWAY_TIMEOUT", "PAYMENT_IFRAME_FAILED")
HELP_ARTICLES = {
    "billing": (101, 102, 103, 104),
    "delivery": (201, 202, 203),
    "product": (301, 302),
    "account": (401, 402, 403),
    "returns": (501, 502),
    "technical": (601, 602),
    "other": (701,),
}
# Keys the contract never listed: new app and site releases add them without notice.
UNKNOWN_PROPERTY_KEYS = (
    ("experiment_id", '"exp-checkout-v3"'),
    ("ab_variant", '"B"'),
    ("app_build", "51203"),
    ("page_load_ms", "842"),
    ("consent_banner_version", '"2026.10"'),
    ("sdk_version", '"4.2.1"'),
)

WEB_PAGES = {
    "home": ("/", "Home"),
    "search": ("/search", "Search"),
    "product": ("/p/", "ProductDetail"),
    "cart": ("/cart", "Cart"),
    "checkout": ("/checkout", "Checkout"),
    "payment": ("/checkout/payment", "Payment"),
    "confirmation": ("/checkout/confirmation", "OrderConfirmation"),
    "login": ("/account/login", "Login"),
    "register": ("/account/register", "Register"),
    "password_reset": ("/account/password-reset", "PasswordReset"),
    "account": ("/account", "Account"),
    "orders": ("/account/orders", "Orders"),
    "order_detail": ("/account/orders/", "OrderDetail"),
    "help": ("/help", "Help"),
    "help_article": ("/help/articles/", "HelpArticle"),
    "contact": ("/contact", "Contact"),
    "chat": ("/help/chat", "Chat"),
    "returns": ("/returns/new", "Returns"),
}
