"""OAuth scopes, by API. A partner gets channel scopes; a service gets the scopes of the tier
below that it calls."""

# Experience API: marketplace (partners)
MARKETPLACE_ORDERS_WRITE = "marketplace:orders.write"
MARKETPLACE_ORDERS_READ = "marketplace:orders.read"
MARKETPLACE_AVAILABILITY_READ = "marketplace:availability.read"
# Register, list and delete webhook subscriptions; list and replay their deliveries
MARKETPLACE_WEBHOOKS_WRITE = "marketplace:webhooks.write"

# Experience API: b2b (resellers' purchasing systems)
B2B_CATALOG_READ = "b2b:catalog.read"
B2B_ORDERS_WRITE = "b2b:orders.write"
B2B_ORDERS_READ = "b2b:orders.read"
B2B_ACCOUNT_READ = "b2b:account.read"

# Experience API: fulfillment_partners (3PL and drop-ship partners; the partner is the token's partner)
FULFILLMENT_REQUESTS_READ = "fulfillment:requests.read"
FULFILLMENT_SHIPMENTS_WRITE = "fulfillment:shipments.write"
FULFILLMENT_RETURNS_WRITE = "fulfillment:returns.write"
FULFILLMENT_STOCK_WRITE = "fulfillment:stock.write"

# Experience API: marketplace v2, shipments and invoices of the partner's own orders
MARKETPLACE_SHIPMENTS_READ = "marketplace:shipments.read"

#: The scopes a partner may hold (its APIs are the ones the developer portal shows: gateway/portal).
PARTNER = frozenset(
    {MARKETPLACE_ORDERS_WRITE, MARKETPLACE_ORDERS_READ, MARKETPLACE_AVAILABILITY_READ, MARKETPLACE_WEBHOOKS_WRITE}
    | {B2B_CATALOG_READ, B2B_ORDERS_WRITE, B2B_ORDERS_READ, B2B_ACCOUNT_READ}
    | {FULFILLMENT_REQUESTS_READ, FULFILLMENT_SHIPMENTS_WRITE, FULFILLMENT_RETURNS_WRITE, FULFILLMENT_STOCK_WRITE}
    | {MARKETPLACE_SHIPMENTS_READ}
)

# Experience API: storefront (internal apps): push status and dead letters
STOREFRONT_ADMIN = "storefront:admin"

# Experience API: ops (the operations console; people who run the suite, internal clients only)
OPS = "ops"

# Process API: orders (experience services and internal apps)
ORDERS_WRITE = "orders:write"
ORDERS_READ = "orders:read"
# Internal apps only (ops console, CLI): exception queue, replays, credit reviews, every order
ORDERS_ADMIN = "orders:admin"

# Process API: fulfillment (experience services and internal apps): shipments, returns, requests
FULFILLMENT_WRITE = "fulfillment:write"
FULFILLMENT_READ = "fulfillment:read"
# Internal apps only: exception queue and replays
FULFILLMENT_ADMIN = "fulfillment:admin"

# Process API: inventory (experience services and internal apps)
INVENTORY_READ = "inventory:read"
# Internal apps only: projection rebuild, reconciliation and repair
INVENTORY_WRITE = "inventory:write"

# System APIs (process services only)
ERP_READ = "erp:read"
ERP_WRITE = "erp:write"
WMS_READ = "wms:read"
WMS_WRITE = "wms:write"
CRM_READ = "crm:read"
CRM_WRITE = "crm:write"

ALL = [
    MARKETPLACE_ORDERS_WRITE,
    MARKETPLACE_ORDERS_READ,
    MARKETPLACE_AVAILABILITY_READ,
    MARKETPLACE_WEBHOOKS_WRITE,
    B2B_CATALOG_READ,
    B2B_ORDERS_WRITE,
    B2B_ORDERS_READ,
    B2B_ACCOUNT_READ,
    FULFILLMENT_REQUESTS_READ,
    FULFILLMENT_SHIPMENTS_WRITE,
    FULFILLMENT_RETURNS_WRITE,
    FULFILLMENT_STOCK_WRITE,
    MARKETPLACE_SHIPMENTS_READ,
    STOREFRONT_ADMIN,
    OPS,
    ORDERS_WRITE,
    ORDERS_READ,
    ORDERS_ADMIN,
    FULFILLMENT_WRITE,
    FULFILLMENT_READ,
    FULFILLMENT_ADMIN,
    INVENTORY_READ,
    INVENTORY_WRITE,
    ERP_READ,
    ERP_WRITE,
    WMS_READ,
    WMS_WRITE,
    CRM_READ,
    CRM_WRITE,
]
