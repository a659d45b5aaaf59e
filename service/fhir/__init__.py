"""FHIR input: lenient reading of the resources real clients send into typed records.

This package is the only code that understands raw FHIR JSON. It accepts R4 and the STU3 /
DSTU2 shapes real clients still send (see ``docs/fhir-input.md``) and raises
``HookRequestError`` naming the JSON path when a value has the wrong type.
"""
