"""HTTP layer: FastAPI routes, dependencies and error rendering."""
