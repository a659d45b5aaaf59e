"""Card presentation: a finding rendered as a CDS Hooks card, its suggestions and tables."""
