"""Synthetic demo content for Framdrift (syntetiska demodata / synthetic demo data).

Everything in this module is FICTIONAL. The municipality, its units, the people's names, the
course materials, reflections, decisions, experiments, capabilities, recommendations and
maturity scores are invented for demonstrations, tests and benchmarks. Any resemblance to real
organisations or persons is coincidental. The structure (five weekly themes, four development
areas, a DiMiOS-style maturity assessment before and after) follows the public report
"Framdrift genom utbildning" (Göteborgs universitet, 2021); no content is copied from any real
participant.

The module is pure data: deterministic, no randomness, no I/O and only standard-library
imports. A separate loader picks from these tables with ``random.Random(seed)``.

Keys used for cross-references:

* theme keys: ``THEMES[i]["key"]`` (keys of ``REFLECTIONS``);
* unit keys: ``UNITS[i]["key"]`` (values in the optional ``units`` lists);
* development-area keys: ``DEVELOPMENT_AREAS[i]["key"]`` (values in every ``areas`` list);
* week numbers 1..5 (keys of ``MATERIALS``); week ``n`` has theme ``THEMES[n - 1]``.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------

UnitKind = Literal["administration", "company"]
MaterialKind = Literal["film", "podcast", "report"]
Outcome = Literal["adopt", "adapt", "abandon"]


class Theme(TypedDict):
    key: str
    name_sv: str
    name_en: str


class Unit(TypedDict):
    key: str
    name_sv: str
    name_en: str
    kind: UnitKind


class Material(TypedDict):
    kind: MaterialKind
    title_sv: str
    title_en: str
    minutes: NotRequired[int]  # films and podcasts
    pages: NotRequired[int]  # reports


class Reflection(TypedDict):
    example: str
    deficiency: str
    solutions: str
    areas: list[str]


class DevelopmentArea(TypedDict):
    key: str
    name_sv: str
    name_en: str
    description_sv: str


class Decision(TypedDict):
    statement: str
    rationale: str
    areas: list[str]
    units: NotRequired[list[str]]  # suggested units involved (optional hint for the loader)


class Experiment(TypedDict):
    aim: str
    change: str
    prediction: str
    measure: str
    observations: list[str]
    result: str
    learning: str
    outcome: Outcome
    areas: list[str]
    units: NotRequired[list[str]]  # suggested collaborating units (optional hint)


class Capability(TypedDict):
    name: str
    description: str
    refinement: str
    application_note: str
    areas: list[str]


class Recommendation(TypedDict):
    text: str
    areas: list[str]


class MaturityDimension(TypedDict):
    key: str
    name_sv: str
    name_en: str
    categories: list[str]


# ---------------------------------------------------------------------------------------------
# Programme
# ---------------------------------------------------------------------------------------------

SYNTHETIC_LABEL: str = "Syntetiska demodata / synthetic demo data"

# Fictional: there is no Swedish municipality called Exempelby.
ORGANISATION: str = "Exempelby kommun (syntetisk)"

PROGRAMME_TITLE: str = "Framdrift genom utbildning – digitalisering hösten (demo)"

THEMES: list[Theme] = [
    {"key": "digitalisation", "name_sv": "Digitalisering", "name_en": "Digitalisation"},
    {"key": "governance", "name_sv": "Styrning", "name_en": "Governance"},
    {"key": "organising", "name_sv": "Organisering", "name_en": "Organising"},
    {"key": "strategy", "name_sv": "Strategi", "name_en": "Strategy"},
    {"key": "summary", "name_sv": "Sammanfattning", "name_en": "Summary"},
]

UNITS: list[Unit] = [
    {
        "key": "social_services",
        "name_sv": "Socialförvaltningen",
        "name_en": "Social Services Administration",
        "kind": "administration",
    },
    {
        "key": "education",
        "name_sv": "Utbildningsförvaltningen",
        "name_en": "Education Administration",
        "kind": "administration",
    },
    {
        "key": "city_planning",
        "name_sv": "Stadsbyggnadsförvaltningen",
        "name_en": "City Planning Administration",
        "kind": "administration",
    },
    {
        "key": "it",
        "name_sv": "IT-avdelningen (kommunledningskontoret)",
        "name_en": "IT Department (Municipal Executive Office)",
        "kind": "administration",
    },
    {
        "key": "hr",
        "name_sv": "HR-avdelningen",
        "name_en": "HR Department",
        "kind": "administration",
    },
    {
        "key": "culture_leisure",
        "name_sv": "Kultur- och fritidsförvaltningen",
        "name_en": "Culture and Leisure Administration",
        "kind": "administration",
    },
    {
        "key": "environment",
        "name_sv": "Miljöförvaltningen",
        "name_en": "Environment Administration",
        "kind": "administration",
    },
    {
        "key": "housing_company",
        "name_sv": "Exempelby Bostäder AB",
        "name_en": "Exempelby Housing Company",
        "kind": "company",
    },
    {
        "key": "energy_company",
        "name_sv": "Exempelby Energi AB",
        "name_en": "Exempelby Energy Company",
        "kind": "company",
    },
]

# Common Swedish names; the loader combines them into fictional people.
FIRST_NAMES: list[str] = [
    "Anna",
    "Eva",
    "Maria",
    "Karin",
    "Sara",
    "Lena",
    "Kerstin",
    "Emma",
    "Malin",
    "Ingrid",
    "Sofia",
    "Linnea",
    "Helena",
    "Johanna",
    "Camilla",
    "Erik",
    "Lars",
    "Karl",
    "Anders",
    "Johan",
    "Per",
    "Mikael",
    "Peter",
    "Fredrik",
    "Daniel",
    "Magnus",
    "Mattias",
    "Jonas",
    "Oskar",
    "Ali",
    "Amir",
    "Leila",
]

LAST_NAMES: list[str] = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Jakobsson",
    "Magnusson",
    "Lindström",
    "Olofsson",
    "Lindqvist",
    "Lindgren",
    "Berg",
    "Axelsson",
    "Bergström",
    "Lundberg",
    "Lind",
    "Lundgren",
    "Mattsson",
    "Holm",
    "Sandberg",
]

# ---------------------------------------------------------------------------------------------
# Materials per week (invented titles; no real URLs)
# ---------------------------------------------------------------------------------------------

MATERIALS: dict[int, list[Material]] = {
    1: [
        {
            "kind": "film",
            "title_sv": "Vad är digitalisering? Från digitisering till verksamhetsutveckling",
            "title_en": "What is digitalisation? From digitisation to business development",
            "minutes": 24,
        },
        {
            "kind": "podcast",
            "title_sv": "Effektivitet eller innovation – två sidor av samma digitalisering",
            "title_en": "Efficiency or innovation – two sides of the same digitalisation",
            "minutes": 38,
        },
        {
            "kind": "report",
            "title_sv": "Digital kompetens och digitaliseringskompetens i kommunal sektor",
            "title_en": "Digital skills and digitalisation competence in local government",
            "pages": 32,
        },
        {
            "kind": "film",
            "title_sv": "Intern och extern nytta: vem digitaliserar vi för?",
            "title_en": "Internal and external value: who are we digitalising for?",
            "minutes": 17,
        },
    ],
    2: [
        {
            "kind": "film",
            "title_sv": "Styrning av digitalisering i offentlig sektor",
            "title_en": "Governing digitalisation in the public sector",
            "minutes": 28,
        },
        {
            "kind": "report",
            "title_sv": (
                "Regelverk som hinder eller möjlighet? Tolkningar av dataskydd och upphandling"
            ),
            "title_en": (
                "Rules as obstacle or opportunity? Readings of data protection and procurement"
            ),
            "pages": 46,
        },
        {
            "kind": "podcast",
            "title_sv": "Politik, värden och vägval i digitaliseringen",
            "title_en": "Politics, values and choices in digitalisation",
            "minutes": 42,
        },
    ],
    3: [
        {
            "kind": "film",
            "title_sv": "Silos, samverkan och tvärfunktionella team",
            "title_en": "Silos, collaboration and cross-functional teams",
            "minutes": 22,
        },
        {
            "kind": "podcast",
            "title_sv": "IT-avdelningens roll: beställare, leverantör eller partner?",
            "title_en": "The IT department's role: client, supplier or partner?",
            "minutes": 35,
        },
        {
            "kind": "report",
            "title_sv": "Organisering för digitalisering i kommunkoncernen",
            "title_en": "Organising for digitalisation in the municipal group",
            "pages": 38,
        },
        {
            "kind": "film",
            "title_sv": "Kompetensförsörjning och nya roller i en digital tid",
            "title_en": "Skills supply and new roles in a digital age",
            "minutes": 19,
        },
    ],
    4: [
        {
            "kind": "report",
            "title_sv": "Kommunens digitaliseringsstrategi – från dokument till praktik",
            "title_en": "The municipal digitalisation strategy – from document to practice",
            "pages": 41,
        },
        {
            "kind": "film",
            "title_sv": "Att välja bort: prioritering och portföljstyrning",
            "title_en": "Choosing what not to do: prioritisation and portfolio management",
            "minutes": 26,
        },
        {
            "kind": "podcast",
            "title_sv": "Digitalt arv: när gamla system styr nya beslut",
            "title_en": "Digital legacy: when old systems steer new decisions",
            "minutes": 40,
        },
    ],
    5: [
        {
            "kind": "film",
            "title_sv": "Från insikt till förmåga: att förankra förändring",
            "title_en": "From insight to capability: anchoring change",
            "minutes": 21,
        },
        {
            "kind": "report",
            "title_sv": "Mognadsmätning som lärandeverktyg – en introduktion",
            "title_en": "Maturity assessment as a learning tool – an introduction",
            "pages": 24,
        },
        {
            "kind": "podcast",
            "title_sv": "Deltagare som förändringsagenter – samtal med tidigare kursdeltagare",
            "title_en": "Participants as change agents – a conversation with former participants",
            "minutes": 33,
        },
    ],
}

# ---------------------------------------------------------------------------------------------
# Development areas (the four the cohort identifies at the final session)
# ---------------------------------------------------------------------------------------------

DEVELOPMENT_AREAS: list[DevelopmentArea] = [
    {
        "key": "definition_goals",
        "name_sv": "Definition och mål",
        "name_en": "Definition and goals",
        "description_sv": (
            "En gemensam definition av digitalisering för hela kommunkoncernen som balanserar "
            "effektivitet och innovation samt intern och extern nytta, och som används för att "
            "förfina digitaliseringsplanen och prioritera insatser."
        ),
    },
    {
        "key": "political_anchoring",
        "name_sv": "Politisk förankring",
        "name_en": "Political anchoring",
        "description_sv": (
            "Digitalisering är inte värdeneutral. Politiken behöver vara engagerad i vägval och "
            "prioriteringar, och därför utbildas i vad digitalisering är och vad den kräver av "
            "organisationen."
        ),
    },
    {
        "key": "development_forums",
        "name_sv": "Tvärfunktionella utvecklingsforum",
        "name_en": "Cross-functional development forums",
        "description_sv": (
            "Återkommande forum över förvaltnings- och bolagsgränser där dialogen står i centrum "
            "snarare än beslutsfattandet, så att utvecklingsinitiativ kan diskuteras och "
            "utvecklas gemensamt även efter kursen."
        ),
    },
    {
        "key": "hr_role",
        "name_sv": "HR:s roll och uppdrag",
        "name_en": "HR's role and mission",
        "description_sv": (
            "HR får i uppdrag att stötta digitaliseringen, både konkret i verksamhetsutveckling "
            "och som strategisk dialogpartner i kompetensförsörjning, chefsrekrytering och "
            "medarbetarnas digitala kompetens."
        ),
    },
]

# ---------------------------------------------------------------------------------------------
# Reflections per theme key (examples from practice, deficiency, possible solutions)
# ---------------------------------------------------------------------------------------------

REFLECTIONS: dict[str, list[Reflection]] = {
    "digitalisation": [
        {
            "example": (
                "På socialförvaltningen pratar vi om digitalisering nästan bara som att ersätta "
                "pappersblanketter med e-tjänster. Målet i verksamhetsplanen är antal e-tjänster."
            ),
            "deficiency": (
                "Digitalisering ses enbart som intern effektivisering. Frågan om vad brukarna "
                "faktiskt får för nytta, eller vilka nya arbetssätt som blir möjliga, ställs inte."
            ),
            "solutions": (
                "Formulera en gemensam definition som rymmer både effektivitet och innovation. "
                "Byt ut målet om antal e-tjänster mot mål som beskriver nytta för brukaren."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "När vi i ledningsgruppen ombads definiera digitalisering fick vi sju olika svar. "
                "IT tänkte på infrastruktur, skolan på elevernas digitala kompetens."
            ),
            "deficiency": (
                "Vi saknar ett gemensamt språk, så samma ord betyder olika saker i olika "
                "förvaltningar och samtalen om prioriteringar går förbi varandra."
            ),
            "solutions": (
                "Ta fram en kort gemensam ordlista och en definition som förankras i hela "
                "kommunkoncernen, och använd den i planeringen."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "Vi automatiserade hanteringen av ansökningar om föreningsbidrag, men "
                "handläggarna skriver fortfarande ut underlagen och granskar dem på papper."
            ),
            "deficiency": (
                "Vi digitiserade ett steg utan att ändra arbetssättet runt omkring, så den "
                "förväntade nyttan uteblev."
            ),
            "solutions": (
                "Börja i processen och arbetssättet, inte i tekniken. Låt handläggarna själva "
                "vara med och rita om processen innan nästa automatisering."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "Digitaliseringsplanen består i praktiken av en lista med system som ska "
                "upphandlas eller bytas ut de kommande tre åren."
            ),
            "deficiency": (
                "Planen är kopplad till teknik snarare än till kommunens övergripande mål, så "
                "det går inte att avgöra om prioriteringen är ändamålsenlig."
            ),
            "solutions": (
                "Utgå från en gemensam definition och knyt varje post i planen till ett "
                "verksamhetsmål. Det som inte går att koppla till ett mål ifrågasätts."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "I nämnden frågar politikerna mest efter hur många e-tjänster vi har lanserat "
                "och vad de har kostat."
            ),
            "deficiency": (
                "Politiken har fått en smal bild av digitalisering och är inte delaktig i de "
                "vägval som faktiskt påverkar medborgarna."
            ),
            "solutions": (
                "Bjud in presidiet till ett seminarium om vad digitalisering är och vilka "
                "värdefrågor den rymmer, och redovisa nytta i stället för antal."
            ),
            "areas": ["political_anchoring", "definition_goals"],
        },
        {
            "example": (
                "Hos oss har det vuxit fram roller som digitaliseringsstrateg och "
                "verksamhetsutvecklare, men ingen vet riktigt vad de förväntas göra."
            ),
            "deficiency": (
                "Nya roller skapas utan uppdragsbeskrivning eller karriärväg, och HR har inte "
                "varit med när rollerna tagits fram."
            ),
            "solutions": (
                "Låt HR tillsammans med verksamheten beskriva rollerna och hur de hänger ihop "
                "med befintliga chefs- och specialistroller."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Bostadsbolaget testade digitala lås och sensorer i ett kvarter för två år sedan. "
                "Ingen på förvaltningarna kände till piloten förrän nu under kursen."
            ),
            "deficiency": (
                "Erfarenheter stannar i den enhet där de uppstod. Vi har inget forum där bolag "
                "och förvaltningar delar lärdomar från försök."
            ),
            "solutions": (
                "Skapa en återkommande träff där bolag och förvaltningar visar pågående försök "
                "för varandra, utan krav på beslut."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "Våra miljöinspektörer har surfplattor ute på tillsyn, men protokollen skrivs "
                "om för hand i ärendesystemet när de kommer tillbaka till kontoret."
            ),
            "deficiency": (
                "Vi har köpt verktyg men inte ändrat flödet, så data registreras två gånger och "
                "ingen tid frigörs."
            ),
            "solutions": (
                "Kartlägg flödet från tillsyn till beslut tillsammans med IT och se om "
                "protokollet kan gå direkt in i ärendesystemet."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "På utbildningsförvaltningen pratar vi mycket om digital kompetens hos elever "
                "och lärare, men nästan aldrig om hur skolorganisationen ska förändras."
            ),
            "deficiency": (
                "Digital kompetens, att kunna använda verktyg, blandas ihop med "
                "digitaliseringskompetens, att kunna leda förändringen."
            ),
            "solutions": (
                "Skilj på de två begreppen i kompetensplanen och ge skolledare stöd i att leda "
                "digital transformation, inte bara i att använda verktyg."
            ),
            "areas": ["definition_goals", "hr_role"],
        },
    ],
    "governance": [
        {
            "example": (
                "Vi har länge tolkat dataskyddsreglerna som att förvaltningarna inte får dela en "
                "gemensam dataplattform. Vid en andra läsning tillsammans med juristen står det "
                "inget sådant."
            ),
            "deficiency": (
                "En försiktig tolkning har blivit sanning utan att någon prövat den, och den har "
                "stoppat samarbete kring data i flera år."
            ),
            "solutions": (
                "Välj en annan tolkning som fortfarande följer regelverket, dokumentera den och "
                "begär ett juridiskt förtydligande så att alla förvaltningar kan luta sig mot "
                "samma bedömning."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "Vi har trott att upphandlingsreglerna förbjuder oss att prata med leverantörer "
                "innan en upphandling, så kravspecifikationerna skrivs helt internt."
            ),
            "deficiency": (
                "Reglerna tolkas snävare än de är. Vi missar marknadsdialog som är tillåten och "
                "som kunde ge bättre underlag."
            ),
            "solutions": (
                "Ta fram en vägledning tillsammans med upphandlingsfunktionen om hur "
                "marknadsdialog kan genomföras korrekt, och pröva den i nästa upphandling."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "Kostnaden för ett nytt system för schemaläggning belastar IT-avdelningen, medan "
                "nyttan uppstår i hemtjänsten."
            ),
            "deficiency": (
                "Budgetstyrningen ger ingen enhet incitament att driva investeringen, eftersom "
                "den som betalar inte är den som får nyttan."
            ),
            "solutions": (
                "Pröva en modell där kostnad och nytta redovisas tillsammans per initiativ, och "
                "där verksamheten äger nyttohemtagningen."
            ),
            "areas": ["definition_goals", "political_anchoring"],
        },
        {
            "example": (
                "Nämnden fattade beslut om ett nytt verksamhetssystem utifrån en kort "
                "tjänsteskrivelse om pris och tidplan."
            ),
            "deficiency": (
                "Politiken är inte förankrad i de vägval systemet innebär, till exempel vad det "
                "gör med personalens arbete och medborgarnas kontakt med oss."
            ),
            "solutions": (
                "Komplettera tjänsteskrivelserna med en kort beskrivning av vägval och "
                "konsekvenser, och erbjud nämnden en dragning innan beslut."
            ),
            "areas": ["political_anchoring"],
        },
        {
            "example": (
                "Informationssäkerhetsklassningen görs först när ett projekt är nästan klart, "
                "och då blir den ofta ett stopp i sista stund."
            ),
            "deficiency": (
                "Styrningen fungerar som en grind i slutet i stället för ett stöd från början, "
                "vilket skapar förseningar och konflikter."
            ),
            "solutions": (
                "Ta in informationssäkerhet och dataskydd redan i förstudien och låt samma "
                "person följa projektet hela vägen."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "Enligt vår tolkning av arkivreglerna måste vissa beslut skrivas ut och "
                "undertecknas på papper, trots att vi har ett e-arkiv."
            ),
            "deficiency": (
                "Vi följer en äldre praxis snarare än regeln. Tolkningen låser fast oss i "
                "dubbla flöden."
            ),
            "solutions": (
                "Låt arkivarien och en jurist gå igenom frågan på nytt och välj den tolkning "
                "som möjliggör helt digitala beslut."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "När arbetsuppgifter förändras av ett nytt system kommer HR och den fackliga "
                "samverkan in först när allt redan är bestämt."
            ),
            "deficiency": (
                "HR är inte involverat i rollförändringar, och förändringen upplevs som något "
                "som görs mot medarbetarna snarare än med dem."
            ),
            "solutions": (
                "Skriv in i projektmodellen att HR deltar från start i projekt som påverkar "
                "roller och arbetsuppgifter."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Varje liten ändring i ett e-tjänsteflöde kräver i vår tolkning av "
                "delegationsordningen ett beslut av förvaltningschefen."
            ),
            "deficiency": (
                "Styrningen är byggd för stora engångsinvesteringar, inte för löpande "
                "utveckling i små steg."
            ),
            "solutions": (
                "Se över delegationsordningen så att förvaltningsgrupper får mandat att göra "
                "mindre ändringar inom en given ram."
            ),
            "areas": ["definition_goals", "political_anchoring"],
        },
        {
            "example": (
                "Vi har inget forum där förvaltningarna gemensamt prövar hur styrande dokument "
                "ska tolkas, så varje förvaltning gör sin egen bedömning."
            ),
            "deficiency": (
                "Samma regel tolkas olika i olika delar av kommunen, och den mest restriktiva "
                "tolkningen brukar vinna."
            ),
            "solutions": (
                "Inför ett tvärfunktionellt samtal där tolkningsfrågor lyfts och där jurister, "
                "IT och verksamhet resonerar tillsammans."
            ),
            "areas": ["development_forums"],
        },
    ],
    "organising": [
        {
            "example": (
                "IT-avdelningen och socialförvaltningen träffas i stort sett bara när något har "
                "gått sönder och ett ärende har eskalerats."
            ),
            "deficiency": (
                "Det finns inget tvärfunktionellt forum för utveckling, bara för incidenter, "
                "så vi möts alltid i ett problemläge."
            ),
            "solutions": (
                "Starta ett månatligt utvecklingsforum mellan IT, socialförvaltningen och "
                "bostadsbolaget, med fokus på dialog snarare än beslut."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "När vi införde det nya ärendesystemet förändrades handläggarnas arbete i grunden, "
                "men ingen såg över rollbeskrivningar eller kompetensbehov."
            ),
            "deficiency": (
                "HR var inte involverat i rollförändringen. Medarbetarna fick lära sig ett nytt "
                "system men inte ett nytt arbetssätt."
            ),
            "solutions": (
                "Låt HR vara med från start i digitala projekt och ta fram en enkel checklista "
                "för roll- och kompetensfrågor."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Digitaliseringsprojekten ägs av IT-avdelningen, medan verksamheten ser sig "
                "som beställare som väntar på en leverans."
            ),
            "deficiency": (
                "Ansvaret för förändringen hamnar hos den som äger tekniken, inte hos den som "
                "äger verksamheten och nyttan."
            ),
            "solutions": (
                "Flytta ägarskapet av digitala initiativ till verksamheten, med IT som partner "
                "i ett gemensamt team."
            ),
            "areas": ["development_forums", "definition_goals"],
        },
        {
            "example": (
                "Energibolaget och bostadsbolaget är inte med i kommunens digitaliseringsråd, "
                "trots att vi delar kunder och ofta samma data."
            ),
            "deficiency": (
                "Kommunkoncernen organiseras som separata öar, och bolagen behandlas som "
                "externa parter i frågor som rör hela koncernen."
            ),
            "solutions": (
                "Bjud in bolagen till förvaltningarnas utvecklingsforum och gör koncernen, inte "
                "förvaltningen, till utgångspunkt."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "Som enhetschef i äldreomsorgen ska jag leda digitalisering vid sidan av allt "
                "annat, utan avsatt tid eller stöd."
            ),
            "deficiency": (
                "Digitalisering organiseras som ett tillägg till chefsuppdraget, inte som en "
                "del av det, och blir därför det som prioriteras bort."
            ),
            "solutions": (
                "Skriv in verksamhetsutveckling och digitalisering i chefsuppdraget och ge HR i "
                "uppdrag att stötta cheferna i det."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Vår förvaltningsmodell beskriver hur system ska förvaltas, men inte hur "
                "processerna runt dem ska utvecklas."
            ),
            "deficiency": (
                "Organiseringen kring system är tydlig, men ingen äger helheten från "
                "medborgarens behov till systemstödet."
            ),
            "solutions": (
                "Utvidga förvaltningsobjekten så att de omfattar process och verksamhetsnytta, "
                "och bemanna dem gemensamt med verksamheten."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "Mycket av det som fungerar digitalt hos oss bärs av två eldsjälar. När den ena "
                "var föräldraledig stannade utvecklingen."
            ),
            "deficiency": (
                "Förmågan sitter i personer, inte i organisationen, vilket gör oss sårbara."
            ),
            "solutions": (
                "Dokumentera arbetssätten, sprid dem i ett nätverk och låt HR se över hur "
                "sådana roller kan bemannas mer robust."
            ),
            "areas": ["hr_role", "development_forums"],
        },
        {
            "example": (
                "Kultur och fritid, skolan och bostadsbolaget har tre olika bokningssystem för "
                "lokaler, som medborgarna måste lära sig var för sig."
            ),
            "deficiency": (
                "Varje förvaltning löser samma behov på egen hand eftersom ingen har överblick "
                "över koncernens gemensamma behov."
            ),
            "solutions": (
                "Ta upp lokalbokning som ett gemensamt case i ett tvärfunktionellt forum innan "
                "nästa avtal förnyas."
            ),
            "areas": ["development_forums", "definition_goals"],
        },
        {
            "example": (
                "Vid rekrytering av chefer letar vi fortfarande efter samma egenskaper som för "
                "tio år sedan: stabilitet, ekonomisk kontroll och sakkunskap."
            ),
            "deficiency": (
                "Kravprofilerna speglar inte förmågan att leda förändring och digital "
                "transformation."
            ),
            "solutions": (
                "Låt HR se över konfigurationen av personliga egenskaper i chefsrekrytering "
                "tillsammans med ledningsgruppen."
            ),
            "areas": ["hr_role"],
        },
    ],
    "strategy": [
        {
            "example": (
                "Vi har en digitaliseringsstrategi som antogs för några år sedan, men ingen i "
                "min ledningsgrupp har öppnat den när vi gjort verksamhetsplanen."
            ),
            "deficiency": (
                "Strategin är ett dokument, inte ett verktyg. Den påverkar inte prioriteringar "
                "eller budget."
            ),
            "solutions": (
                "Gör om strategin till några få vägledande principer som används i "
                "verksamhetsplaneringen och följs upp i bokslutet."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "Alla nya digitala initiativ läggs till i planen, men inget tas någonsin bort."
            ),
            "deficiency": (
                "Strategin säger inget om vad vi ska sluta göra, så resurserna sprids tunt över "
                "alltför många initiativ."
            ),
            "solutions": (
                "Inför en gemensam portföljgenomgång två gånger per år där vi medvetet väljer "
                "bort initiativ."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "Nästan hela vår IT-budget går till drift och förvaltning av befintliga system. "
                "Det finns nästan inget utrymme för att pröva nytt."
            ),
            "deficiency": (
                "Det digitala arvet styr våra beslut, och balansen mellan effektivitet och "
                "innovation är helt förskjuten."
            ),
            "solutions": (
                "Avsätt en liten andel av budgeten för försök och gör en plan för att avveckla "
                "de äldsta systemen."
            ),
            "areas": ["definition_goals", "political_anchoring"],
        },
        {
            "example": (
                "Kommunfullmäktiges mål i budgeten nämner inte digitalisering alls, samtidigt "
                "som vi förväntas effektivisera genom digitalisering."
            ),
            "deficiency": (
                "Kopplingen mellan politiska mål och digitaliseringsarbetet saknas, så "
                "prioriteringen görs av tjänstepersoner utan politiskt mandat."
            ),
            "solutions": (
                "Ta fram ett underlag till budgetberedningen som visar vilka vägval "
                "digitaliseringen innebär för målen."
            ),
            "areas": ["political_anchoring"],
        },
        {
            "example": (
                "Energibolaget har en egen strategi för smarta mätare och data, som inte "
                "nämner kommunens klimatmål eller stadsbyggnadens behov."
            ),
            "deficiency": (
                "Koncernens strategier tas fram parallellt och möts aldrig, trots att de "
                "bygger på samma data och samma invånare."
            ),
            "solutions": (
                "Låt strategierna granskas gemensamt i ett forum där bolag och förvaltningar "
                "letar efter överlapp och gemensam nytta."
            ),
            "areas": ["development_forums", "definition_goals"],
        },
        {
            "example": (
                "Vår kompetensförsörjningsplan handlar om att rekrytera socionomer och lärare, "
                "men säger ingenting om digital kompetens."
            ),
            "deficiency": (
                "Kompetensförsörjningen hänger inte med i den förändring digitaliseringen "
                "innebär för yrkesrollerna."
            ),
            "solutions": (
                "Ge HR i uppdrag att bli strategisk dialogpartner och lägga in digital kompetens "
                "och digitaliseringskompetens i planen."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Stadsbyggnadsförvaltningen väntar på nationella initiativ för en digital "
                "samhällsbyggnadsprocess innan vi själva gör något."
            ),
            "deficiency": (
                "Strategin är reaktiv. Vi avvaktar andra i stället för att pröva i liten skala "
                "och lära oss själva."
            ),
            "solutions": (
                "Starta ett avgränsat försök med digitala detaljplaner tillsammans med "
                "IT-avdelningen och utvärdera efter ett halvår."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "När vi pratade om öppna data kom det fram att vi inte vet vilken data vi har "
                "eller vem som äger den."
            ),
            "deficiency": (
                "Det finns ingen strategi för data som en gemensam tillgång i koncernen, bara "
                "för enskilda system."
            ),
            "solutions": (
                "Gör en enkel inventering av kommunens viktigaste datamängder och utse "
                "ansvariga för dem."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
        {
            "example": (
                "Strategiarbetet görs av en liten grupp på kommunledningskontoret och "
                "presenteras för förvaltningarna när det är klart."
            ),
            "deficiency": (
                "Rekommendationer lyfts in för att sedan förankras, vilket gör att de sällan "
                "blir verklighet i verksamheten."
            ),
            "solutions": (
                "Låt chefer och experter från förvaltningarna vara med och ta fram strategin, "
                "så att förankringen sker under arbetet."
            ),
            "areas": ["development_forums", "political_anchoring"],
        },
    ],
    "summary": [
        {
            "example": (
                "Under de här fem veckorna har jag lärt mig mer om hur andra förvaltningar "
                "arbetar än under mina åtta år i kommunen."
            ),
            "deficiency": (
                "Utan kursen har vi inget naturligt sammanhang för samtal över förvaltnings- "
                "och bolagsgränserna."
            ),
            "solutions": (
                "Låt kursens träffar leva vidare som ett tvärfunktionellt utvecklingsforum, med "
                "samma dialogformat."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "När vi gick igenom våra exempel igen såg vi att många hinder inte kom från "
                "reglerna utan från hur vi har valt att tolka dem."
            ),
            "deficiency": (
                "Vi har saknat en vana att ifrågasätta etablerade tolkningar av styrningen."
            ),
            "solutions": (
                "Gör det till en stående punkt i forumet att pröva tolkningar som stoppar "
                "utveckling, med juridiskt stöd vid behov."
            ),
            "areas": ["development_forums", "definition_goals"],
        },
        {
            "example": (
                "Vi har pratat förbi varandra i flera år eftersom vi menar olika saker med "
                "digitalisering."
            ),
            "deficiency": (
                "Bristen på en gemensam definition är den röda tråden i nästan alla veckornas "
                "reflektioner."
            ),
            "solutions": (
                "Anta en gemensam definition i koncernledningen och använd den för att förfina "
                "digitaliseringsplanen."
            ),
            "areas": ["definition_goals"],
        },
        {
            "example": (
                "Politikerna i min nämnd har aldrig fått den genomgång om digitalisering som vi "
                "har fått under kursen."
            ),
            "deficiency": (
                "Politiken saknar underlag för att engagera sig i digitaliseringens vägval och "
                "prioriteringar."
            ),
            "solutions": (
                "Erbjud en kortare version av kursen för förtroendevalda, med samma fokus på "
                "egna exempel."
            ),
            "areas": ["political_anchoring"],
        },
        {
            "example": (
                "HR kom upp i nästan varje vecka: rekrytering, nya roller, kompetens och "
                "förändringsledning."
            ),
            "deficiency": (
                "HR:s uppdrag är formulerat för en organisation som inte längre finns, och HR "
                "har inte varit med i digitaliseringsarbetet."
            ),
            "solutions": (
                "Formulera om HR:s uppdrag så att HR stöttar verksamhetsutveckling och är "
                "strategisk dialogpartner i kompetensförsörjningen."
            ),
            "areas": ["hr_role"],
        },
        {
            "example": (
                "Jag är orolig att engagemanget från kursen försvinner när vardagen tar över "
                "efter sista träffen."
            ),
            "deficiency": (
                "Det saknas en struktur som tar hand om de initiativ och kontakter som kursen "
                "har skapat."
            ),
            "solutions": (
                "Utse ansvariga för de fyra utvecklingsområdena och följ upp dem i forumet varje "
                "kvartal."
            ),
            "areas": ["development_forums", "definition_goals"],
        },
        {
            "example": (
                "Att se bolagens exempel bredvid förvaltningarnas gjorde det tydligt att vi har "
                "samma problem men olika lösningar."
            ),
            "deficiency": (
                "Lärande mellan bolag och förvaltningar har inte skett systematiskt tidigare."
            ),
            "solutions": (
                "Ta med bolagen som självklara deltagare i forum, utbildningar och "
                "strategiarbete framöver."
            ),
            "areas": ["development_forums"],
        },
        {
            "example": (
                "Mognadsmätningen före kursen kändes abstrakt, men efter fem veckor kunde vi "
                "känna igen våra egna brister i kategorierna."
            ),
            "deficiency": (
                "Vi har tidigare mätt utan att använda resultatet för att välja vad vi ska "
                "utveckla."
            ),
            "solutions": (
                "Använd mognadsmätningen som underlag i forumet och upprepa den om ett år för "
                "att se om förmågorna har vuxit."
            ),
            "areas": ["definition_goals", "development_forums"],
        },
    ],
}

# ---------------------------------------------------------------------------------------------
# Decisions (commitments to act, derived from reflections)
# ---------------------------------------------------------------------------------------------

DECISIONS: list[Decision] = [
    {
        "statement": (
            "Vi väljer en annan tolkning av regeln om delad dataplattform och begär ett "
            "juridiskt förtydligande."
        ),
        "rationale": (
            "Vid en andra läsning förbjuder dataskyddsreglerna inte en gemensam plattform, och "
            "den gamla tolkningen har stoppat samarbete kring data i flera år."
        ),
        "areas": ["definition_goals", "development_forums"],
        "units": ["it", "social_services", "housing_company"],
    },
    {
        "statement": (
            "Vi startar ett månatligt tvärfunktionellt utvecklingsforum mellan IT, "
            "socialförvaltningen och bostadsbolaget."
        ),
        "rationale": (
            "Vi möts i dag bara vid incidenter. Ett forum för dialog, inte beslut, gör att "
            "utvecklingsfrågor kan lösas direkt."
        ),
        "areas": ["development_forums"],
        "units": ["it", "social_services", "housing_company"],
    },
    {
        "statement": (
            "Vi tar fram en gemensam ordlista för digitalisering som används av alla "
            "förvaltningar och bolag."
        ),
        "rationale": (
            "Samma ord betyder olika saker i olika delar av koncernen, vilket gör att samtal "
            "om prioriteringar går förbi varandra."
        ),
        "areas": ["definition_goals"],
        "units": ["it", "education", "culture_leisure"],
    },
    {
        "statement": "HR ska delta från start i alla digitala projekt som påverkar roller.",
        "rationale": (
            "När HR kommer in sent blir rollförändringar något som görs mot medarbetarna, och "
            "kompetensbehoven upptäcks för sent."
        ),
        "areas": ["hr_role"],
        "units": ["hr", "social_services"],
    },
    {
        "statement": (
            "Vi bjuder in nämndens presidium till ett seminarium om digitaliseringens vägval "
            "innan nästa budgetberedning."
        ),
        "rationale": (
            "Digitalisering är inte värdeneutral, och politiken behöver förstå vägvalen för att "
            "kunna prioritera på en övergripande nivå."
        ),
        "areas": ["political_anchoring"],
        "units": ["social_services", "education"],
    },
    {
        "statement": (
            "Vi genomför marknadsdialog inför nästa upphandling av verksamhetssystem, enligt en "
            "gemensam vägledning."
        ),
        "rationale": (
            "Vi har tolkat upphandlingsreglerna för snävt. Dialog med leverantörer är tillåten "
            "och ger bättre kravställning."
        ),
        "areas": ["definition_goals"],
        "units": ["it", "environment"],
    },
    {
        "statement": (
            "Varje post i digitaliseringsplanen ska kopplas till ett verksamhetsmål, annars "
            "ifrågasätts den."
        ),
        "rationale": (
            "Planen är i dag en lista med system. Kopplingen till mål gör det möjligt att avgöra "
            "om prioriteringen är ändamålsenlig."
        ),
        "areas": ["definition_goals"],
        "units": ["it", "city_planning"],
    },
    {
        "statement": (
            "Informationssäkerhet och dataskydd tas in redan i förstudien i stället för i "
            "slutet av projekten."
        ),
        "rationale": (
            "Klassningen i slutet har blivit ett stopp i sista stund. Stöd från början ger "
            "färre förseningar och bättre lösningar."
        ),
        "areas": ["development_forums"],
        "units": ["it", "environment", "city_planning"],
    },
    {
        "statement": (
            "HR och ledningsgruppen ser över kravprofilen för chefsrekrytering med fokus på "
            "förändringsledning."
        ),
        "rationale": (
            "Kravprofilerna speglar inte förmågan att leda digital transformation, som nu är en "
            "central del av chefsuppdraget."
        ),
        "areas": ["hr_role"],
        "units": ["hr", "education"],
    },
    {
        "statement": (
            "Bolagen bjuds in som fasta deltagare i kommunens digitaliseringsråd och "
            "utvecklingsforum."
        ),
        "rationale": (
            "Bolag och förvaltningar delar invånare och data men har behandlats som separata "
            "öar i koncernen."
        ),
        "areas": ["development_forums"],
        "units": ["housing_company", "energy_company", "it"],
    },
    {
        "statement": (
            "Vi avsätter en liten andel av IT-budgeten för försök och tar fram en plan för att "
            "avveckla de äldsta systemen."
        ),
        "rationale": (
            "Nästan hela budgeten går till drift av befintliga system, så det digitala arvet "
            "styr och innovation får inget utrymme."
        ),
        "areas": ["definition_goals", "political_anchoring"],
        "units": ["it"],
    },
    {
        "statement": (
            "Arkivarien och en jurist prövar tolkningen av arkivreglerna på nytt så att beslut "
            "kan hanteras helt digitalt."
        ),
        "rationale": (
            "Kravet på pappersutskrift bygger på äldre praxis snarare än på regeln och låser "
            "fast oss i dubbla flöden."
        ),
        "areas": ["definition_goals"],
        "units": ["culture_leisure", "it"],
    },
    {
        "statement": (
            "Lokalbokning tas upp som ett gemensamt case för kultur och fritid, skolan och "
            "bostadsbolaget."
        ),
        "rationale": (
            "Tre olika bokningssystem för samma behov är dyrt för oss och krångligt för invånarna."
        ),
        "areas": ["development_forums", "definition_goals"],
        "units": ["culture_leisure", "education", "housing_company"],
    },
    {
        "statement": "Vi erbjuder en kortare version av kursen för förtroendevalda under våren.",
        "rationale": (
            "Politiken behöver samma grund som vi har fått för att kunna engagera sig i "
            "digitaliseringens vägval."
        ),
        "areas": ["political_anchoring"],
        "units": ["it", "hr"],
    },
    {
        "statement": (
            "Miljöförvaltningen och IT kartlägger flödet från tillsyn till beslut för att ta "
            "bort dubbelregistrering."
        ),
        "rationale": (
            "Inspektörerna skriver om protokoll för hand trots surfplattor, så verktygen har "
            "inte gett någon frigjord tid."
        ),
        "areas": ["definition_goals", "development_forums"],
        "units": ["environment", "it"],
    },
]

# ---------------------------------------------------------------------------------------------
# Experiments (action-research cycles: plan -> act -> observe -> reflect)
# ---------------------------------------------------------------------------------------------

EXPERIMENTS: list[Experiment] = [
    {
        "aim": (
            "Skapa ett stående sammanhang för utvecklingsfrågor mellan IT, socialförvaltningen "
            "och bostadsbolaget."
        ),
        "change": (
            "Ett månatligt tvärfunktionellt forum på 90 minuter där deltagarna tar med aktuella "
            "utvecklingsfrågor. Inga beslut fattas, bara dialog."
        ),
        "prediction": (
            "Minst två konkreta frågor per träff löses direkt eller får en tydlig nästa åtgärd."
        ),
        "measure": "Antal frågor som lyfts och som löses eller får en ägare, per träff.",
        "observations": [
            "Första träffen lyfte fem frågor, varav tre löstes redan under mötet.",
            (
                "Bostadsbolaget och socialförvaltningen upptäckte att de bygger liknande "
                "tjänster för samma hyresgäster."
            ),
            "Deltagarna bad om att få bjuda in kollegor från fler förvaltningar.",
        ],
        "result": "I genomsnitt löstes tre frågor per träff, vilket överträffade förutsägelsen.",
        "learning": (
            "Dialog utan beslutskrav sänker tröskeln för att lyfta halvfärdiga idéer. Forumet "
            "bör breddas försiktigt så att samtalet inte blir för stort."
        ),
        "outcome": "adopt",
        "areas": ["development_forums"],
        "units": ["it", "social_services", "housing_company"],
    },
    {
        "aim": "Skapa ett gemensamt språk om digitalisering i kommunkoncernen.",
        "change": (
            "En gemensam ordlista med tjugo begrepp tas fram i en arbetsgrupp och används i "
            "alla nya tjänsteskrivelser om digitalisering."
        ),
        "prediction": (
            "Färre missförstånd i beredningen och kortare tid från förslag till beslut."
        ),
        "measure": (
            "Antal återremisser och frågor om begrepp i beredningen, jämfört med föregående halvår."
        ),
        "observations": [
            "Arbetsgruppen fastnade länge i hur digitalisering skiljer sig från digitisering.",
            "Ordlistan användes i sex av åtta nya tjänsteskrivelser.",
        ],
        "result": (
            "Frågorna om begrepp minskade tydligt, men tiden till beslut var i stort sett "
            "oförändrad."
        ),
        "learning": (
            "Ordlistan ger ett gemensamt språk men behöver kompletteras med en kort definition "
            "som kan förankras politiskt."
        ),
        "outcome": "adopt",
        "areas": ["definition_goals"],
        "units": ["it", "education", "culture_leisure"],
    },
    {
        "aim": "Ta hand om roll- och kompetensfrågor tidigt i digitala projekt.",
        "change": (
            "En HR-partner deltar från förstudien i två pågående projekt och använder en "
            "checklista för roll- och kompetensfrågor."
        ),
        "prediction": (
            "Färre oväntade rollfrågor vid driftstart och bättre mottagande hos medarbetarna."
        ),
        "measure": (
            "Antal rollfrågor som dyker upp efter driftstart, och en kort enkät till berörda "
            "medarbetare."
        ),
        "observations": [
            "HR identifierade tidigt att två befattningar behövde nya rollbeskrivningar.",
            "Den fackliga samverkan kunde börja flera månader tidigare än vanligt.",
            "Projektledarna upplevde först HR:s medverkan som ett extra moment.",
        ],
        "result": (
            "Inga oväntade rollfrågor vid driftstart, och enkäten visade ett bättre "
            "mottagande än vid förra systemskiftet."
        ),
        "learning": (
            "HR:s medverkan från start lönar sig, men checklistan behöver göras kortare för "
            "att projektledarna ska använda den."
        ),
        "outcome": "adopt",
        "areas": ["hr_role"],
        "units": ["hr", "social_services"],
    },
    {
        "aim": (
            "Pröva om en gemensam dataplattform kan användas för att följa upp "
            "bostadssociala insatser."
        ),
        "change": (
            "Efter juridiskt förtydligande delar socialförvaltningen och bostadsbolaget "
            "avidentifierade data om avhysningsärenden på en gemensam plattform."
        ),
        "prediction": (
            "Tidigare signaler om hyresskulder leder till fler förebyggande kontakter och "
            "färre avhysningar."
        ),
        "measure": "Antal förebyggande kontakter och antal avhysningar per kvartal.",
        "observations": [
            "Det juridiska förtydligandet bekräftade att delningen var möjlig med rätt skydd.",
            "Datakvaliteten från bolagets system var sämre än väntat.",
        ],
        "result": (
            "Antalet förebyggande kontakter ökade, men effekten på avhysningar kunde inte "
            "bedömas under den korta perioden."
        ),
        "learning": (
            "Den nya tolkningen håller, men datakvaliteten måste förbättras innan försöket "
            "skalas upp. Nästa cykel fokuserar på datakvalitet."
        ),
        "outcome": "adapt",
        "areas": ["definition_goals", "development_forums"],
        "units": ["social_services", "housing_company", "it"],
    },
    {
        "aim": "Förankra digitaliseringens vägval hos förtroendevalda.",
        "change": (
            "Ett två timmars seminarium för nämndens presidium om digitaliseringens "
            "värdefrågor, med exempel från förvaltningen."
        ),
        "prediction": (
            "Politikerna ställer fler frågor om nytta och vägval, och färre om antal e-tjänster."
        ),
        "measure": (
            "Vilken typ av frågor som ställs om digitalisering i de tre följande "
            "nämndsammanträdena."
        ),
        "observations": [
            "Presidiet efterfrågade liknande seminarier för hela nämnden.",
            (
                "Vid nästa sammanträde ställdes en fråga om hur ett nytt system påverkar "
                "medborgarnas kontakt med förvaltningen."
            ),
        ],
        "result": (
            "Frågorna förskjuts mot vägval och nytta, som förutsagt, men förändringen är "
            "ännu liten."
        ),
        "learning": (
            "Politisk förankring kräver upprepning. Seminariet bör bli en återkommande punkt "
            "inför budgetberedningen."
        ),
        "outcome": "adopt",
        "areas": ["political_anchoring"],
        "units": ["social_services", "education"],
    },
    {
        "aim": "Få bättre kravställning genom marknadsdialog före upphandling.",
        "change": (
            "Inför upphandling av ett system för miljötillsyn genomförs en öppen "
            "marknadsdialog enligt en ny vägledning."
        ),
        "prediction": (
            "Kravspecifikationen blir kortare och fokuserar mer på behov än på funktioner."
        ),
        "measure": (
            "Antal skall-krav och andel behovsformulerade krav jämfört med förra upphandlingen."
        ),
        "observations": [
            "Fyra leverantörer deltog och visade lösningar som ingen i projektet kände till.",
            "Upphandlingsfunktionen var först tveksam men ställde upp med stöd.",
        ],
        "result": "Antalet skall-krav halverades och fler krav formulerades som behov.",
        "learning": (
            "Den snäva tolkningen av upphandlingsreglerna var onödig. Vägledningen kan "
            "användas av alla förvaltningar."
        ),
        "outcome": "adopt",
        "areas": ["definition_goals"],
        "units": ["environment", "it"],
    },
    {
        "aim": "Minska förseningar orsakade av sen informationssäkerhetsklassning.",
        "change": (
            "Informationssäkerhetssamordnaren deltar i förstudien för tre nya projekt och "
            "klassningen görs innan lösningen väljs."
        ),
        "prediction": "Inga projekt stoppas i slutskedet av säkerhetsskäl.",
        "measure": "Antal projekt som försenas av säkerhetsfrågor i sent skede.",
        "observations": [
            "Samordnaren hann inte delta i alla förstudier på grund av hög arbetsbelastning.",
            "Det projekt där samordnaren deltog fullt ut slapp helt förseningar.",
        ],
        "result": (
            "Förutsägelsen höll för ett av tre projekt. De två andra fick ändå sena frågor."
        ),
        "learning": (
            "Arbetssättet fungerar, men en person räcker inte. Vi behöver utbilda fler "
            "ombud i förvaltningarna."
        ),
        "outcome": "adapt",
        "areas": ["development_forums"],
        "units": ["it", "city_planning", "environment"],
    },
    {
        "aim": "Ge chefer i äldreomsorgen avsatt tid för digitalisering.",
        "change": (
            "Fyra enhetschefer får två timmar i veckan schemalagda för verksamhetsutveckling, "
            "med stöd från en HR-partner."
        ),
        "prediction": "Cheferna driver minst ett förbättringsinitiativ var under perioden.",
        "measure": "Antal initiativ som startas och slutförs under tre månader.",
        "observations": [
            "Den schemalagda tiden åts ofta upp av akuta bemanningsfrågor.",
            "Två av cheferna genomförde små förbättringar i schemaläggningen.",
        ],
        "result": (
            "Två initiativ slutfördes, hälften av det förutsagda. Tiden skyddades inte i praktiken."
        ),
        "learning": (
            "Avsatt tid räcker inte om uppdraget inte ändras. Verksamhetsutveckling måste "
            "skrivas in i chefsuppdraget."
        ),
        "outcome": "adapt",
        "areas": ["hr_role"],
        "units": ["social_services", "hr"],
    },
    {
        "aim": "Samordna lokalbokning för invånarna.",
        "change": (
            "Kultur och fritid, skolan och bostadsbolaget testar att publicera sina lediga "
            "lokaler i en gemensam bokningsvy."
        ),
        "prediction": "Fler bokningar av skolans lokaler kvällstid och färre samtal till växeln.",
        "measure": "Antal bokningar kvällstid och antal samtal om lokalbokning per månad.",
        "observations": [
            "Bokningarna av skollokaler kvällstid ökade redan första månaden.",
            "Bostadsbolagets lokaler kunde inte visas på grund av avtalsvillkor.",
            "Föreningarna uppskattade att bara behöva ett konto.",
        ],
        "result": (
            "Bokningarna ökade och samtalen minskade, som förutsagt, även om bolaget ännu "
            "inte är med."
        ),
        "learning": (
            "Ett gemensamt case i forumet gav snabb effekt. Avtalsfrågan behöver lösas innan "
            "nästa avtal förnyas."
        ),
        "outcome": "adopt",
        "areas": ["development_forums", "definition_goals"],
        "units": ["culture_leisure", "education", "housing_company"],
    },
    {
        "aim": "Ta bort dubbelregistrering i miljötillsynen.",
        "change": (
            "Inspektörerna fyller i protokollet direkt i ärendesystemet på surfplattan ute "
            "på tillsyn."
        ),
        "prediction": "Tiden för efterarbete efter en inspektion halveras.",
        "measure": "Minuter efterarbete per inspektion, enligt inspektörernas egen tidsloggning.",
        "observations": [
            "Efterarbetet minskade från cirka 40 till cirka 15 minuter per inspektion.",
            "Uppkopplingen var dålig på vissa landsbygdsadresser.",
        ],
        "result": "Efterarbetet mer än halverades, bättre än förutsagt.",
        "learning": (
            "Förändringen av flödet, inte surfplattan i sig, gav nyttan. Offlineläge behövs "
            "för landsbygden."
        ),
        "outcome": "adopt",
        "areas": ["definition_goals"],
        "units": ["environment", "it"],
    },
    {
        "aim": "Ersätta veckovisa digitaliseringsmöten i varje förvaltning med ett gemensamt.",
        "change": (
            "Förvaltningarnas egna digitaliseringsmöten ställs in under sex veckor och ersätts "
            "av ett gemensamt veckomöte för hela koncernen."
        ),
        "prediction": "Mindre dubbelarbete och bättre överblick över pågående initiativ.",
        "measure": "Antal deltagare per möte och antal initiativ som samordnas.",
        "observations": [
            "Deltagandet sjönk för varje vecka när frågorna blev för allmänna.",
            "Förvaltningsspecifika frågor fick inget utrymme och hanterades i korridoren.",
        ],
        "result": "Förutsägelsen höll inte. Deltagandet halverades och få initiativ samordnades.",
        "learning": (
            "Ett gemensamt forum ersätter inte förvaltningarnas egna samtal utan kompletterar "
            "dem. Det månatliga dialogforumet är en bättre form."
        ),
        "outcome": "abandon",
        "areas": ["development_forums"],
        "units": ["it", "city_planning", "culture_leisure", "environment"],
    },
    {
        "aim": "Pröva en kravprofil för chefsrekrytering med fokus på förändringsledning.",
        "change": (
            "I två chefsrekryteringar används en ny kravprofil och en intervjufråga om att "
            "leda digital förändring."
        ),
        "prediction": "Fler sökande med erfarenhet av förändringsledning går vidare till intervju.",
        "measure": "Andel kandidater i intervju med dokumenterad erfarenhet av förändringsledning.",
        "observations": [
            "Rekryterande chefer tyckte att den nya frågan gav bättre samtal.",
            "Urvalet till intervju såg i stort sett likadant ut som tidigare.",
        ],
        "result": "Andelen förändrades inte märkbart, men intervjuerna upplevdes som bättre.",
        "learning": (
            "Annonsen och urvalskriterierna måste också ändras, inte bara intervjun. HR tar "
            "fram en reviderad profil."
        ),
        "outcome": "adapt",
        "areas": ["hr_role"],
        "units": ["hr", "education"],
    },
    {
        "aim": "Använda en gemensam idétavla för digitala förslag från medarbetare.",
        "change": (
            "En digital idétavla öppnas för alla medarbetare i tre förvaltningar, där förslag "
            "kan röstas fram till forumet."
        ),
        "prediction": "Minst trettio förslag per månad och fem som tas vidare till forumet.",
        "measure": "Antal förslag, röster och förslag som tas vidare.",
        "observations": [
            "Det kom många förslag första veckan, sedan nästan inga.",
            "Ingen hade tid att återkoppla till förslagsställarna.",
        ],
        "result": (
            "Förutsägelsen höll bara första månaden. Utan återkoppling tappade tavlan förtroendet."
        ),
        "learning": (
            "Ett verktyg utan ansvar för återkoppling gör mer skada än nytta. Vi avbryter och "
            "låter i stället cheferna ta med förslag till forumet."
        ),
        "outcome": "abandon",
        "areas": ["development_forums"],
        "units": ["culture_leisure", "education", "social_services"],
    },
]

# ---------------------------------------------------------------------------------------------
# Capabilities (organisational capabilities resulting from adopted experiments)
# ---------------------------------------------------------------------------------------------

CAPABILITIES: list[Capability] = [
    {
        "name": "Tvärfunktionellt utvecklingsforum",
        "description": (
            "Ett månatligt forum där förvaltningar och bolag för dialog om utvecklingsfrågor "
            "utan krav på beslut."
        ),
        "refinement": (
            "Forumet breddas stegvis till fler förvaltningar och får en stående punkt för att "
            "pröva tolkningar av styrande regler."
        ),
        "application_note": (
            "Används för att samordna lokalbokning mellan kultur och fritid, skolan och "
            "bostadsbolaget."
        ),
        "areas": ["development_forums"],
    },
    {
        "name": "Gemensam definition av digitalisering",
        "description": (
            "En kort definition och en ordlista som balanserar effektivitet och innovation samt "
            "intern och extern nytta."
        ),
        "refinement": (
            "Definitionen kompletteras med exempel från varje förvaltning och förankras i "
            "koncernledningen."
        ),
        "application_note": (
            "Används för att koppla varje post i digitaliseringsplanen till ett verksamhetsmål."
        ),
        "areas": ["definition_goals"],
    },
    {
        "name": "HR som partner i digitala projekt",
        "description": (
            "En HR-partner deltar från förstudien i projekt som påverkar roller, med en kort "
            "checklista för roll- och kompetensfrågor."
        ),
        "refinement": (
            "Checklistan kortas och kompletteras med stöd för chefsuppdrag och kravprofiler."
        ),
        "application_note": (
            "Tillämpas i införandet av det nya schemaläggningssystemet i hemtjänsten."
        ),
        "areas": ["hr_role"],
    },
    {
        "name": "Prövning av tolkningar av styrande regler",
        "description": (
            "Ett arbetssätt där en tolkning som stoppar utveckling prövas på nytt av "
            "verksamhet, IT och jurist tillsammans."
        ),
        "refinement": (
            "Prövningarna dokumenteras i ett gemensamt register så att alla förvaltningar kan "
            "luta sig mot samma bedömning."
        ),
        "application_note": (
            "Tillämpad på delad dataplattform, marknadsdialog före upphandling och digitala "
            "beslut i e-arkivet."
        ),
        "areas": ["definition_goals", "development_forums"],
    },
    {
        "name": "Politisk dialog om digitaliseringens vägval",
        "description": (
            "Återkommande seminarier där förtroendevalda och tjänstepersoner resonerar om "
            "digitaliseringens värdefrågor och prioriteringar."
        ),
        "refinement": (
            "Seminarierna läggs in i årshjulet inför budgetberedningen och öppnas för hela nämnden."
        ),
        "application_note": "Används inför beslut om nytt verksamhetssystem i socialnämnden.",
        "areas": ["political_anchoring"],
    },
    {
        "name": "Verksamhetsdriven processdigitalisering",
        "description": (
            "Förmågan att utgå från flödet och arbetssättet, inte verktyget, när en process "
            "digitaliseras."
        ),
        "refinement": (
            "Arbetssättet från miljötillsynen beskrivs som en enkel metod med exempel och "
            "offlinestöd."
        ),
        "application_note": (
            "Tillämpas i stadsbyggnadsförvaltningens försök med digitala bygglovsflöden."
        ),
        "areas": ["definition_goals"],
    },
]

# ---------------------------------------------------------------------------------------------
# Recommendations adopted at the final session
# ---------------------------------------------------------------------------------------------

RECOMMENDATIONS: list[Recommendation] = [
    {
        "text": (
            "Anta en kommunkoncernövergripande definition av digitalisering som balanserar "
            "effektivitet och innovation, och använd den för att förfina digitaliseringsplanen."
        ),
        "areas": ["definition_goals"],
    },
    {
        "text": (
            "Säkerställ politisk förankring genom att utbilda förtroendevalda i vad "
            "digitalisering är och engagera dem i vägval och prioriteringar."
        ),
        "areas": ["political_anchoring"],
    },
    {
        "text": (
            "Inrätta tvärfunktionella utvecklingsforum där dialogen står i centrum, med både "
            "förvaltningar och bolag, även efter kursen."
        ),
        "areas": ["development_forums"],
    },
    {
        "text": (
            "Formulera om HR:s uppdrag så att HR stöttar verksamhetsutveckling och är strategisk "
            "dialogpartner i kompetensförsörjning och chefsrekrytering."
        ),
        "areas": ["hr_role"],
    },
    {
        "text": (
            "Pröva regelbundet tolkningar av styrande regler som hindrar ändamålsenlig "
            "digitalisering, och dokumentera de tolkningar som väljs."
        ),
        "areas": ["definition_goals", "development_forums"],
    },
]

# ---------------------------------------------------------------------------------------------
# Maturity assessment (DiMiOS-style, synthetic)
# ---------------------------------------------------------------------------------------------

MATURITY_INSTRUMENT: str = "DiMiOS (syntetiska poäng)"

# The real DiMiOS items and categories are not public. The categories below are INVENTED
# placeholders for the demo; the two dimension names follow the public description.
MATURITY_DIMENSIONS: list[MaturityDimension] = [
    {
        "key": "digital_capability",
        "name_sv": "Digital förmåga",
        "name_en": "Digital capability",
        "categories": [
            "Ledning och styrning",
            "Kompetens och kultur",
            "Samverkan över gränser",
            "Data som resurs",
            "Nyttorealisering",
        ],
    },
    {
        "key": "digital_legacy",
        "name_sv": "Digitalt arv",
        "name_en": "Digital legacy",
        "categories": [
            "Äldre system och beroenden",
            "Låsande avtal",
            "Inarbetade tolkningar och rutiner",
            "Teknisk skuld",
        ],
    },
]

# On the default instrument's scale, 0–100 for both dimensions (domain.values.
# DEFAULT_INSTRUMENT), where a higher score means MORE of the dimension:
# - digital_capability: higher is better (more capability);
# - digital_legacy: higher means a heavier legacy burden, so LOWER is better.
# After the course capability is a bit higher and legacy slightly lower (less burden).
MATURITY_BEFORE: dict[str, float] = {
    "digital_capability": 35.0,
    "digital_legacy": 68.0,
}

MATURITY_AFTER: dict[str, float] = {
    "digital_capability": 48.0,
    "digital_legacy": 62.0,
}
# how far a unit's score may lie from the organisation's (either way)
MATURITY_UNIT_SPREAD: float = 10.0
