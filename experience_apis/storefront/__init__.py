"""The storefront experience API: inventory level pushes to the storefront (a Shopify-like admin API)."""
