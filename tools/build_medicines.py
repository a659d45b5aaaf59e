"""Build the project's medicines tables from the reference code lists.

Reads ``../shared/reference`` (or ``--reference``) and writes, sorted and deterministic:

- ``rules/medicines/dmd_products.csv``: one row per (dm+d product, ingredient);
- ``rules/medicines/dmd_code_history.csv``: superseded VMP/VTM ids → current ids;
- ``rules/medicines/rxnorm_products.csv``: RxNorm concepts named in the US test data.

Every product name is read with ``service.medicines.names`` (the same parser the service
uses at run time); AMPs take their VMP's ingredients and strengths when their own (brand)
name does not state them. See ``rules/medicines/README.md`` for the columns.

Last run (code-list exports of 2023-24): 0 names failed to parse, so no product was lost
to the parser. Left out on purpose, and listed on stderr: 7 meprobamate codes from the
benzodiazepine list (a carbamate, in no class the rules use); 8 VTMs of the OpenPrescribing
fixture outside the four classes (ipratropium, clomethiazole…); 21 RxCUIs that the sources
give without a name (an Epic MedicationRequest lists 22 RxCUIs for one morphine capsule;
only 7052, morphine, is named elsewhere) and "Pepto-bismol Pill". Kept with empty strengths:
3 brand AMPs with no VMP in the lists (Syndol caplets, Solpadeine Plus capsules, Boots
Paracetamol and Codeine Extra capsules).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.medicines.model import Ingredient, IngredientClass, Route, Strength, Use  # noqa: E402
from service.medicines.names import ParsedName, parse_product_name  # noqa: E402
from service.medicines.vocabulary import Vocabulary  # noqa: E402
from service.rulefiles import Sources  # noqa: E402

DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
DEFAULT_OUTPUT = REPO / "rules" / "medicines"

PRODUCT_COLUMNS = (
    "code,concept_type,name,vmp_code,bnf_code,ingredient,ingredient_class,strength_value,"
    "strength_unit,per_value,per_unit,dose_form,route,unit_of_presentation,modified_release,"
    "release_hours,use,source"
).split(",")
HISTORY_COLUMNS = ["previous_code", "current_code", "source"]

# Code-list file prefix → id in rules/sources.yaml. Earlier entries win when the same code
# carries different names (Oxylan "modified-release" in 2024 vs "prolonged-release").
SOURCE_BY_PREFIX = {
    "opioids-covid-research__": "opencodelists-opioids-covid-research",
    "waiting-list__": "opencodelists-waiting-list",
    "dfms-covid19__": "opencodelists-dfms",
}
KEY_PRODUCTS = "uk-key-products-compiled"
FIXTURE = "dmd-openprescribing-fixture"
# The opioids-covid-research lists are split by route; the name decides buccal vs nasal.
ROUTE_BY_FILE = {
    "-oral-": Route.ORAL,
    "-transdermal-": Route.TRANSDERMAL,
    "-parenteral-": Route.PARENTERAL,
    "-rectal-": Route.RECTAL,
    "-buccal-nasal-and-oromucosal-": None,
    "-inhalation-": Route.INHALATION,
}
TARGET_CLASSES = {
    IngredientClass.OPIOID,
    IngredientClass.GABAPENTINOID,
    IngredientClass.BENZODIAZEPINE,
    IngredientClass.Z_DRUG,
    IngredientClass.NALOXONE,
}
CHAIN_RE = re.compile(r"^VMP (previous|subsequent) to (\d+)$")
BNF_RE = re.compile(r"^[0-9A-Z]{15}$")
# A dm+d AMP name that looks generic but is not a VMP name (dfms lists carry no type).
AMP_ONLY_WORDS = ("rectubes",)
OUT_OF_SCOPE = "not an opioid, gabapentinoid, benzodiazepine or Z-drug (omitted)"


@dataclass
class Report:
    """What the run could not do cleanly; printed to stderr."""

    lines: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, topic: str, line: str) -> None:
        self.lines[topic].append(line)

    def print(self) -> None:
        for topic in sorted(self.lines):
            entries = sorted(set(self.lines[topic]))
            print(f"{topic}: {len(entries)}", file=sys.stderr)
            for entry in entries:
                print(f"  {entry}", file=sys.stderr)


@dataclass
class CodeListRow:
    file: str
    source: str
    code: str
    term: str
    dmd_type: str
    bnf_code: str


@dataclass
class Concept:
    """One dm+d code and everything the lists say about it."""

    code: str
    names: list[tuple[int, str]] = field(default_factory=list)  # (source rank, name)
    types: set[str] = field(default_factory=set)
    bnf_codes: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    file_routes: set[Route | None] = field(default_factory=set)

    @property
    def name(self) -> str:
        return min(self.names)[1] if self.names else ""


@dataclass(frozen=True)
class Product:
    code: str
    concept_type: str
    name: str
    vmp_code: str
    bnf_code: str
    parsed: ParsedName
    source: str


# *** reading ***


def read_codelists(reference: Path) -> list[CodeListRow]:
    rows: list[CodeListRow] = []
    for path in sorted((reference / "dmd" / "codelists").glob("*.csv")):
        source = next(s for p, s in SOURCE_BY_PREFIX.items() if path.name.startswith(p))
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows.append(
                    CodeListRow(
                        path.name,
                        source,
                        row["code"].strip(),
                        " ".join(row["term"].split()),
                        row.get("dmd_type", "").strip(),
                        row.get("bnf_code", "").strip(),
                    )
                )
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def file_route(file: str) -> tuple[bool, Route | None]:
    for marker, route in ROUTE_BY_FILE.items():
        if file.startswith("opioids-covid-research__") and marker in file:
            return True, route
    return False, None


# *** code history ***


def history_edges(
    rows: list[CodeListRow], key_products: list[dict[str, str]], fixture: list[dict[str, str]]
) -> dict[tuple[str, str], set[str]]:
    """(previous, next) pairs with their sources, before following chains to the end."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        if (m := CHAIN_RE.match(row.term)) is not None:
            pair = (row.code, m.group(2)) if m.group(1) == "previous" else (m.group(2), row.code)
            edges[pair].add(row.source)
    for key in key_products:
        for older in filter(None, key["older_vmp_ids"].split(";")):
            edges[(older.strip(), key["vmp_id_current"].strip())].add(KEY_PRODUCTS)
    for item in fixture:
        if item["dmd_type"] == "VTM" and item["previous_id"]:
            edges[(item["previous_id"], item["id"])].add(FIXTURE)
    return edges


