"""The inventory process API: availability to sell per channel, its publication and reconciliation."""
