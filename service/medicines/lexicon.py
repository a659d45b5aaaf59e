"""Word lists behind product-name parsing: ingredients, their classes, salts and brands.

Kept apart from the grammar in ``names.py`` so that a pharmacist can review the vocabulary
without reading parser code. Brands without a comment appear in the OpenCodelists dm+d
exports (sources ``opencodelists-opioids-covid-research``, ``opencodelists-waiting-list``,
``opencodelists-dfms``), where each AMP links to its VMP through the shared BNF presentation
code; that link, not this table, gives the strengths in ``rules/medicines``. Brands marked
"US" come from the RxNorm test data; those marked "not in the lists" are common brand names
added so that free text naming them is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.medicines.model import IngredientClass, Use

_OPIOIDS = (
    "morphine codeine dihydrocodeine tramadol tapentadol hydromorphone fentanyl buprenorphine "
    "diamorphine methadone alfentanil pethidine pentazocine meptazinol papaveretum dipipanone "
    "dextromoramide dextropropoxyphene nalbuphine hydrocodone oxymorphone levorphanol "
    "remifentanil opium oxycodone sufentanil ethylmorphine butorphanol levomethadyl"
)
_GABAPENTINOIDS = "gabapentin pregabalin"
_BENZODIAZEPINES = (
    "diazepam lorazepam temazepam nitrazepam chlordiazepoxide clonazepam oxazepam alprazolam "
    "flurazepam loprazolam lormetazepam clobazam midazolam bromazepam prazepam flunitrazepam "
    "clorazepate ketazolam medazepam triazolam estazolam"
)
_Z_DRUGS = "zopiclone zolpidem zaleplon eszopiclone"
# Ingredients that occur in the code lists' products (or in RxNorm test products) alongside
# the classes above. Naming them lets the parser accept "Paracetamol 500mg tablets" as class
# other, while an unknown word is rejected rather than guessed to be harmless.
_OTHER = (
    "paracetamol aspirin ibuprofen dexketoprofen naloxone naltrexone cyclizine promethazine "
    "hyoscine kaolin caffeine terpin cocaine ipecacuanha buclizine doxylamine brompheniramine "
    "pseudoephedrine attapulgite belladonna guaiacol chloroform peppermint ketamine bupivacaine "
    "levobupivacaine ropivacaine lidocaine clidinium meprobamate clomethiazole squill "
    "lofexidine diphenhydramine"
)

INGREDIENT_CLASS: dict[str, IngredientClass] = {
    **dict.fromkeys(_OPIOIDS.split(), IngredientClass.OPIOID),
    **dict.fromkeys(_GABAPENTINOIDS.split(), IngredientClass.GABAPENTINOID),
    **dict.fromkeys(_BENZODIAZEPINES.split(), IngredientClass.BENZODIAZEPINE),
    **dict.fromkeys(_Z_DRUGS.split(), IngredientClass.Z_DRUG),
    **dict.fromkeys(_OTHER.split(), IngredientClass.OTHER),
    "calcium carbonate": IngredientClass.OTHER,
    "sodium bicarbonate": IngredientClass.OTHER,
    "aluminium hydroxide": IngredientClass.OTHER,
}

# Other names for a canonical ingredient: US adopted names (RxNorm), older spellings, and
# preparations named after their source (opium tincture is dosed as morphine in dm+d's
# "Morphine (Opium tincture) 10mg/ml oral drops", but named opium on its own).
SYNONYMS: dict[str, str] = {
    "acetaminophen": "paracetamol",
    "apap": "paracetamol",
    "meperidine": "pethidine",
    "propoxyphene": "dextropropoxyphene",
    "remifentanyl": "remifentanil",  # spelling of dm+d ingredient 108376001
    "loverphanol": "levorphanol",  # misspelt in the cqframework research factor CodeSystem
    "heroin": "diamorphine",
    "diacetylmorphine": "diamorphine",
    "opium tincture": "opium",
    "tincture of opium": "opium",
    "camphorated opium": "opium",
    "light kaolin": "kaolin",
    "kaolin light": "kaolin",
    "squill oxymel": "squill",
}

# Salt and hydrate words dropped after an ingredient name. Strength stays as the name states
# it: dm+d gives the strength of the salt when the name names the salt ("Morphine sulfate
# 10mg/5ml"), and the OME factors apply per mg of the drug as prescribed, so no salt-to-base
# conversion is made here (ome-reference.md §4.1, "Salt versus base").
SALT_WORDS = frozenset(
    "sulfate sulphate hydrochloride hcl phosphate tartrate bitartrate citrate acetate lactate "
    "maleate mesilate mesylate napsilate napsylate edisilate hydrobromide pectinate anhydrous "
    "monohydrate dihydrate trihydrate base".split()
)

# Retailer and "Generic" prefixes: "Boots Aspirin and Codeine tablets" is aspirin + codeine;
# "Generic Solpadeine Plus tablets" is a dm+d VMP named after its reference brand.
NAME_PREFIXES = ("generic", "boots", "numark", "superdrug", "lloyds")


@dataclass(frozen=True, slots=True)
class Brand:
    """What a brand name tells us beyond its strengths.

    ``ingredients`` are canonical names in the order the brand's strengths are written
    ("Targinact 10mg/5mg": oxycodone then naloxone). ``default_form`` is used only when the
    text names no dose form ("MST 10mg").
    """

    ingredients: tuple[str, ...]
    modified_release: bool = False
    release_hours: int | None = None
    use: Use | None = None
    default_form: str = ""


def _b(
    ingredients: str,
    *,
    mr: bool = False,
    hours: int | None = None,
    use: Use | None = None,
    form: str = "",
) -> Brand:
    return Brand(tuple(ingredients.split(",")), mr, hours, use, form)


_PATCH = "transdermal patches"
_CODAMOL = "codeine,paracetamol"  # co-codamol brands write codeine/paracetamol
_DYDRAMOL = "dihydrocodeine,paracetamol"

# Lower-case brand → Brand. Matching takes the longest brand at the start of the name, so
# "solpadeine max" wins over "solpadeine". SR/XL/PR/"24hr" after a brand are read by the
# parser, so only brands that are modified-release in every presentation say so here.
BRANDS: dict[str, Brand] = {
    # morphine
    "oramorph": _b("morphine", form="oral solution"),
    "sevredol": _b("morphine", form="tablets"),
    "actimorph": _b("morphine", form="orodispersible tablets"),
    "dropizol": _b("morphine", form="oral drops"),
    "mst continus": _b("morphine", mr=True, hours=12, form="tablets"),
    "mst": _b("morphine", mr=True, hours=12, form="tablets"),  # short for MST Continus
    # MXL is a once-daily morphine capsule (ome-reference.md §6, "24-h MR products").
    "mxl": _b("morphine", mr=True, hours=24, form="capsules"),
    "zomorph": _b("morphine", mr=True, hours=12, form="capsules"),
    "morphgesic": _b("morphine", mr=True, form="tablets"),
    "filnarine": _b("morphine", mr=True, form="tablets"),
    "morcap": _b("morphine", mr=True, form="capsules"),
    "rhotard morphine": _b("morphine", mr=True, form="tablets"),
    "cyclimorph": _b("morphine,cyclizine", form="solution for injection ampoules"),
    "ms contin": _b("morphine", mr=True, hours=12, form="tablets"),  # US, not in the lists
    "kadian": _b("morphine", mr=True, form="capsules"),  # US
    # oxycodone
    "oxycontin": _b("oxycodone", mr=True, hours=12, form="tablets"),
    "longtec": _b("oxycodone", mr=True, hours=12, form="tablets"),
    # Onexila XL is once daily (ome-reference.md §6; OpenPrescribing special-cases it).
    "onexila": _b("oxycodone", mr=True, hours=24, form="tablets"),
    "abtard": _b("oxycodone", mr=True, form="tablets"),
    "candox": _b("oxycodone", mr=True, form="tablets"),
    "carexil": _b("oxycodone", mr=True, form="tablets"),
    "dolocodon": _b("oxycodone", mr=True, form="tablets"),
    "ixyldone": _b("oxycodone", mr=True, form="tablets"),
    "leveraxo": _b("oxycodone", mr=True, form="tablets"),
    "oxeltra": _b("oxycodone", mr=True, form="tablets"),
    "oxylan": _b("oxycodone", mr=True, form="tablets"),
    "oxypro": _b("oxycodone", mr=True, form="tablets"),
    "reltebon": _b("oxycodone", mr=True, form="tablets"),
    "renocontin": _b("oxycodone", mr=True, form="tablets"),
    "zomestine": _b("oxycodone", mr=True, form="tablets"),
    "oxynorm": _b("oxycodone", form="capsules"),
    "shortec": _b("oxycodone", form="capsules"),
    "lynlor": _b("oxycodone", form="capsules"),
    "oxyact": _b("oxycodone", form="tablets"),
    "proladone": _b("oxycodone", form="suppositories"),
    "targinact": _b("oxycodone,naloxone", mr=True, hours=12, form="tablets"),
    "myloxifin": _b("oxycodone,naloxone", mr=True, form="tablets"),
    "oxyargin": _b("oxycodone,naloxone", mr=True, form="tablets"),
    "percocet": _b("oxycodone,paracetamol", form="tablets"),  # US, not in the lists
    # hydromorphone, tapentadol, dihydrocodeine and other strong opioids
    "palladone": _b("hydromorphone", form="capsules"),
    "dilaudid": _b("hydromorphone", form="tablets"),  # US, not in the lists
    "palexia": _b("tapentadol", form="tablets"),
    "ationdo": _b("tapentadol", mr=True, form="tablets"),
    "tapimio": _b("tapentadol", mr=True, form="capsules"),
    "dhc continus": _b("dihydrocodeine", mr=True, hours=12, form="tablets"),
    "df 118": _b("dihydrocodeine", form="tablets"),
    "meptid": _b("meptazinol", form="tablets"),
    "fortral": _b("pentazocine", form="tablets"),
    "palfium": _b("dextromoramide", form="tablets"),
    "doloxene": _b("dextropropoxyphene", form="capsules"),
    "distalgesic": _b("dextropropoxyphene,paracetamol", form="tablets"),
    "diconal": _b("dipipanone,cyclizine", form="tablets"),
    "pamergan": _b("pethidine,promethazine", form="solution for injection ampoules"),
    "nubain": _b("nalbuphine", form="solution for injection ampoules"),
    "rapifen": _b("alfentanil", form="solution for injection ampoules"),
    "synastone": _b("methadone", form="solution for injection ampoules"),
    "physeptone": _b("methadone"),
    "vicodin": _b("hydrocodone,paracetamol", form="tablets"),  # US
    "norco": _b("hydrocodone,paracetamol", form="tablets"),  # US, not in the lists
    # fentanyl
    "durogesic": _b("fentanyl", form=_PATCH),
    "duragesic": _b("fentanyl", form=_PATCH),  # US, not in the lists
    "matrifen": _b("fentanyl", form=_PATCH),
    "fencino": _b("fentanyl", form=_PATCH),
    "fentalis": _b("fentanyl", form=_PATCH),
    "mezolar": _b("fentanyl", form=_PATCH),
    "mylafent": _b("fentanyl", form=_PATCH),
    "opiodur": _b("fentanyl", form=_PATCH),
    "osmach": _b("fentanyl", form=_PATCH),
    "osmanil": _b("fentanyl", form=_PATCH),
    "tilofyl": _b("fentanyl", form=_PATCH),
    "victanyl": _b("fentanyl", form=_PATCH),
    "yemex": _b("fentanyl", form=_PATCH),
    "abstral": _b("fentanyl", form="sublingual tablets"),
    "fenhuma": _b("fentanyl", form="sublingual tablets"),
    "iremia": _b("fentanyl", form="sublingual tablets"),
    "recivit": _b("fentanyl", form="sublingual tablets"),
    "effentora": _b("fentanyl", form="buccal tablets"),
    "breakyl": _b("fentanyl", form="buccal films"),
    "actiq": _b("fentanyl", form="lozenges"),
    "cynril": _b("fentanyl", form="lozenges"),
    "instanyl": _b("fentanyl", form="nasal spray"),
    "pecfent": _b("fentanyl", form="nasal spray"),
    # buprenorphine: patches for pain; sublingual tablets for dependence (BNF 4.10)
    "butrans": _b("buprenorphine", form=_PATCH),
    "transtec": _b("buprenorphine", form=_PATCH),
    "butec": _b("buprenorphine", form=_PATCH),
    "bunov": _b("buprenorphine", form=_PATCH),
    "bupeaze": _b("buprenorphine", form=_PATCH),
    "buplast": _b("buprenorphine", form=_PATCH),
    "bupramyl": _b("buprenorphine", form=_PATCH),
    "busiete": _b("buprenorphine", form=_PATCH),
    "carlosafine": _b("buprenorphine", form=_PATCH),
    "hapoctasin": _b("buprenorphine", form=_PATCH),
    "panitaz": _b("buprenorphine", form=_PATCH),
    "prenotrix": _b("buprenorphine", form=_PATCH),
    "rebrikel": _b("buprenorphine", form=_PATCH),
    "reletrans": _b("buprenorphine", form=_PATCH),
    "relevtec": _b("buprenorphine", form=_PATCH),
    "sevodyne": _b("buprenorphine", form=_PATCH),
    "turgeon": _b("buprenorphine", form=_PATCH),
    "temgesic": _b("buprenorphine", form="sublingual tablets"),
    "tephine": _b("buprenorphine", form="sublingual tablets"),
    # Substance-dependence brands (BNF 4.10; ome-reference.md §6 names Subutex and
    # Espranor). Not in the lists, which are of analgesics and exclude BNF 4.10.
    "subutex": _b("buprenorphine", use=Use.SUBSTANCE_DEPENDENCE, form="sublingual tablets"),
    "espranor": _b("buprenorphine", use=Use.SUBSTANCE_DEPENDENCE, form="oral lyophilisates"),
    "suboxone": _b(
        "buprenorphine,naloxone", use=Use.SUBSTANCE_DEPENDENCE, form="sublingual tablets"
    ),
    "buvidal": _b("buprenorphine", use=Use.SUBSTANCE_DEPENDENCE, form="solution for injection"),
    "methadose": _b("methadone", use=Use.SUBSTANCE_DEPENDENCE, form="oral solution"),
    # tramadol
    "zydol": _b("tramadol", form="capsules"),
    "zamadol": _b("tramadol", form="capsules"),
    "zytram": _b("tramadol", mr=True, form="tablets"),
    "dromadol": _b("tramadol", form="tablets"),
    "tradorec": _b("tramadol", mr=True, hours=24, form="tablets"),
    "tramake": _b("tramadol", form="capsules"),
    "tramquel": _b("tramadol", mr=True, form="capsules"),
    "tramulief": _b("tramadol", mr=True, form="tablets"),
    "maxitram": _b("tramadol", mr=True, form="capsules"),
    "invodol": _b("tramadol", mr=True, form="tablets"),
    "larapam": _b("tramadol", mr=True, form="tablets"),
    "mabron": _b("tramadol", mr=True, form="tablets"),
    "maneo": _b("tramadol", mr=True, form="tablets"),
    "marol": _b("tramadol", mr=True, form="tablets"),
    "oldaram": _b("tramadol", mr=True, form="tablets"),
    "aceon": _b("tramadol", mr=True, form="tablets"),
    "brimisol": _b("tramadol", mr=True, form="tablets"),
    "nobligan": _b("tramadol", form="tablets"),
    "tilodol": _b("tramadol", mr=True, form="tablets"),
    "zeridame": _b("tramadol", mr=True, form="tablets"),
    "tramacet": _b("tramadol,paracetamol", form="tablets"),
    "trapadex": _b("tramadol,paracetamol", form="tablets"),
    # US. RxNorm writes "Acetaminophen 325 MG / tramadol 37.5 MG … [Ultracet]" (read from
    # the ingredient names); a bare "Ultracet 37.5/325" is written tramadol first.
    "ultracet": _b("tramadol,paracetamol", form="tablets"),
    "skudexa": _b("tramadol,dexketoprofen", form="tablets"),
    # co-codamol (codeine/paracetamol) and co-dydramol (dihydrocodeine/paracetamol) brands
    "kapake": _b(_CODAMOL, form="tablets"),
    "solpadol": _b(_CODAMOL, form="caplets"),
    "tylex": _b(_CODAMOL, form="capsules"),
    "zapain": _b(_CODAMOL, form="tablets"),
    "codipar": _b(_CODAMOL, form="tablets"),
    "emcozin": _b(_CODAMOL, form="tablets"),
    "medocodene": _b(_CODAMOL, form="capsules"),
    "paracodol": _b(_CODAMOL, form="capsules"),
    "migraine relief": _b(_CODAMOL, form="capsules"),
    "panadol ultra": _b(_CODAMOL, form="tablets"),
    "solpadeine max": _b(_CODAMOL, form="tablets"),
    "zipamol plus": _b(_CODAMOL, form="effervescent tablets"),
    "migraleve yellow": _b(_CODAMOL, form="tablets"),
    "feminax period pain": _b(_CODAMOL, form="capsules"),
    "codasolve": _b("codeine,paracetamol,caffeine", form="effervescent tablets"),
    "solpadeine plus": _b("paracetamol,codeine,caffeine", form="tablets"),
    "ultramol": _b("paracetamol,codeine,caffeine", form="soluble tablets"),
    "veganin": _b("paracetamol,codeine,caffeine", form="tablets"),
    "syndol": _b("paracetamol,codeine,caffeine,doxylamine", form="tablets"),
    "migraleve pink": _b("paracetamol,codeine,buclizine", form="tablets"),
    "dypracet": _b(_DYDRAMOL, form="tablets"),
    "galake": _b(_DYDRAMOL, form="tablets"),
    "eroset": _b("paracetamol,dihydrocodeine", form="tablets"),  # written 500mg/10mg
    "remedeine": _b("paracetamol,dihydrocodeine", form="tablets"),
    "paramol": _b("paracetamol,dihydrocodeine", form="tablets"),
    "dental pain relief": _b("paracetamol,dihydrocodeine", form="tablets"),
    "codis": _b("aspirin,codeine", form="dispersible tablets"),
    "nurofen plus": _b("ibuprofen,codeine", form="tablets"),
    "cuprofen plus": _b("ibuprofen,codeine", form="tablets"),
    "solpaflex": _b("ibuprofen,codeine", form="tablets"),
    "solpadeine migraine": _b("ibuprofen,codeine", form="tablets"),
    "codafen continus": _b("ibuprofen,codeine", mr=True, hours=12, form="tablets"),
    # cough and diarrhoea preparations (BNF 3.9 and 1.4): opioid, but not for analgesia
    "galcodine": _b("codeine", use=Use.NON_ANALGESIC, form="linctus"),
    "bepro": _b("codeine", use=Use.NON_ANALGESIC, form="syrup"),
    "dimotane co": _b(
        "brompheniramine,pseudoephedrine,codeine", use=Use.NON_ANALGESIC, form="oral solution"
    ),
    "diocalm dual action": _b(
        "morphine,attapulgite", use=Use.NON_ANALGESIC, form="chewable tablets"
    ),
    "j collis browne's": _b(
        "morphine,kaolin,calcium carbonate", use=Use.NON_ANALGESIC, form="tablets"
    ),
    "opazimes": _b("morphine,kaolin,belladonna", use=Use.NON_ANALGESIC, form="chewable tablets"),
    "kaodene": _b("kaolin,codeine", use=Use.NON_ANALGESIC, form="oral suspension"),
    # gabapentinoids
    "lyrica": _b("pregabalin", form="capsules"),
    "alzain": _b("pregabalin", form="capsules"),
    "axalid": _b("pregabalin", form="capsules"),
    "lecaent": _b("pregabalin", form="capsules"),
    "rewisca": _b("pregabalin", form="capsules"),
    "neurontin": _b("gabapentin", form="capsules"),
    # benzodiazepines
    "valium": _b("diazepam", form="tablets"),
    "diazemuls": _b("diazepam", form="emulsion for injection ampoules"),
    "stesolid": _b("diazepam", form="rectal tubes"),
    "librium": _b("chlordiazepoxide", form="capsules"),
    "xanax": _b("alprazolam", form="tablets"),
    "ativan": _b("lorazepam", form="tablets"),
    "mogadon": _b("nitrazepam", form="tablets"),
    "somnite": _b("nitrazepam", form="oral suspension"),
    "dalmane": _b("flurazepam", form="capsules"),
    "rivotril": _b("clonazepam", form="tablets"),  # not in the lists
    "klonopin": _b("clonazepam", form="tablets"),
    "frisium": _b("clobazam", form="tablets"),  # not in the lists
    "hypnovel": _b("midazolam", form="solution for injection ampoules"),  # not in the lists
    "buccolam": _b("midazolam", form="oromucosal solution"),  # not in the lists
    "epistatus": _b("midazolam", form="oromucosal solution"),  # not in the lists
    # Z-drugs
    "stilnoct": _b("zolpidem", form="tablets"),
    "ambien": _b("zolpidem", form="tablets"),  # US, not in the lists
    "zimovane": _b("zopiclone", form="tablets"),
    "sonata": _b("zaleplon", form="capsules"),
}