def current_codes(edges: Iterable[tuple[str, str]], report: Report) -> dict[str, str]:
    """previous → the last code of its chain (Tramadol 50mg capsules went through three).

    Two routes from one id (a chain row and the key-products table) must end at the same
    current id; if they do not, the first in code order is kept and reported.
    """
    successors: dict[str, set[str]] = defaultdict(set)
    for previous, following in edges:
        successors[previous].add(following)

    def ends(code: str, seen: frozenset[str]) -> set[str]:
        if code not in successors or code in seen:
            return {code}
        return set().union(*(ends(n, seen | {code}) for n in sorted(successors[code])))

    resolved: dict[str, str] = {}
    for previous in sorted(successors):
        final = ends(previous, frozenset()) - {previous}
        if len(final) > 1:
            report.add("previous codes with two current codes (lowest kept)", previous)
        if final:
            resolved[previous] = min(final, key=int)
    return resolved


# *** concepts and their types ***


def gather_concepts(rows: list[CodeListRow], report: Report) -> dict[str, Concept]:
    concepts: dict[str, Concept] = {}
    ranks = {source: rank for rank, source in enumerate(SOURCE_BY_PREFIX.values())}
    for row in rows:
        concept = concepts.setdefault(row.code, Concept(row.code))
        concept.sources.add(row.source)
        if row.dmd_type:
            concept.types.add(row.dmd_type)
        if BNF_RE.match(row.bnf_code):
            concept.bnf_codes.add(row.bnf_code)
        by_route, route = file_route(row.file)
        if by_route:
            concept.file_routes.add(route)
        if not CHAIN_RE.match(row.term):
            concept.names.append((ranks[row.source], row.term))
    for concept in concepts.values():
        if len(concept.types) > 1:
            report.add("codes typed both VMP and AMP (VMP kept)", concept.code)
    return concepts


