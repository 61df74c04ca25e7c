"""Marketplace experience API: order intake and order status in the marketplace's own dialect."""
