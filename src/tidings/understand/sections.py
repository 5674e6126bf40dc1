"""A broad section per article (world, politics, business, sport …), zero-shot.

Each section is described by a dozen or so prototype texts written by hand: a one-line
description and typical headlines (:data:`PROTOTYPES`). An article scores, for each section,
the mean cosine similarity of its three closest prototypes of that section, and goes to the
best-scoring section. The pipeline has the article embeddings already, so this costs one
matrix product. Nothing was fitted to labelled news: the descriptions were written while
reading a dev fifth of MIND (research licence; never shipped, never trained on), and the
accuracy on the other, held-back rows is pinned in ``tidings.evaluate.floors``.

A source's own labels win when they name a section ("Sport", "US politics", "Economy and
business"): that is an editor's decision. When the labels name several sections the
embedding chooses among them; when they name none, it chooses among all.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tidings.understand.embeddings import Embedder, default_embedder

__all__ = [
    "FALLBACK",
    "PROTOTYPES",
    "SECTIONS",
    "Section",
    "SectionClassifier",
    "label_sections",
]


@dataclass(frozen=True, slots=True)
class Section:
    """The section an article belongs to, and how sure the classifier is (0–1)."""

    id: str
    name: str
    confidence: float


#: Every section, as (id, display name), in the order a reader would see them.
#: Crime and weather are beyond the nine every news site has because readers commonly mute
#: or follow them, and MIND files 7% of its stories there: on its held-back rows they find
#: 92% and 89% of those stories, at a cost of 1.9 and 1.1 points of accuracy on the others
#: (a shooting abroad now goes to crime, not world). No "environment": nothing labelled
#: would measure it; climate stories go to science (or weather, for wildfires and floods).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("world", "World"),
    ("politics", "Politics"),
    ("business", "Business"),
    ("technology", "Technology"),
    ("science", "Science"),
    ("health", "Health"),
    ("sport", "Sport"),
    ("entertainment", "Entertainment"),
    ("lifestyle", "Lifestyle"),
    ("crime", "Crime"),
    ("weather", "Weather"),
    ("general", "General"),
)

#: The section for an article with no usable text and no label naming a section. Not
#: "world": an article we know nothing about should not reach (or be muted with) the
#: readers of a real section, so it goes to a catch-all a reader can still follow or mute.
FALLBACK = "general"

_NAMES = dict(SECTIONS)

# Prototype texts per section. Written from what each section of a general news site holds;
# headline-like sentences place headlines better than bare keywords, so both are mixed in.
# The order of sections here is the order of the score matrix's columns.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "world": (
        "World news: international affairs, foreign countries, diplomacy and global events",
        "Protesters clash with police in Hong Kong as the crisis deepens",
        "Troops and rebels fight near the Syrian border; the United Nations calls for a truce",
        "Foreign ministers meet to discuss the war, refugees and sanctions",
        "Earthquake kills dozens abroad as rescuers search the rubble",
        "European Union leaders meet in Brussels over Brexit",
        "Election in India, Brazil, Israel or Germany: the prime minister's party wins",
        "Iran, North Korea and China: tensions with the United States and its allies",
        "Militants attack a village in Nigeria; gunmen kill civilians in Afghanistan",
        "Migrants cross the Mediterranean; refugee camp overcrowded",
        "Soldiers killed by a roadside bomb in Iraq; air strikes on insurgents",
        "Russia and Ukraine, Turkey and the Kurds, Venezuela, Mexico and Bolivia",
    ),
    "politics": (
        "Politics: government, elections, Congress, parliament and political parties",
        "Senate Republicans and House Democrats clash over the impeachment inquiry",
        "The president signs a bill into law after a vote in Congress",
        "Presidential candidate leads in the polls ahead of the primary election",
        "Lawmakers debate the budget, taxes, immigration and health care policy",
        "White House officials testify before a congressional committee",
        "Governor and state legislature; voters head to the ballot in the race for mayor",
        "Trump administration, the whistleblower complaint and the Ukraine investigation",
        "Democratic candidates Biden, Warren and Sanders spar at the debate",
        "Supreme Court rules on a case about voting rights and the constitution",
        "The prime minister faces a vote of no confidence in parliament",
    ),
    "business": (
        "Business and finance news: companies, markets, the economy and money",
        "Stocks fall on Wall Street as investors weigh interest rates and earnings",
        "Company reports quarterly profit and revenue; the CEO announces layoffs",
        "The Federal Reserve cuts interest rates; inflation and unemployment figures",
        "Personal finance: saving money, retirement, taxes, credit cards and debt",
        "Housing market: home prices, real estate sales and mortgage rates",
        "Merger and acquisition: the company agrees to buy its rival for billions",
        "Trade war and tariffs hit manufacturers and farmers",
        "Retail sales: the store chain closes locations and files for bankruptcy",
        "Airline, carmaker and oil company shares; Boeing, GM, Ford and Exxon",
        "Jobs and careers: salaries, the workplace, hiring and the best employers",
        "Mansion for sale: the luxury home hits the market for millions",
    ),
    "technology": (
        "Technology news: gadgets, smartphones, computers, software, apps and the internet",
        "Apple, Google, Microsoft, Amazon and Facebook launch new products and services",
        "New smartphone review: camera, battery, screen and processor",
        "Hackers, cybersecurity, data breach and online privacy",
        "Artificial intelligence, robots and startups in Silicon Valley",
        "Social media: Twitter, Instagram and YouTube change their rules",
        "Software update for Windows, Android and iPhone users",
        "The best laptops, headphones, TVs and smart home devices to buy",
        "Video games: new console, Xbox, PlayStation and Nintendo",
        "Streaming service, broadband, 5G networks and electric cars' battery technology",
    ),
    "science": (
        "Science news: research, discoveries, space, physics and biology",
        "Scientists discover a new species; the study was published in a journal",
        "NASA spacecraft, astronauts, planets, asteroids and the universe",
        "Researchers find fossils of dinosaurs and early humans",
        "Climate change, oceans, glaciers and wildlife research",
        "Physicists and chemists experiment in the laboratory",
        "Meteor shower, eclipse and the night sky: how to watch",
        "Study of animal behaviour: whales, birds and insects",
        "Rocket launch to the International Space Station",
        "Geologists study volcanoes, earthquakes and the Earth's history",
    ),
    "health": (
        "Health news: medicine, disease, doctors, hospitals and wellbeing",
        "Study finds a link between diet and the risk of cancer, heart disease and diabetes",
        "Outbreak of a virus: cases rise as health officials urge vaccination",
        "How to lose weight, exercise and sleep better",
        "Symptoms you should never ignore, according to doctors",
        "Patients, treatment, new drugs and the FDA",
        "Mental health: depression, anxiety and stress",
        "Nutrition: the healthiest foods to eat and what to avoid",
        "Fitness workouts and weight loss tips from trainers",
        "Vaping illness, opioid addiction and overdoses",
        "Cancer survivor shares her diagnosis and treatment journey",
    ),
    "sport": (
        "Sports news: football, soccer, baseball, basketball, hockey, tennis and golf",
        "The team won the game with a late touchdown; the quarterback threw for 300 yards",
        "Coach, players, season, standings, playoffs and championship",
        "The striker scores twice as the club wins the match",
        "NFL, NBA, MLB, NHL, college football, UFC, boxing and the Olympics",
        "Player injured, traded or signed to a contract; the draft",
        "World Series: pitcher, home run, innings and the Astros and Nationals",
        "NBA star scores 30 points as the Lakers beat the Clippers",
        "Grand Slam: tennis star wins the final; golfer leads the tournament",
        "NASCAR and Formula One race: the driver takes pole position",
        "The fighter knocks out his opponent in the UFC main event",
        "NFL player suspended by the league after his arrest",
        "Star quarterback and his coach speak out after the loss",
    ),
    "entertainment": (
        "Entertainment news: movies, television, music, celebrities and culture",
        "Celebrity couple announces engagement; the actress shares photos on Instagram",
        "New film tops the box office; review of the movie and its cast",
        "TV series finale, reality show, streaming and Netflix",
        "Singer releases a new album and tour; the band wins at the music awards",
        "Hollywood stars on the red carpet, the Oscars, Grammys and Emmys",
        "Books, theatre, art exhibitions and pop culture",
        "Actor's divorce and custody battle; the star's ex-wife speaks out",
        "Late-night talk show host jokes about the news",
        "Country singer and rapper; the reality TV star's family",
        "Actor pleads not guilty to charges; the celebrity's lawsuit",
        "What the cast of the classic movie looks like now",
    ),
    "lifestyle": (
        "Lifestyle: food and drink, travel, home and garden, fashion and family",
        "Easy dinner recipes and cooking tips",
        "The best restaurants, burgers, pizza and desserts in every state",
        "Travel destinations, vacation ideas, hotels, cruises and beaches",
        "Airlines, flights and airports: tips for travellers",
        "Home decor, gardening, cleaning and organizing tips",
        "Fashion, style and beauty: the best looks",
        "Weddings, relationships, parenting and family life",
        "Pets: dogs, cats and adorable animals",
        "New car review: the SUV's engine, interior, price and driving",
        "Classic cars, trucks and motorcycles for sale",
        "Holiday shopping and gift ideas; Halloween costumes and Thanksgiving",
        "The royal family: Prince Harry, Meghan Markle, Kate Middleton and the Queen",
        "Heartwarming stories and photos that will make you smile",
        "Things you didn't know: fun facts and brain teasers",
    ),
    "crime": (
        "Crime news: police, arrests, shootings, murders, courts and trials",
        "Police arrest a suspect after a man was shot and killed",
        "Man charged with murder appears in court; the jury finds him guilty",
        "Woman sentenced to prison for fraud and theft",
        "Deputies search for a missing girl; Amber Alert issued",
        "Robbery, burglary, carjacking and assault suspects sought",
        "Sheriff's office investigates a stabbing; victim identified",
        "Hit-and-run driver sought by police after a pedestrian was killed",
        "Mass shooting: gunman opens fire, killing several people",
        "Drug bust: police seize heroin, guns and cash",
    ),
    "weather": (
        "Weather news: forecast, storms, rain, snow, heat, cold and wind",
        "Winter storm warning: heavy snow and freezing temperatures expected tonight",
        "Hurricane, tornado, flooding and severe thunderstorms hit the region",
        "The forecast for the weekend: sunny, then cloudy with showers and cooler weather",
        "Wildfires spread in dry, windy conditions as residents evacuate",
        "Record cold: arctic blast brings the first frost and snowfall",
        "Power outages after strong winds knock down trees",
    ),
}

# Words in a source's labels that name a section. A label is lower-cased and split into
# words; each word (or the two-word phrases below) is looked up here. Names of people,
# places and organisations are deliberately absent: a label "Donald Trump" does not say
# which section the story belongs to.
_LABEL_WORDS: dict[str, tuple[str, ...]] = {
    "world": (
        "world",
        "worldnews",
        "international",
        "foreign",
        "global",
        "conflict",
        "conflicts",
        "war",
        "europe",
        "asia",
        "africa",
        "americas",
        "newsworld",
    ),
    "politics": (
        "politics",
        "political",
        "elections",
        "election",
        "government",
        "congress",
        "parliament",
        "newspolitics",
    ),
    "business": (
        "business",
        "economy",
        "economics",
        "finance",
        "financial",
        "markets",
        "money",
        "companies",
        "industries",
        "realestate",
    ),
    "technology": (
        "technology",
        "tech",
        "gadgets",
        "mobile",
        "software",
        "internet",
        "computing",
        "cybersecurity",
        "newsscienceandtechnology",
    ),
    "science": (
        "science",
        "physics",
        "chemistry",
        "biology",
        "astronomy",
        "space",
        "neuroscience",
        "genetics",
        "geophysics",
        "geochemistry",
        "environment",
        "newsscienceandtechnology",
    ),
    "health": (
        "health",
        "medicine",
        "medical",
        "diseases",
        "wellness",
        "fitness",
        "nutrition",
        "healthcare",
    ),
    "sport": (
        "sport",
        "sports",
        "football",
        "soccer",
        "baseball",
        "basketball",
        "cricket",
        "rugby",
        "tennis",
        "golf",
        "hockey",
        "nfl",
        "nba",
        "mlb",
        "nhl",
        "f1",
    ),
    "entertainment": (
        "entertainment",
        "culture",
        "arts",
        "film",
        "films",
        "movies",
        "movie",
        "music",
        "television",
        "tv",
        "celebrity",
        "celebrities",
        "gaming",
        "books",
    ),
    "lifestyle": (
        "lifestyle",
        "living",
        "food",
        "foodanddrink",
        "travel",
        "fashion",
        "style",
        "recipes",
        "autos",
        "cars",
        "motoring",
        "garden",
        "gardening",
        "family",
        "relationships",
    ),
    "crime": ("crime", "newscrime", "police", "courts"),
    "weather": ("weather",),
}
# Sections named only by a phrase whose words alone say nothing ("Life and style" is caught
# by "style" above).
_LABEL_PHRASES: dict[str, str] = {"real estate": "business"}
_WORD_SECTIONS: dict[str, frozenset[str]] = {}
for _section, _words in _LABEL_WORDS.items():
    for _word in _words:
        _WORD_SECTIONS[_word] = _WORD_SECTIONS.get(_word, frozenset()) | {_section}
_WORD = re.compile(r"[a-z0-9]+")

# Softmax temperature turning section scores into confidences. Scores of different sections
# differ by a few hundredths, so they need sharpening; 0.03 makes confidence match accuracy
# (MIND dev: mean confidence 82% at 80% accuracy; held back: 81% at 79%, calibration error
# 0.035). It changes no decision.
_TEMPERATURE = 0.03
# A single label naming a section is an editor's call: reported with this confidence.
_LABEL_CONFIDENCE = 0.95
# A section scores the mean cosine of its _TOP closest prototypes. Sections are broad
# (lifestyle holds recipes, travel and cars), so the average of all a section's prototypes
# resembles no article; the single closest lets one stray prototype capture articles. MIND
# dev accuracy with the mean of all / the closest one / the closest three: 72.7 / 77.2 /
# 80.5% (held back: 70.8 / 75.8 / 79.0%).
_TOP = 3

# Every section the prototypes or labels can name is a section a reader can pick.
assert set(PROTOTYPES) | set(_LABEL_WORDS) | set(_LABEL_PHRASES.values()) <= set(_NAMES)
assert FALLBACK in _NAMES and FALLBACK not in PROTOTYPES


def label_sections(labels: Sequence[str]) -> frozenset[str]:
    """The sections a source's labels name, e.g. ``["US news", "US politics"]`` →
    ``{"politics"}``; empty when none does."""
    found: set[str] = set()
    for label in [labels] if isinstance(labels, str) else labels:
        text = label.lower()
        for phrase, section in _LABEL_PHRASES.items():
            if phrase in text:
                found.add(section)
        for word in _WORD.findall(text):
            found |= _WORD_SECTIONS.get(word, frozenset())
    return frozenset(found)


_PROTOTYPE_CACHE: weakref.WeakKeyDictionary[Embedder, np.ndarray] = weakref.WeakKeyDictionary()


def _prototype_vectors(embedder: Embedder) -> np.ndarray:
    """The embeddings of every prototype text, sections in ``PROTOTYPES`` order; computed
    once per embedder (about a second), as every pipeline run builds a classifier."""
    try:
        return _PROTOTYPE_CACHE[embedder]
    except (KeyError, TypeError):  # TypeError: an embedder that cannot be weakly referenced
        pass
    texts = [text for texts in PROTOTYPES.values() for text in texts]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    with contextlib.suppress(TypeError):
        _PROTOTYPE_CACHE[embedder] = vectors
    return vectors


class SectionClassifier:
    """Places article embeddings in sections by their similarity to each section's
    prototype descriptions."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        """Embed the prototype texts (about 130 short ones, once per embedder)."""
        self.embedder = embedder if embedder is not None else default_embedder()
        self.section_ids: tuple[str, ...] = tuple(PROTOTYPES)
        self._prototypes = _prototype_vectors(self.embedder)
        bounds = np.cumsum([0] + [len(texts) for texts in PROTOTYPES.values()])
        self._slices = [slice(a, b) for a, b in itertools.pairwise(bounds)]

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Each article's score for each section, ``(n, len(section_ids))``: the mean cosine
        similarity of its ``_TOP`` most similar prototypes of that section."""
        vectors = np.asarray(vectors, dtype=np.float32)
        width = self._prototypes.shape[1]
        if vectors.ndim != 2 or vectors.shape[1] != width:
            raise ValueError(
                f"expected an (n, {width}) array of article embeddings, got shape {vectors.shape}"
            )
        similarities = vectors @ self._prototypes.T
        columns = []
        for part in self._slices:
            block = similarities[:, part]
            top = min(_TOP, block.shape[1])
            columns.append(np.partition(block, block.shape[1] - top, axis=1)[:, -top:].mean(1))
        return np.stack(columns, axis=1)

    def classify(
        self,
        vectors: np.ndarray,
        labels: Sequence[Sequence[str]] | None = None,
        texts_empty: Sequence[bool] | None = None,
    ) -> list[Section]:
        """One section per row of ``vectors`` (unit-length article embeddings).

        ``labels`` are each article's source labels; ``texts_empty`` marks articles with no
        usable text, whose vectors mean nothing (so do all-zero or non-finite rows).
        """
        n = len(vectors)
        for name, given in (("labels", labels), ("texts_empty", texts_empty)):
            if given is not None and len(given) != n:
                raise ValueError(f"{name} has {len(given)} entries for {n} vectors")
        if n == 0:
            return []
        vectors = np.asarray(vectors, dtype=np.float32)
        usable = np.isfinite(vectors).all(axis=1) & (np.abs(vectors).sum(axis=1) > 0)
        if texts_empty is not None:
            usable &= ~np.asarray(texts_empty, dtype=bool)
        safe = np.where(usable[:, None], np.nan_to_num(vectors), 0.0)
        logits = self.scores(safe) / _TEMPERATURE
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)

        sections: list[Section] = []
        for row in range(n):
            hinted = label_sections(labels[row]) if labels is not None else frozenset()
            sections.append(self._place(probabilities[row], hinted, bool(usable[row])))
        return sections

    def _place(self, probabilities: np.ndarray, hinted: frozenset[str], usable: bool) -> Section:
        """Labels first, then the text; the fallback only with neither."""
        if len(hinted) == 1:
            (only,) = hinted
            return Section(only, _NAMES[only], _LABEL_CONFIDENCE)
        if not usable:
            if hinted:  # several labelled sections and no text to choose: take the first
                first = next(s for s, _ in SECTIONS if s in hinted)
                return Section(first, _NAMES[first], round(_LABEL_CONFIDENCE / len(hinted), 4))
            return Section(FALLBACK, _NAMES[FALLBACK], 0.0)
        candidates = [i for i, s in enumerate(self.section_ids) if not hinted or s in hinted]
        best = max(candidates, key=lambda i: probabilities[i])
        confidence = probabilities[best] / probabilities[candidates].sum()
        section = self.section_ids[best]
        return Section(section, _NAMES[section], round(float(confidence), 4))