def infer_types(
    rows: list[CodeListRow],
    concepts: dict[str, Concept],
    chain_codes: set[str],
    vocabulary: Vocabulary,
) -> dict[str, str]:
    """VMP or AMP for every code; the dfms lists give no type.

    Inference for untyped codes, in order: a code in an old/new id chain is a VMP; a short
    (international namespace) id is a VMP, as every AMP id is a UK-extension id; a
    "Generic …" name is a VMP; a brand name is an AMP; otherwise the first code listed
    with a given name in its file is the VMP, the later ones its AMPs (the lists put each
    VMP before its AMPs, as the typed lists and the chains confirm).
    """
    types: dict[str, str] = {}
    first_with_name: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row.file, row.term) not in seen:
            seen.add((row.file, row.term))
            first_with_name.add(row.code)
    for code, concept in concepts.items():
        name = concept.name.lower()
        parsed = parse_product_name(concept.name, vocabulary) if concept.name else None
        if concept.types:
            types[code] = "VMP" if "VMP" in concept.types else "AMP"
        elif code in chain_codes or len(code) < 11 or name.startswith("generic "):
            types[code] = "VMP"
        elif (parsed is not None and parsed.brand) or any(w in name for w in AMP_ONLY_WORDS):
            types[code] = "AMP"
        else:
            types[code] = "VMP" if code in first_with_name else "AMP"
    return types


# *** use and products ***


def use_from_bnf(bnf_code: str, parsed_use: Use, vocabulary: Vocabulary) -> Use:
    """The BNF section decides where it is explicit (rules/medicines/bnf_uses.csv;
    ome-reference.md §4.2)."""
    return vocabulary.use_from_bnf(bnf_code) or parsed_use


def in_scope(parsed: ParsedName) -> bool:
    return any(i.ingredient_class in TARGET_CLASSES for i in parsed.ingredients)


def signature(parsed: ParsedName) -> tuple[tuple[str, float | None, str], ...]:
    return tuple(
        sorted(
            (i.name, round(i.strength.mg_per_one, 9) if i.strength else None, _per(i))
            for i in parsed.ingredients
        )
    )


def _per(ingredient: Ingredient) -> str:
    return ingredient.strength.per_unit if ingredient.strength else ""


CONTAINERS = {"ampoule", "vial", "syringe", "bag", "cartridge", "tube"}


def per_presentation(parsed: ParsedName) -> tuple[tuple[str, float | None], ...]:
    """mg in one unit of presentation: "Diazepam 5mg/2.5ml rectal solution tube" holds 5 mg,
    as does "Diazepam 5mg RecTubes" (dm+d names a container by its whole content)."""
    amounts = []
    for i in parsed.ingredients:
        s = i.strength
        whole = s is not None and (
            s.per_unit == "unit"
            or (s.per_unit == "ml" and parsed.unit_of_presentation in CONTAINERS)
        )
        amounts.append((i.name, round(s.mg_per, 9) if s is not None and whole else None))
    return tuple(sorted(amounts))


def with_route(
    parsed: ParsedName, routes: set[Route | None], name: str, report: Report
) -> ParsedName:
    """Check the name's route against the route-specific list it came from."""
    listed = {r for r in routes if r is not None}
    if not listed or parsed.route in listed:
        return parsed
    if None in routes and parsed.route in {Route.BUCCAL, Route.NASAL}:
        return parsed
    report.add("route from the list, not the name", f"{name} ({parsed.route} → {min(listed)})")
    return replace(parsed, route=min(listed))


