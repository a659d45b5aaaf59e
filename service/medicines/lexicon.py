"""Grammar words of product names: salt and hydrate words, and retailer prefixes.

They say how a name is written, not what a medicine is. The clinical vocabulary (which
ingredients exist and their class, other names, brands) is data under ``rules/medicines/``,
loaded by ``service.medicines.vocabulary``.
"""

from __future__ import annotations

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
