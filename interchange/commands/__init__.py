"""Command groups of the `interchange` CLI, one module per area (each exposes a typer `app`)."""