def build_vmps(
    concepts: dict[str, Concept],
    types: dict[str, str],
    history: dict[str, str],
    key_bnf: dict[str, str],
    report: Report,
    vocabulary: Vocabulary,
) -> dict[str, Product]:
    vmps: dict[str, Product] = {}
    for code, concept in sorted(concepts.items()):
        if types[code] != "VMP" or not concept.name:
            continue
        parsed = parse_product_name(concept.name, vocabulary)
        if parsed is None:
            report.add("names that do not parse (omitted)", f"{code} {concept.name}")
            continue
        if not in_scope(parsed):
            report.add(OUT_OF_SCOPE, f"{code} {concept.name}")
            continue
        parsed = with_route(parsed, concept.file_routes, concept.name, report)
        bnf = min(concept.bnf_codes) if concept.bnf_codes else key_bnf.get(code, "")
        bnf = bnf or key_bnf.get(history.get(code, ""), "")
        parsed = replace(parsed, use=use_from_bnf(bnf, parsed.use, vocabulary))
        sources = set(concept.sources) | ({KEY_PRODUCTS} if code in key_bnf else set())
        vmps[code] = Product(
            code, "VMP", concept.name, code, bnf, parsed, ";".join(sorted(sources))
        )
    # Chain members share one product: fill a missing BNF code from the other end.
    for code, product in list(vmps.items()):
        current = history.get(code)
        if not product.bnf_code and current in vmps and vmps[current].bnf_code:
            bnf = vmps[current].bnf_code
            vmps[code] = replace(
                product,
                bnf_code=bnf,
                parsed=replace(
                    product.parsed, use=use_from_bnf(bnf, product.parsed.use, vocabulary)
                ),
            )
    return vmps


def generic_bnf(bnf: str) -> str:
    """The generic presentation a branded BNF code points to (its last two characters)."""
    return bnf[:9] + "AA" + bnf[13:15] + bnf[13:15]


def link_amp(
    concept: Concept,
    parsed: ParsedName | None,
    vmps: dict[str, Product],
    by_bnf: dict[str, list[str]],
    history: dict[str, str],
) -> Product | None:
    """The AMP's VMP: through the (generic) BNF code, then the name, then the strengths."""
    candidates: set[str] = set()
    for bnf in concept.bnf_codes:
        candidates.update(by_bnf.get(bnf, []) or by_bnf.get(generic_bnf(bnf), []))
    name = concept.name.lower().removeprefix("generic ")
    if not candidates:
        candidates = {c for c, v in vmps.items() if v.name.lower().removeprefix("generic ") == name}
    if not candidates and parsed is not None and parsed.brand:
        # "Solpadeine Plus soluble tablets" → "Generic Solpadeine Plus soluble tablets sugar free"
        candidates = {
            c
            for c, v in vmps.items()
            if v.parsed.brand == parsed.brand and v.parsed.dose_form == parsed.dose_form
        }
    if not candidates and parsed is not None and all(i.strength for i in parsed.ingredients):
        candidates = {
            c
            for c, v in vmps.items()
            if per_presentation(v.parsed) == per_presentation(parsed)
            and v.parsed.route is parsed.route
            and v.parsed.unit_of_presentation == parsed.unit_of_presentation
        }
    current = {history.get(c, c) for c in candidates}
    current = {c for c in current if c in vmps} or {c for c in candidates if c in vmps}
    if not current:
        return None

    def score(code: str) -> tuple[bool, bool, bool, float, str]:
        vmp = vmps[code].parsed
        same = parsed is not None and signature(vmp) == signature(parsed)
        mr = parsed is not None and vmp.modified_release == parsed.modified_release
        form = parsed is not None and vmp.dose_form == parsed.dose_form
        ratio = difflib.SequenceMatcher(None, vmps[code].name.lower(), name).ratio()
        return (not same, not mr, not form, -ratio, code)

    return vmps[min(current, key=score)]


