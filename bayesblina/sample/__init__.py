"""The sampling core (one module every model uses)."""
