"""CDS Hooks 2.0.1 wire layer: models named after the spec, hook contexts, discovery."""