def amp_parse(
    parsed: ParsedName | None, vmp: Product | None, name: str, report: Report
) -> ParsedName | None:
    """The AMP's own reading, with ingredients and strengths from its VMP when needed."""
    if vmp is None:
        return parsed
    v = vmp.parsed
    if parsed is None:
        return v
    own_complete = all(i.strength for i in parsed.ingredients)
    if signature(parsed) != signature(v):
        if per_presentation(parsed) == per_presentation(v):
            pass
        elif own_complete and {i.name for i in parsed.ingredients} == {
            i.name for i in v.ingredients
        }:
            report.add("AMP strengths differ from the VMP's (VMP's used)", f"{name} ≠ {vmp.name}")
        elif own_complete:
            report.add("AMP ingredients differ from the VMP's (VMP's used)", f"{name} ≠ {vmp.name}")
        parsed = replace(parsed, ingredients=v.ingredients)
    if not parsed.form_stated:
        parsed = replace(
            parsed,
            dose_form=v.dose_form,
            route=v.route,
            unit_of_presentation=v.unit_of_presentation,
            form_stated=v.form_stated,
        )
    if v.modified_release and not parsed.modified_release:
        parsed = replace(parsed, modified_release=True, release_hours=v.release_hours)
    return parsed


def build_amps(
    concepts: dict[str, Concept],
    types: dict[str, str],
    vmps: dict[str, Product],
    history: dict[str, str],
    report: Report,
    vocabulary: Vocabulary,
) -> dict[str, Product]:
    by_bnf: dict[str, list[str]] = defaultdict(list)
    for code, vmp in sorted(vmps.items()):
        if vmp.bnf_code:
            by_bnf[vmp.bnf_code].append(code)
    amps: dict[str, Product] = {}
    for code, concept in sorted(concepts.items()):
        if types[code] != "AMP" or not concept.name:
            continue
        own = parse_product_name(concept.name, vocabulary)
        vmp = link_amp(concept, own, vmps, by_bnf, history)
        parsed = amp_parse(own, vmp, concept.name, report)
        if parsed is None:
            report.add("names that do not parse (omitted)", f"{code} {concept.name}")
            continue
        if not in_scope(parsed):
            report.add(OUT_OF_SCOPE, f"{code} {concept.name}")
            continue
        if vmp is None:
            report.add("AMPs with no VMP found (vmp_code left empty)", f"{code} {concept.name}")
        parsed = with_route(parsed, concept.file_routes, concept.name, report)
        bnf = min(concept.bnf_codes) if concept.bnf_codes else ""
        parsed = replace(
            parsed, use=use_from_bnf(bnf or (vmp.bnf_code if vmp else ""), parsed.use, vocabulary)
        )
        amps[code] = Product(
            code,
            "AMP",
            concept.name,
            vmp.code if vmp else "",
            bnf,
            parsed,
            ";".join(sorted(concept.sources)),
        )
    return amps


def build_vtms(
    fixture: list[dict[str, str]],
    key_products: list[dict[str, str]],
    report: Report,
    vocabulary: Vocabulary,
) -> dict[str, Product]:
    names: dict[str, str] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    for item in fixture:
        if item["dmd_type"] == "VTM":
            names[item["id"]] = item["name"]
            sources[item["id"]].add(FIXTURE)
    for key in key_products:
        names.setdefault(key["vtm_id"], key["vtm_name"])
        sources[key["vtm_id"]].add(KEY_PRODUCTS)
    vtms: dict[str, Product] = {}
    for code, name in sorted(names.items()):
        parsed = parse_product_name(name, vocabulary)
        if parsed is None or not in_scope(parsed):
            # The fixture was cut by name pattern: it also holds ipratropium, tiotropium,
            # acetazolamide…, none of which rules/medicines/ingredients.csv names or the
            # rules need.
            report.add("fixture VTMs outside the four classes (omitted)", f"{code} {name}")
            continue
        vtms[code] = Product(code, "VTM", name, "", "", parsed, ";".join(sorted(sources[code])))
    return vtms


# *** RxNorm ***

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# Where a name came from → (source id, preference). Names in the FHIR resources are RxNorm's
# own; the compiled test-vector table sometimes abbreviates them ("oxycodone 60 MG 12 HR ER
# tab"), so it is used only when nothing else names the code.
RX_ORIGINS = {
    "cqframework": ("rxnorm-cqf-tests", 0),
    "sandbox": ("rxnorm-sandbox", 1),
    "synthea": ("rxnorm-synthea", 2),
    "vectors": ("rxnorm-cqf-tests", 3),
}


def _json(path: Path) -> Any:
    value, _ = json.JSONDecoder().raw_decode(path.read_text("utf-8").lstrip())
    return value


