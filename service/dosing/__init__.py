"""Dosing: reading dose instructions (structured FHIR Dosage and free text) into daily amounts."""
