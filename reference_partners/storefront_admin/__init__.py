"""A reference storefront admin API (Shopify-like, ``/admin/api/2024-01``): it keeps the inventory
levels it is sent, numbers the orders placed in it and sends them as signed order webhooks."""