def _codings(value: Any) -> Iterator[tuple[str, str]]:
    """(code, display) of every RxNorm coding, and of RxNorm CodeSystem supplements."""
    if isinstance(value, dict):
        if value.get("resourceType") == "CodeSystem" and value.get("supplements") == RXNORM:
            for concept in value.get("concept", []):
                yield concept["code"], concept.get("display", "")
        if value.get("system") == RXNORM and "code" in value:
            yield str(value["code"]), value.get("display") or ""
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def rxnorm_names(reference: Path) -> dict[str, dict[str, set[str]]]:
    """RxCUI → display name → origins (keys of RX_ORIGINS); "" when a source gave no name."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted((reference / "cqframework").rglob("*.json")):
        for code, display in _codings(_json(path)):
            found[code][display].add("cqframework")
    for path in sorted((reference / "cds-hooks" / "sandbox").glob("*.json")):
        for code, display in _codings(_json(path)):
            found[code][display].add("sandbox")
    for patient in _json(reference / "synthea" / "index.json"):
        for request in patient["opioid_or_benzo_medicationrequests"]:
            found[request["rxnorm"]][request["display"]].add("synthea")
    for row in read_csv(reference / "cqframework" / "cqf_test_vectors.csv"):
        if row["medication_rxnorm"].isdigit():
            found[row["medication_rxnorm"]][row["medication_display"]].add("vectors")
    return found


def rxnorm_type(name: str, parsed: ParsedName) -> str:
    """RxNorm term type from the shape of the name (the sources do not state it)."""
    branded = "[" in name
    strength = any(i.strength for i in parsed.ingredients)
    if strength:
        return {(True, True): "SBD", (False, True): "SCD", (True, False): "SBDC"}.get(
            (branded, parsed.form_stated), "SCDC"
        )
    if branded:
        return "BN"
    return "IN" if len(parsed.ingredients) == 1 else "MIN"


def build_rxnorm(reference: Path, report: Report, vocabulary: Vocabulary) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for code, displays in sorted(rxnorm_names(reference).items()):
        sources = {RX_ORIGINS[o][0] for origins in displays.values() for o in origins}
        candidates = []
        for display, where in displays.items():
            parsed = parse_product_name(display, vocabulary) if display else None
            if parsed is None:
                continue
            complete = all(i.strength for i in parsed.ingredients) and parsed.form_stated
            rank = min(RX_ORIGINS[o][1] for o in where)
            candidates.append((not complete, rank, display, parsed))
        if not candidates:
            shown = " / ".join(sorted(d for d in displays if d)) or "(no name in the sources)"
            report.add("RxNorm codes without a readable name (omitted)", f"{code} {shown}")
            continue
        _, _, name, parsed = min(candidates, key=lambda c: c[:3])
        if not in_scope(parsed) and not any(i.name == "naloxone" for i in parsed.ingredients):
            report.add("RxNorm codes out of scope (omitted)", f"{code} {name}")
            continue
        products[code] = Product(
            code, rxnorm_type(name, parsed), name, "", "", parsed, ";".join(sorted(sources))
        )
    return products


# *** writing ***


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.10g}"


def nominal_patch_rates(rules: Path) -> dict[tuple[str, float], tuple[float, str]]:
    """(ingredient, labelled rate) -> (nominal rate, source) from
    rules/medicines/nominal_patch_rates.csv: patches named by a rounded rate."""
    path = rules / "medicines" / "nominal_patch_rates.csv"
    if not path.exists():
        return {}
    return {
        (r["ingredient"], float(r["labelled_rate_micrograms_per_hour"])): (
            float(r["nominal_rate_micrograms_per_hour"]),
            r["source"],
        )
        for r in read_csv(path)
    }


NOMINAL_RATES = nominal_patch_rates(REPO / "rules")


def _nominal(ingredient: Ingredient, route: Route) -> tuple[Ingredient, str]:
    s = ingredient.strength
    if route is not Route.TRANSDERMAL or s is None or s.per_unit != "hour":
        return ingredient, ""
    found = NOMINAL_RATES.get((ingredient.name, s.value))
    if found is None:
        return ingredient, ""
    strength = Strength(found[0], s.unit, s.per_value, s.per_unit)
    return Ingredient(ingredient.name, ingredient.ingredient_class, strength), found[1]


def product_rows(products: Iterable[Product]) -> list[list[str]]:
    rows: list[list[str]] = []
    for product in products:
        p = product.parsed
        for labelled in p.ingredients:
            ingredient, extra_source = _nominal(labelled, p.route)
            s = ingredient.strength
            rows.append(
                [
                    product.code,
                    product.concept_type,
                    product.name,
                    product.vmp_code,
                    product.bnf_code,
                    ingredient.name,
                    ingredient.ingredient_class.value,
                    _number(s.value) if s else "",
                    s.unit if s else "",
                    _number(s.per_value) if s else "",
                    s.per_unit if s else "",
                    p.dose_form,
                    p.route.value,
                    p.unit_of_presentation,
                    "true" if p.modified_release else "false",
                    str(p.release_hours) if p.release_hours else "",
                    p.use.value,
                    ";".join(x for x in (product.source, extra_source) if x),
                ]
            )
    return sorted(rows, key=lambda r: (int(r[0]), r[5]))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def build(reference: Path, output: Path) -> Report:
    report = Report()
    # Products are read with the service's own vocabulary (rules/medicines/ingredients.csv,
    # brands.csv, ...), checked as at start-up.
    rules = REPO / "rules"
    vocabulary = Vocabulary.load(rules, Sources.load(rules))
    rows = read_codelists(reference)
    key_products = read_csv(reference / "dmd" / "uk_key_products_dmd.csv")
    fixture = read_csv(
        reference / "dmd" / "dmd_vtm_ing_opioid_gaba_benzo_from_openprescribing_fixture.csv"
    )
    edges = history_edges(rows, key_products, fixture)
    history = current_codes(edges, report)
    concepts = gather_concepts(rows, report)
    # Both ends of a chain are the same product: an id known only from a chain row
    # ("VMP subsequent to 321196004") takes the name of the other end.
    chain_codes = {code for pair in edges for code in pair}
    named = {c.code: c for c in concepts.values() if c.names}
    for previous, current in sorted(edges):
        for code, other in ((previous, current), (current, previous)):
            concept = concepts.setdefault(code, Concept(code))
            concept.sources |= edges[(previous, current)]
            if not concept.names and other in named:
                concept.names = list(named[other].names)
                concept.types.add("VMP")
    for key in key_products:
        concept = concepts.get(key["vmp_id_current"])
        if concept is not None and not concept.names:
            concept.names.append((9, key["requested_or_dmd_name"]))
    key_bnf = {
        k["vmp_id_current"]: k["bnf_code"].split()[0]
        for k in key_products
        if k["bnf_code"] and BNF_RE.match(k["bnf_code"].split()[0])
    }
    types = infer_types(rows, concepts, chain_codes, vocabulary)
    vmps = build_vmps(concepts, types, history, key_bnf, report, vocabulary)
    amps = build_amps(concepts, types, vmps, history, report, vocabulary)
    vtms = build_vtms(fixture, key_products, report, vocabulary)
    dmd = {**vtms, **vmps, **amps}

    history_rows = [
        [
            previous,
            current,
            ";".join(sorted(set().union(*(s for (p, _), s in edges.items() if p == previous)))),
        ]
        for previous, current in sorted(history.items(), key=lambda h: int(h[0]))
        if current in dmd or previous in dmd
    ]
    output.mkdir(parents=True, exist_ok=True)
    write_csv(output / "dmd_products.csv", PRODUCT_COLUMNS, product_rows(dmd.values()))
    write_csv(output / "dmd_code_history.csv", HISTORY_COLUMNS, history_rows)
    write_csv(
        output / "rxnorm_products.csv",
        PRODUCT_COLUMNS,
        product_rows(build_rxnorm(reference, report, vocabulary).values()),
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"reference folder not found: {args.reference}", file=sys.stderr)
        return 2
    build(args.reference, args.output).print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
