"""The results database: schema, store, reading, merge, export and provenance."""
