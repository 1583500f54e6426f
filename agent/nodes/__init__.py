"""Node implementations used by the graphs in graphs/ (the graphs themselves are wiring only)."""
