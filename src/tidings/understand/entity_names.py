"""Tables for canonicalising entity names: demonyms, country aliases, honorifics, furniture.

Keys are *lookup keys* as made by :func:`lookup_key` (casefolded, no diacritics, no dots,
hyphens as spaces), so "U.S.", "US" and "u.s" all find the same row.
"""

from __future__ import annotations

import re
import unicodedata

_DOTS = re.compile(r"\.")
_HYPHENS = re.compile(r"[\-\u2010\u2011\u2012\u2013\u2014]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Casefold and strip diacritics and apostrophe variants: the base of every comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("\u2019", "'").replace("\u2018", "'").casefold()


def merge_key(name: str) -> str:
    """Names equal under this key are one entity: case, diacritics and hyphens don't count."""
    return _SPACES.sub(" ", _HYPHENS.sub(" ", fold(name))).strip()


def lookup_key(name: str) -> str:
    """Key into the tables below: like :func:`merge_key`, and dots don't count either."""
    return merge_key(_DOTS.sub("", name))


def _keyed(table: dict[str, str]) -> dict[str, str]:
    return {lookup_key(k): v for k, v in table.items()}


# Demonym -> the country (or region) it names. Only used for NORP-style mentions and
# whole-mention matches, so "Chinese" in "Chinese Communist Party" is not touched.
DEMONYMS: dict[str, str] = _keyed(
    {
        # Americas
        "American": "United States",
        "Canadian": "Canada",
        "Mexican": "Mexico",
        "Cuban": "Cuba",
        "Haitian": "Haiti",
        "Jamaican": "Jamaica",
        "Guatemalan": "Guatemala",
        "Honduran": "Honduras",
        "Salvadoran": "El Salvador",
        "Salvadorean": "El Salvador",
        "Nicaraguan": "Nicaragua",
        "Costa Rican": "Costa Rica",
        "Panamanian": "Panama",
        "Colombian": "Colombia",
        "Venezuelan": "Venezuela",
        "Ecuadorian": "Ecuador",
        "Peruvian": "Peru",
        "Bolivian": "Bolivia",
        "Brazilian": "Brazil",
        "Argentine": "Argentina",
        "Argentinian": "Argentina",
        "Chilean": "Chile",
        "Uruguayan": "Uruguay",
        "Paraguayan": "Paraguay",
        "Puerto Rican": "Puerto Rico",
        "Latin American": "Latin America",
        # Europe
        "British": "United Kingdom",
        "Briton": "United Kingdom",
        "Brit": "United Kingdom",
        "English": "England",
        "Scottish": "Scotland",
        "Scot": "Scotland",
        "Welsh": "Wales",
        "Irish": "Ireland",
        "Northern Irish": "Northern Ireland",
        "French": "France",
        "German": "Germany",
        "Italian": "Italy",
        "Spanish": "Spain",
        "Portuguese": "Portugal",
        "Greek": "Greece",
        "Dutch": "Netherlands",
        "Belgian": "Belgium",
        "Swiss": "Switzerland",
        "Austrian": "Austria",
        "Polish": "Poland",
        "Pole": "Poland",
        "Czech": "Czech Republic",
        "Slovak": "Slovakia",
        "Hungarian": "Hungary",
        "Romanian": "Romania",
        "Bulgarian": "Bulgaria",
        "Serbian": "Serbia",
        "Serb": "Serbia",
        "Croatian": "Croatia",
        "Croat": "Croatia",
        "Bosnian": "Bosnia and Herzegovina",
        "Slovenian": "Slovenia",
        "Slovene": "Slovenia",
        "Albanian": "Albania",
        "Macedonian": "North Macedonia",
        "Montenegrin": "Montenegro",
        "Kosovar": "Kosovo",
        "Moldovan": "Moldova",
        "Ukrainian": "Ukraine",
        "Belarusian": "Belarus",
        "Belarussian": "Belarus",
        "Russian": "Russia",
        "Lithuanian": "Lithuania",
        "Latvian": "Latvia",
        "Estonian": "Estonia",
        "Finnish": "Finland",
        "Finn": "Finland",
        "Swedish": "Sweden",
        "Swede": "Sweden",
        "Norwegian": "Norway",
        "Danish": "Denmark",
        "Dane": "Denmark",
        "Icelandic": "Iceland",
        "Icelander": "Iceland",
        "Maltese": "Malta",
        "Cypriot": "Cyprus",
        "Georgian": "Georgia",
        "Armenian": "Armenia",
        "Azerbaijani": "Azerbaijan",
        "Azeri": "Azerbaijan",
        "Turkish": "Turkey",
        "Turk": "Turkey",
        "European": "Europe",
        "Soviet": "Soviet Union",
        # Middle East and North Africa
        "Israeli": "Israel",
        "Palestinian": "Palestine",
        "Lebanese": "Lebanon",
        "Syrian": "Syria",
        "Jordanian": "Jordan",
        "Iraqi": "Iraq",
        "Iranian": "Iran",
        "Saudi": "Saudi Arabia",
        "Saudi Arabian": "Saudi Arabia",
        "Emirati": "United Arab Emirates",
        "Qatari": "Qatar",
        "Kuwaiti": "Kuwait",
        "Bahraini": "Bahrain",
        "Omani": "Oman",
        "Yemeni": "Yemen",
        "Egyptian": "Egypt",
        "Libyan": "Libya",
        "Tunisian": "Tunisia",
        "Algerian": "Algeria",
        "Moroccan": "Morocco",
        "Middle Eastern": "Middle East",
        # Sub-Saharan Africa
        "Sudanese": "Sudan",
        "South Sudanese": "South Sudan",
        "Ethiopian": "Ethiopia",
        "Eritrean": "Eritrea",
        "Somali": "Somalia",
        "Kenyan": "Kenya",
        "Ugandan": "Uganda",
        "Tanzanian": "Tanzania",
        "Rwandan": "Rwanda",
        "Burundian": "Burundi",
        "Nigerian": "Nigeria",
        "Nigerien": "Niger",
        "Ghanaian": "Ghana",
        "Senegalese": "Senegal",
        "Malian": "Mali",
        "Chadian": "Chad",
        "Cameroonian": "Cameroon",
        "Ivorian": "Ivory Coast",
        "Burkinabe": "Burkina Faso",
        "South African": "South Africa",
        "Zimbabwean": "Zimbabwe",
        "Zambian": "Zambia",
        "Mozambican": "Mozambique",
        "Angolan": "Angola",
        "Namibian": "Namibia",
        "Malagasy": "Madagascar",
        "Malawian": "Malawi",
        "African": "Africa",
        # Asia
        "Chinese": "China",
        "Japanese": "Japan",
        "Korean": "Korea",
        "North Korean": "North Korea",
        "South Korean": "South Korea",
        "Taiwanese": "Taiwan",
        "Hong Konger": "Hong Kong",
        "Tibetan": "Tibet",
        "Mongolian": "Mongolia",
        "Vietnamese": "Vietnam",
        "Thai": "Thailand",
        "Cambodian": "Cambodia",
        "Laotian": "Laos",
        "Burmese": "Myanmar",
        "Malaysian": "Malaysia",
        "Singaporean": "Singapore",
        "Indonesian": "Indonesia",
        "Filipino": "Philippines",
        "Filipina": "Philippines",
        "Philippine": "Philippines",
        "Indian": "India",
        "Pakistani": "Pakistan",
        "Bangladeshi": "Bangladesh",
        "Sri Lankan": "Sri Lanka",
        "Nepali": "Nepal",
        "Nepalese": "Nepal",
        "Bhutanese": "Bhutan",
        "Afghan": "Afghanistan",
        "Afghani": "Afghanistan",
        "Kazakh": "Kazakhstan",
        "Kazakhstani": "Kazakhstan",
        "Uzbek": "Uzbekistan",
        "Kyrgyz": "Kyrgyzstan",
        "Tajik": "Tajikistan",
        "Turkmen": "Turkmenistan",
        "Asian": "Asia",
        # Oceania
        "Australian": "Australia",
        "Aussie": "Australia",
        "New Zealander": "New Zealand",
        "Fijian": "Fiji",
        "Papua New Guinean": "Papua New Guinea",
        # Beyond Earth
        "Martian": "Mars",
        "Antarctic": "Antarctica",
    }
)

# Other names of a place or body -> (canonical name, kind). Capitals are deliberately absent:
# "Pyongyang" and "Beijing" are places in their own right, not stand-ins for the country.
ALIASES: dict[str, tuple[str, str]] = {
    lookup_key(alias): value
    for alias, value in {
        "US": ("United States", "place"),
        "USA": ("United States", "place"),
        "United States of America": ("United States", "place"),
        "America": ("United States", "place"),
        "UK": ("United Kingdom", "place"),
        "Britain": ("United Kingdom", "place"),
        "Great Britain": ("United Kingdom", "place"),
        "PRC": ("China", "place"),
        "People's Republic of China": ("China", "place"),
        "Mainland China": ("China", "place"),
        "DPRK": ("North Korea", "place"),
        "Democratic People's Republic of Korea": ("North Korea", "place"),
        "ROK": ("South Korea", "place"),
        "Republic of Korea": ("South Korea", "place"),
        "Russian Federation": ("Russia", "place"),
        "UAE": ("United Arab Emirates", "place"),
        "DRC": ("Democratic Republic of the Congo", "place"),
        "DR Congo": ("Democratic Republic of the Congo", "place"),
        "Czechia": ("Czech Republic", "place"),
        "Holland": ("Netherlands", "place"),
        "Burma": ("Myanmar", "place"),
        "Côte d'Ivoire": ("Ivory Coast", "place"),
        "Türkiye": ("Turkey", "place"),
        "USSR": ("Soviet Union", "place"),
        "Hague": ("The Hague", "place"),
        "N. Korea": ("North Korea", "place"),
        "S. Korea": ("South Korea", "place"),
        "EU": ("European Union", "organisation"),
        "UN": ("United Nations", "organisation"),
        # A party's members and its adjective are the party: "Democrats", "a Democratic
        # senator" and "the Democratic Party" are one topic.
        "Democrat": ("Democratic Party", "organisation"),
        "Democrats": ("Democratic Party", "organisation"),
        "Democratic": ("Democratic Party", "organisation"),
        "Dems": ("Democratic Party", "organisation"),
        "Republican": ("Republican Party", "organisation"),
        "Republicans": ("Republican Party", "organisation"),
        "GOP": ("Republican Party", "organisation"),
        "Tory": ("Conservative Party", "organisation"),
        "Tories": ("Conservative Party", "organisation"),
        "Labour": ("Labour Party", "organisation"),
        "Liberal": ("Liberal Party", "organisation"),
        "Liberals": ("Liberal Party", "organisation"),
        "Islamic Republic of Iran": ("Iran", "place"),
    }.items()
}

# The party aliases above, by the word a longer party name shares with them: a bare
# "Democrat" in an article about the Liberal Democrats is one of them, not a US Democrat.
PARTY_WORDS: dict[str, str] = {
    lookup_key(alias): stem
    for stem, aliases in {
        "democrat": ["Democrat", "Democrats", "Democratic", "Dems"],
        "republican": ["Republican", "Republicans"],
        "labour": ["Labour"],
        "liberal": ["Liberal", "Liberals"],
    }.items()
    for alias in aliases
}

# Canonical country names, so a mention that already is one ("Jordan") is never read as
# part of a person's name ("Michael Jordan").
COUNTRIES: frozenset[str] = frozenset(
    lookup_key(name) for name in [*DEMONYMS.values(), *(v[0] for v in ALIASES.values())]
)

# Titles that are not part of a person's name (royal and noble titles are, so they stay).
HONORIFICS: frozenset[str] = frozenset(
    lookup_key(t)
    for t in [
        "Mr", "Mrs", "Ms", "Miss", "Mx", "Mister", "Dr", "Prof", "Professor", "President",
        "Senator", "Sen", "Rep", "Gov", "Governor", "Gen", "General", "Rev", "Reverend",
        "Chancellor", "Minister", "Premier", "Judge", "Justice", "Coach", "First Lady",
        "Prime Minister", "Vice President", "Foreign Minister", "Secretary", "Mayor",
        "Constable", "Officer", "Detective", "Sgt", "Lt", "Col", "Capt", "Sergeant",
        "Corporal", "Lieutenant", "Captain", "Inspector", "Superintendent", "Commissioner",
        "Ambassador", "Cosmonaut", "Astronaut", "Councillor", "Councilman", "Councilwoman",
        "Congressman", "Congresswoman", "Representative", "Speaker", "Attorney General",
        "Deputy", "Chief", "Admiral", "Commander", "Marshal", "Pastor", "Father",
    ]
)  # fmt: skip

# Letters after a name that are not part of it: "Kama Melly QC", "Jo Cox MP".
POST_NOMINALS: frozenset[str] = frozenset(
    lookup_key(t)
    for t in ["QC", "KC", "MP", "MSP", "MEP", "MLA", "OBE", "MBE", "CBE", "KBE", "DBE", "PhD"]
)

# Words that name no one thing on their own: a direction, a kind of body, an adjective left
# over from a longer name ("North" of "North Korea", "State" of "State Department").
GENERIC: frozenset[str] = frozenset(
    lookup_key(t)
    for t in [
        "North", "South", "East", "West", "Northern", "Southern", "Eastern", "Western",
        "Central", "Northeast", "Northwest", "Southeast", "Southwest", "State",
        "States", "Government", "University", "College", "Court", "House", "Council", "City",
        "County", "Party", "Ministry", "Department", "Republic", "Kingdom", "Union", "Federal",
        "National", "International", "Independent", "Islamic", "Super", "Agency", "Police",
        "Committee", "Commission", "Office", "Army", "Navy", "Coalition", "Province", "Region",
        "District", "Authority", "Bureau", "Board", "Institute", "Society", "Association",
        "Assembly", "Cabinet", "Administration", "Embassy", "Club", "Group", "Company",
        "Foundation", "Centre", "Center", "Hospital", "School", "Station", "Airport", "MPs",
        "MEPs", "MSPs",
    ]
)  # fmt: skip

# Page furniture that NER sometimes tags: credits, ads, calls to action.
FURNITURE: frozenset[str] = frozenset(
    lookup_key(t)
    for t in [
        "Photo", "Photos", "Picture", "Image", "Images", "Video", "Videos", "Getty",
        "Getty Images", "Advertisement", "Advert", "Ad", "Ads", "Sponsored", "Subscribe",
        "Newsletter", "Read More", "Click Here", "Sign Up", "Log In", "Share", "Comments",
        "File Photo", "Shutterstock", "Alamy", "iStock", "Copyright", "Handout", "UTC", "GMT",
    ]
)  # fmt: skip

# Credit lines ("VCG/VCG via Getty Images") are furniture wherever the agency name sits.
FURNITURE_PARTS: tuple[str, ...] = ("getty images", "shutterstock", "alamy", "istockphoto")

# Short words that follow a hyphen in ordinary English compounds ("US-led", "Putin-era"),
# so a person's name is not stretched over them.
HYPHEN_SUFFIXES: frozenset[str] = frozenset(
    ["led", "run", "era", "born", "made", "like", "type", "style", "free", "wide", "level",
     "based", "owned", "bound", "ish", "esque", "backed", "linked", "style", "year", "old"]
)  # fmt: skip
