"""Regenerate the published-list rows of ``rules/codesets/cancer_palliative.csv``.

    python tools/build_cancer_codeset.py DIR

DIR holds the code lists as fetched (``code,term`` CSV exports from OpenCodelists, named as
in ``LISTS``). The rows of the rules file whose source is one of these lists are replaced by
the lists' rows; every other row (the hand-kept ones: ICD-10, keywords, codes the lists lack)
is kept, except a hand-kept SNOMED CT code that a list now holds (the list's row wins, so a
code is listed once). Rows are checked as SNOMED CT identifiers (digits, partition and
Verhoeff check digit) so that a mistyped code fails here, not silently at run time.

Which rows of a list are left out, and why, is below (``LEAVE_OUT`` and ``_left_out``): the
fact excludes patients from opioid safety cards, so a code that is not cancer (or is only a
history, a predisposition, or carcinoma in situ) must not be in it.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

SNOMED = "http://snomed.info/sct"
RULES = Path(__file__).resolve().parent.parent / "rules" / "codesets" / "cancer_palliative.csv"
COLUMNS = ("system", "match", "code", "display", "source", "notes")

#: (file name in DIR, source id in rules/sources.yaml, short name for the notes column, whether
#: the cancer leave-out rules apply). OpenSAFELY splits cancer into three lists; together they
#: are its "any cancer" definition.
LISTS = (
    ("opensafely-lung-cancer-snomed.csv", "opensafely-lung-cancer", "lung cancer list", True),
    (
        "opensafely-haematological-cancer-snomed.csv",
        "opensafely-haematological-cancer",
        "haematological cancer list",
        True,
    ),
    (
        "opensafely-cancer-excluding-lung-and-haematological-snomed.csv",
        "opensafely-cancer-other",
        "cancer excluding lung and haematological list",
        True,
    ),
    ("nhsd-primary-care-domain-refsets-palcare_cod.csv", "nhsd-palcare-cod", "PALCARE_COD", False),
)

_PREDISPOSITION = "an inherited predisposition or syndrome, not a cancer"
_AS_TAGGED = "the same concept as a situation, procedure or observable (see the tag rule)"
_PHEO = "pheochromocytoma is usually benign (ICD-10 D35.0); malignant pheochromocytoma is kept"
#: Codes in the published lists that are not cancer, or not the patient's own cancer. A
#: clinical safety officer should review this list with the rules in ``_left_out``.
LEAVE_OUT = {
    "716318002": _PREDISPOSITION,  # Lynch syndrome
    "315058005": _PREDISPOSITION,  # Hereditary nonpolyposis colon cancer
    "757351000000109": _PREDISPOSITION,
    "1051141000000100": _PREDISPOSITION,
    "700064004": _PREDISPOSITION,  # Familial nonpolyposis colorectal cancer
    "716654007": _PREDISPOSITION,  # Non-polyposis Turcot syndrome
    "718220008": _PREDISPOSITION,  # Hereditary breast and ovarian cancer syndrome
    "716857003": _PREDISPOSITION,  # Hereditary pheochromocytoma and paraganglioma
    "717968005": _PREDISPOSITION,  # Melanoma and neural system tumor syndrome
    "715215007": _PREDISPOSITION,  # Chromosome 11p13 deletion syndrome
    "702346005": _PREDISPOSITION,  # Chromosome 11p11.2 deletion syndrome
    "4135001": _PREDISPOSITION,  # 11p partial monosomy syndrome
    "69408002": _PREDISPOSITION,  # Gorlin syndrome
    "718195003": _PREDISPOSITION,  # Inherited predisposition to essential thrombocythemia
    "126885006": "Neoplasm of bladder: behaviour not stated",
    "126906006": "Neoplasm of prostate: behaviour not stated",
    "37373007": "Meckel's diverticulum: not a neoplasm",
    "659491000000109": "Meckel's diverticulum: not a neoplasm",
    "91113000": "Avian sarcoma: a veterinary concept",
    "56346006": "Lucke frog kidney carcinoma: a veterinary concept",
    "302835009": _PHEO,
    "76564002": _PHEO,
    "732968009": _PHEO,
    "248455008": _PHEO,
    "765143008": _PHEO,
    "26328002": "Disseminated eosinophilic collagen disease: not malignant",
    "234577004": "Lipochrome histiocytosis: not malignant",
    "80914001": "Anaplasia of cervix: dysplasia, not invasive cancer",
    "238637007": "Acanthosis palmaris: a skin sign, not a cancer diagnosis",
    "4230004": "Pacinian tumor: benign",
    "128913004": "Retinocytoma: benign",
    "189835008": "Adenomatoid tumour: benign",
    "396121000000105": "Adenomatoid tumour: benign",
    "277576009": "Plasma cell disorder: not necessarily malignant (includes MGUS)",
    "71390001": "Plasma cell dyscrasia: not necessarily malignant (includes MGUS)",
    "174581000000106": _AS_TAGGED,  # Cancer hospital treatment completed
    "169931000000107": _AS_TAGGED,
    "175601000000101": _AS_TAGGED,  # Date cancer diagnosis received in primary care
    "170941000000100": _AS_TAGGED,
    "175621000000105": _AS_TAGGED,  # Cancer pain and symptom management
    "170961000000104": _AS_TAGGED,
}

#: Semantic tags that are not the disease: treatment completed, follow-up, a date, a staging
#: system. (regime/therapy is kept: "cancer care review", "active surveillance of prostate
#: cancer" are care of a current cancer.)
_NOT_DISEASE_TAGS = (
    "(situation)",
    "(procedure)",
    "(observable entity)",
    "(qualifier value)",
    "(tumor staging)",
)
_WORD = re.compile(r"[a-z]+")
_BENIGN_WORDS = frozenset(
    "benign adenoma adenomas adenomatous cystadenoma nevus nevi naevus chondroma chondromatous "
    "enchondroma ganglioneuroma ganglioneuromatous ganglioneuromatosis gangliocytoma papilloma "
    "fibroma myoma".split()
)
_MALIGNANT = re.compile(
    r"carcinom|carcinoid|melanom|malignan|malignum|sarcom|cancer|metasta|lymphom|leuk|blastom|myelom"
)
_NOT_NEOPLASM = frozenset(
    "hypoproteinemia hyperproteinemia hypoalbuminemia hyperalbuminemia analbuminemia "
    "hypereosinophilic".split()
)
_EITHER = re.compile(r" or |and/or| and ")
_IN_SITU = ("in situ", "stage 0", "intraepithelial neoplasia", "non-invasive", "noninvasive")
_BASAL_CELL = (
    "basal cell carcinoma",
    "basal cell epithelioma",
    "epithelioma basal cell",
    "basal cell neoplasm of skin",
    "fibroepithelioma of pinkus",
)

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def valid_sctid(code: str) -> bool:
    """A SNOMED CT concept id: 6-18 digits, no leading zero, partition 00 or 10 (a concept),
    and a valid Verhoeff check digit (SNOMED CT Technical Implementation Guide 6.7)."""
    if not (code.isdigit() and 6 <= len(code) <= 18 and code[0] != "0"):
        return False
    if code[-3:-1] not in ("00", "10"):
        return False
    check = 0
    for i, digit in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(digit)]]
    return check == 0


def _left_out(code: str, term: str) -> str | None:
    """Why a published cancer row is not copied, or None. The rules mirror the ICD-10 rows of
    the rules file: carcinoma in situ (D00-D09), uncertain behaviour (D37-D48), MGUS (D47.2)
    and basal cell carcinoma (C44, left out of the QOF cancer register) do not count, nor does
    a cancer in remission (as clinicalStatus remission does not)."""
    lowered = term.lower()
    words = set(_WORD.findall(lowered))
    if code in LEAVE_OUT:
        return LEAVE_OUT[code]
    if lowered.rstrip().endswith(_NOT_DISEASE_TAGS):
        return "not the disease (a situation, procedure, observable or staging concept)"
    in_situ = any(phrase in lowered for phrase in _IN_SITU) or "noninfiltrating" in lowered
    if in_situ and "microinvasion" not in lowered:  # microinvasive carcinoma is invasive (T1mi)
        return "carcinoma in situ or non-invasive (as ICD-10 D00-D09, not counted)"
    if "in remission" in lowered:
        return "in remission (as clinicalStatus remission, not counted)"
    if any(phrase in lowered for phrase in _BASAL_CELL):
        return "basal cell carcinoma (as ICD-10 C44 and the QOF cancer register, not counted)"
    if "monoclonal gammopathy" in lowered:
        return "monoclonal gammopathy (as ICD-10 D47.2, not counted)"
    if "uncertain behavio" in lowered:
        return "uncertain behaviour (as ICD-10 D37-D48, not counted)"
    malignant = _MALIGNANT.search(lowered) is not None
    if not malignant and words & {"precancerous", "premalignant", "reactive"}:
        return "precancerous or reactive, not a cancer"
    if words & _NOT_NEOPLASM:
        return "not a cancer (in the published list in error)"
    if words & _BENIGN_WORDS and (not malignant or _EITHER.search(lowered)):
        return "benign, or benign or malignant (a morphology grouping)"
    return None


def build(fetched: Path, rules: Path = RULES) -> tuple[str, list[str]]:
    """The new rules file text, and a line per published row left out."""
    sources = {source for _, source, _, _ in LISTS}
    with rules.open(encoding="utf-8", newline="") as f:
        kept = [r for r in csv.DictReader(f) if r["source"] not in sources]
    generated: list[dict[str, str]] = []
    left_out: list[str] = []
    seen: set[str] = set()
    for name, source, label, cancer in LISTS:
        with (fetched / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                code, term = row["code"].strip(), row["term"].strip()
                if not valid_sctid(code):
                    raise SystemExit(f"{name}: {code!r} is not a SNOMED CT concept id")
                reason = _left_out(code, term) if cancer else None
                if reason:
                    left_out.append(f"{name}: {code} {term}: {reason}")
                    continue
                if code in seen:
                    continue
                seen.add(code)
                generated.append(
                    {
                        "system": SNOMED,
                        "match": "exact",
                        "code": code,
                        "display": term,
                        "source": source,
                        "notes": label,
                    }
                )
    kept = [r for r in kept if not (r["system"] == SNOMED and r["code"] in seen)]
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    writer.writerows(sorted(generated, key=lambda r: (r["source"], int(r["code"]))))
    return out.getvalue(), left_out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    text, left_out = build(Path(argv[1]))
    RULES.write_text(text, encoding="utf-8")
    for line in left_out:
        print("left out:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
