"""Analysis specs: the TOML files under ``models/``, validated with pydantic."""
