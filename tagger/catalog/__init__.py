"""The catalog: one SQLite file (WAL) with a versioned schema, and its Parquet export."""
