"""ERP system API: items, customers and their price lists, price quotes and sales orders,
canonical in and out."""
