"""Code-system URIs, named once. FHIR identifies a code system by URI; the same system
reaches us under more than one (dm+d under its own URI or as SNOMED CT; ICD-10 with a
national suffix), and each module that reads codes uses these names, not the strings."""

from __future__ import annotations

from typing import Final

#: NHS Dictionary of Medicines and Devices (UK Core; some clients add a trailing slash).
DMD: Final = "https://dmd.nhs.uk"
#: SNOMED CT, of which dm+d is the UK drug extension: dm+d codes are SNOMED CT concept ids.
SNOMED_CT: Final = "http://snomed.info/sct"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM: Final = "http://unitsofmeasure.org"
ICD_10: Final = "http://hl7.org/fhir/sid/icd-10"
ICD_10_UK: Final = "http://hl7.org/fhir/sid/icd-10-uk"
ICD_10_CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"


def medicine_system(uri: str | None) -> str | None:
    """ "dm+d" or "RxNorm" for a medicine coding's system as clients send it (any case, with
    or without a trailing slash; dm+d also as SNOMED CT), else None."""
    if uri is None:
        return None
    key = uri.strip().rstrip("/").casefold()
    if key in (DMD, SNOMED_CT):
        return "dm+d"
    if key == RXNORM:
        return "RxNorm"
    return None
