-- ecom schema version 1, sqlite dialect.
-- Generated from ecomcli/schema.py by `python -m ecomcli.backends.sql`: do not edit.
-- Runnable by hand; `ecom init-db` runs exactly this file.
-- Money and decimals are stored exactly, as integers scaled by 10^scale.
PRAGMA foreign_keys = ON;

-- ecom's own bookkeeping: the schema version, for migrations
CREATE TABLE IF NOT EXISTS "ecom_meta" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL
) STRICT;

-- categories: product categories
CREATE TABLE IF NOT EXISTS "categories" (
    "category_id" TEXT NOT NULL CHECK (length("category_id") <= 64),
    "name" TEXT NOT NULL CHECK (length("name") <= 100), -- display name
    "parent_id" TEXT CHECK (length("parent_id") <= 64), -- parent category, for a tree
    PRIMARY KEY ("category_id"),
    CONSTRAINT "fk_categories_parent_id" FOREIGN KEY ("parent_id") REFERENCES "categories" ("category_id")
) STRICT;

-- customers: people who buy: name, phone, gender, date of birth, email
CREATE TABLE IF NOT EXISTS "customers" (
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "first_name" TEXT CHECK (length("first_name") <= 100),
    "last_name" TEXT CHECK (length("last_name") <= 100),
    "email" TEXT CHECK (length("email") <= 254),
    "phone" TEXT CHECK (length("phone") <= 32),
    "gender" TEXT CHECK ("gender" IN ('female', 'male', 'other')),
    "date_of_birth" TEXT, -- ISO 8601
    "created_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("customer_id")
) STRICT;
-- serves: customer lookup by email
CREATE INDEX IF NOT EXISTS "ix_customers_email" ON "customers" ("email");

-- customer_addresses: a customer's postal addresses (a customer may have several)
CREATE TABLE IF NOT EXISTS "customer_addresses" (
    "address_id" TEXT NOT NULL CHECK (length("address_id") <= 64),
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "street" TEXT CHECK (length("street") <= 200),
    "postal_code" TEXT NOT NULL CHECK (length("postal_code") <= 16),
    "city" TEXT CHECK (length("city") <= 100),
    "state" TEXT CHECK (length("state") <= 64),
    "country" TEXT CHECK (length("country") <= 2), -- ISO 3166 alpha-2
    PRIMARY KEY ("address_id"),
    CONSTRAINT "fk_customer_addresses_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;

-- logins: a customer's login: email and a slow salted password hash
CREATE TABLE IF NOT EXISTS "logins" (
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "email" TEXT NOT NULL UNIQUE CHECK (length("email") <= 254),
    "password_hash" TEXT NOT NULL CHECK (length("password_hash") <= 255), -- scrypt hash with its salt and cost: never the password
    "updated_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("customer_id"),
    CONSTRAINT "fk_logins_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;

-- payment_cards: saved cards: brand, last four digits and expiry only (never a number or CVV)
CREATE TABLE IF NOT EXISTS "payment_cards" (
    "card_id" TEXT NOT NULL CHECK (length("card_id") <= 64),
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "brand" TEXT NOT NULL CHECK (length("brand") <= 32),
    "last4" TEXT NOT NULL CHECK (length("last4") <= 4),
    "exp_month" INTEGER NOT NULL CHECK ("exp_month" >= 1 AND "exp_month" <= 12),
    "exp_year" INTEGER NOT NULL CHECK ("exp_year" >= 2000 AND "exp_year" <= 2100),
    PRIMARY KEY ("card_id"),
    CONSTRAINT "fk_payment_cards_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;

-- suppliers: who supplies products
CREATE TABLE IF NOT EXISTS "suppliers" (
    "supplier_id" TEXT NOT NULL CHECK (length("supplier_id") <= 64),
    "name" TEXT NOT NULL CHECK (length("name") <= 200),
    "email" TEXT CHECK (length("email") <= 254),
    "phone" TEXT CHECK (length("phone") <= 32),
    "city" TEXT CHECK (length("city") <= 100),
    "state" TEXT CHECK (length("state") <= 64),
    "lead_time_days" INTEGER CHECK ("lead_time_days" >= 0 AND "lead_time_days" <= 365), -- days from a purchase order to the delivery (restock report: 7 when empty)
    PRIMARY KEY ("supplier_id")
) STRICT;

-- delivery_partners: carriers that deliver orders: name and contact
CREATE TABLE IF NOT EXISTS "delivery_partners" (
    "partner_id" TEXT NOT NULL CHECK (length("partner_id") <= 64),
    "name" TEXT NOT NULL CHECK (length("name") <= 200),
    "phone" TEXT CHECK (length("phone") <= 32),
    "email" TEXT CHECK (length("email") <= 254),
    PRIMARY KEY ("partner_id")
) STRICT;

-- products: what the store sells: price, rating, stock, and clothes / electronics attributes
CREATE TABLE IF NOT EXISTS "products" (
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "name" TEXT NOT NULL CHECK (length("name") <= 200),
    "category_id" TEXT CHECK (length("category_id") <= 64),
    "kind" TEXT NOT NULL DEFAULT 'general' CHECK ("kind" IN ('general', 'clothes', 'electronics')),
    "price" INTEGER NOT NULL CHECK ("price" >= 0), -- exact: value x 100
    "rating" INTEGER CHECK ("rating" >= 0 AND "rating" <= 500), -- exact: value x 100; catalogue rating
    "units_in_stock" INTEGER NOT NULL DEFAULT 0 CHECK ("units_in_stock" >= 0),
    "reorder_level" INTEGER NOT NULL DEFAULT 10 CHECK ("reorder_level" >= 0),
    "size" TEXT CHECK ("size" IN ('XS', 'S', 'M', 'L', 'XL', 'XXL', 'XXXL')), -- clothes
    "material" TEXT CHECK (length("material") <= 64), -- clothes
    "gender" TEXT CHECK ("gender" IN ('women', 'men', 'unisex', 'kids')), -- clothes: who it is cut for
    "weight_g" INTEGER CHECK ("weight_g" >= 0), -- electronics and shipping
    "length_cm" INTEGER CHECK ("length_cm" >= 0), -- exact: value x 100
    "width_cm" INTEGER CHECK ("width_cm" >= 0), -- exact: value x 100
    "height_cm" INTEGER CHECK ("height_cm" >= 0), -- exact: value x 100
    "created_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("product_id"),
    CONSTRAINT "fk_products_category_id" FOREIGN KEY ("category_id") REFERENCES "categories" ("category_id")
) STRICT;
-- serves: categories report, product list by category
CREATE INDEX IF NOT EXISTS "ix_products_category_id" ON "products" ("category_id");
-- serves: low-stock report
CREATE INDEX IF NOT EXISTS "ix_products_units_in_stock" ON "products" ("units_in_stock");
-- serves: clothes by size (plus sizes)
CREATE INDEX IF NOT EXISTS "ix_products_kind_size" ON "products" ("kind", "size");
-- serves: carts report: covering (the price without the row)
CREATE INDEX IF NOT EXISTS "ix_products_product_id_price" ON "products" ("product_id", "price");

-- supplies: which supplier supplies which product, and how many units
CREATE TABLE IF NOT EXISTS "supplies" (
    "supplier_id" TEXT NOT NULL CHECK (length("supplier_id") <= 64),
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "units" INTEGER NOT NULL DEFAULT 0 CHECK ("units" >= 0), -- units supplied
    PRIMARY KEY ("supplier_id", "product_id"),
    CONSTRAINT "fk_supplies_supplier_id" FOREIGN KEY ("supplier_id") REFERENCES "suppliers" ("supplier_id"),
    CONSTRAINT "fk_supplies_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id")
) STRICT;
-- serves: low-stock report: suppliers of a product
CREATE INDEX IF NOT EXISTS "ix_supplies_product_id" ON "supplies" ("product_id");

-- carts: a customer's shopping cart
CREATE TABLE IF NOT EXISTS "carts" (
    "cart_id" TEXT NOT NULL CHECK (length("cart_id") <= 64),
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "status" TEXT NOT NULL DEFAULT 'open' CHECK ("status" IN ('open', 'checked_out', 'abandoned')),
    "created_at" TEXT, -- ISO 8601 UTC
    "updated_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("cart_id"),
    CONSTRAINT "fk_carts_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;
-- serves: a customer's carts
CREATE INDEX IF NOT EXISTS "ix_carts_customer_id" ON "carts" ("customer_id");

-- cart_items: the quantity of each product in a cart
CREATE TABLE IF NOT EXISTS "cart_items" (
    "cart_id" TEXT NOT NULL CHECK (length("cart_id") <= 64),
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "quantity" INTEGER NOT NULL DEFAULT 1 CHECK ("quantity" >= 1),
    "added_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("cart_id", "product_id"),
    CONSTRAINT "fk_cart_items_cart_id" FOREIGN KEY ("cart_id") REFERENCES "carts" ("cart_id"),
    CONSTRAINT "fk_cart_items_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id")
) STRICT;
-- serves: carts report: covering (SQLite: 15 s to 11 s at 2.9M lines)
CREATE INDEX IF NOT EXISTS "ix_cart_items_cart_id_product_id_quantity" ON "cart_items" ("cart_id", "product_id", "quantity");

-- wishlists: a customer's wishlist
CREATE TABLE IF NOT EXISTS "wishlists" (
    "wishlist_id" TEXT NOT NULL CHECK (length("wishlist_id") <= 64),
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "name" TEXT CHECK (length("name") <= 100),
    "created_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("wishlist_id"),
    CONSTRAINT "fk_wishlists_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;
-- serves: a customer's wishlists
CREATE INDEX IF NOT EXISTS "ix_wishlists_customer_id" ON "wishlists" ("customer_id");

-- wishlist_items: the products on a wishlist
CREATE TABLE IF NOT EXISTS "wishlist_items" (
    "wishlist_id" TEXT NOT NULL CHECK (length("wishlist_id") <= 64),
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "added_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("wishlist_id", "product_id"),
    CONSTRAINT "fk_wishlist_items_wishlist_id" FOREIGN KEY ("wishlist_id") REFERENCES "wishlists" ("wishlist_id"),
    CONSTRAINT "fk_wishlist_items_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id")
) STRICT;
-- serves: wishlists --by product: a product's wishlist lines
CREATE INDEX IF NOT EXISTS "ix_wishlist_items_product_id" ON "wishlist_items" ("product_id");

-- orders: orders: customer, cart, status and its timestamps, delivery partner
CREATE TABLE IF NOT EXISTS "orders" (
    "order_id" TEXT NOT NULL CHECK (length("order_id") <= 64),
    "customer_id" TEXT NOT NULL CHECK (length("customer_id") <= 64),
    "cart_id" TEXT CHECK (length("cart_id") <= 64), -- the cart the order came from
    "status" TEXT NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'returned')),
    "purchased_at" TEXT NOT NULL, -- ISO 8601 UTC
    "approved_at" TEXT, -- ISO 8601 UTC
    "shipped_at" TEXT, -- ISO 8601 UTC
    "delivered_at" TEXT, -- ISO 8601 UTC
    "estimated_delivery_at" TEXT, -- ISO 8601 UTC
    "delivery_partner_id" TEXT CHECK (length("delivery_partner_id") <= 64),
    PRIMARY KEY ("order_id"),
    CONSTRAINT "fk_orders_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id"),
    CONSTRAINT "fk_orders_cart_id" FOREIGN KEY ("cart_id") REFERENCES "carts" ("cart_id"),
    CONSTRAINT "fk_orders_delivery_partner_id" FOREIGN KEY ("delivery_partner_id") REFERENCES "delivery_partners" ("partner_id")
) STRICT;
-- serves: sales, forecast, top-products by period
CREATE INDEX IF NOT EXISTS "ix_orders_purchased_at" ON "orders" ("purchased_at");
-- serves: a customer's orders; customer-orders, customer-activity, the customers summary of a marked customer (covering: the walk to the lines reads no order row; InnoDB holds order_id in every index anyway)
CREATE INDEX IF NOT EXISTS "ix_orders_customer_id_purchased_at_status_order_id" ON "orders" ("customer_id", "purchased_at", "status", "order_id");
-- serves: delivery report
CREATE INDEX IF NOT EXISTS "ix_orders_delivery_partner_id" ON "orders" ("delivery_partner_id");
-- serves: rebuilding the summaries of sales: each line's order in one lookup
CREATE INDEX IF NOT EXISTS "ix_orders_order_id_status_purchased_at_customer_id" ON "orders" ("order_id", "status", "purchased_at", "customer_id");

-- order_items: order lines: product, quantity, unit price at the time of sale
CREATE TABLE IF NOT EXISTS "order_items" (
    "order_id" TEXT NOT NULL CHECK (length("order_id") <= 64),
    "line_no" INTEGER NOT NULL CHECK ("line_no" >= 1),
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "supplier_id" TEXT CHECK (length("supplier_id") <= 64), -- who fulfilled the line
    "quantity" INTEGER NOT NULL DEFAULT 1 CHECK ("quantity" >= 1),
    "unit_price" INTEGER NOT NULL CHECK ("unit_price" >= 0), -- exact: value x 100; price at the time of sale
    "freight" INTEGER CHECK ("freight" >= 0), -- exact: value x 100
    PRIMARY KEY ("order_id", "line_no"),
    CONSTRAINT "fk_order_items_order_id" FOREIGN KEY ("order_id") REFERENCES "orders" ("order_id"),
    CONSTRAINT "fk_order_items_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id"),
    CONSTRAINT "fk_order_items_supplier_id" FOREIGN KEY ("supplier_id") REFERENCES "suppliers" ("supplier_id")
) STRICT;
-- serves: top-products, categories, product delete check
CREATE INDEX IF NOT EXISTS "ix_order_items_product_id" ON "order_items" ("product_id");

-- payments: payments: method, customer, time, amount
CREATE TABLE IF NOT EXISTS "payments" (
    "payment_id" TEXT NOT NULL CHECK (length("payment_id") <= 64),
    "order_id" TEXT CHECK (length("order_id") <= 64),
    "customer_id" TEXT CHECK (length("customer_id") <= 64),
    "method" TEXT NOT NULL CHECK ("method" IN ('credit_card', 'debit_card', 'wallet', 'voucher', 'bank_transfer', 'cash_on_delivery', 'other')),
    "amount" INTEGER NOT NULL CHECK ("amount" >= 0), -- exact: value x 100
    "installments" INTEGER DEFAULT 1 CHECK ("installments" >= 1),
    "paid_at" TEXT, -- ISO 8601 UTC
    "card_id" TEXT CHECK (length("card_id") <= 64),
    PRIMARY KEY ("payment_id"),
    CONSTRAINT "fk_payments_order_id" FOREIGN KEY ("order_id") REFERENCES "orders" ("order_id"),
    CONSTRAINT "fk_payments_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id"),
    CONSTRAINT "fk_payments_card_id" FOREIGN KEY ("card_id") REFERENCES "payment_cards" ("card_id")
) STRICT;
-- serves: an order's payments
CREATE INDEX IF NOT EXISTS "ix_payments_order_id" ON "payments" ("order_id");
-- serves: carts report: customers paying by a method
CREATE INDEX IF NOT EXISTS "ix_payments_customer_id_method" ON "payments" ("customer_id", "method");
-- serves: payments report and its summary: covering, a month's payments by range
CREATE INDEX IF NOT EXISTS "ix_payments_paid_at_method_amount" ON "payments" ("paid_at", "method", "amount");

-- reviews: product reviews: score 1-5, title, comment
CREATE TABLE IF NOT EXISTS "reviews" (
    "review_id" TEXT NOT NULL CHECK (length("review_id") <= 64),
    "product_id" TEXT CHECK (length("product_id") <= 64),
    "order_id" TEXT CHECK (length("order_id") <= 64),
    "customer_id" TEXT CHECK (length("customer_id") <= 64),
    "score" INTEGER NOT NULL CHECK ("score" >= 1 AND "score" <= 5),
    "title" TEXT CHECK (length("title") <= 200),
    "comment" TEXT,
    "created_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("review_id"),
    CONSTRAINT "fk_reviews_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id"),
    CONSTRAINT "fk_reviews_order_id" FOREIGN KEY ("order_id") REFERENCES "orders" ("order_id"),
    CONSTRAINT "fk_reviews_customer_id" FOREIGN KEY ("customer_id") REFERENCES "customers" ("customer_id")
) STRICT;
-- serves: ratings report
CREATE INDEX IF NOT EXISTS "ix_reviews_product_id" ON "reviews" ("product_id");
-- serves: ratings report: covering (0.46 s to 0.03 s, SQLite)
CREATE INDEX IF NOT EXISTS "ix_reviews_product_id_score" ON "reviews" ("product_id", "score");
-- serves: an order's reviews
CREATE INDEX IF NOT EXISTS "ix_reviews_order_id" ON "reviews" ("order_id");

-- stock_movements: every change of a product's stock, so current stock can be explained
CREATE TABLE IF NOT EXISTS "stock_movements" (
    "movement_id" TEXT NOT NULL CHECK (length("movement_id") <= 64),
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "delta" INTEGER NOT NULL, -- units in (+) or out (-)
    "reason" TEXT NOT NULL CHECK ("reason" IN ('initial', 'restock', 'adjust', 'sale', 'cancel', 'return', 'import')),
    "order_id" TEXT CHECK (length("order_id") <= 64),
    "note" TEXT CHECK (length("note") <= 200),
    "created_at" TEXT NOT NULL, -- ISO 8601 UTC
    PRIMARY KEY ("movement_id"),
    CONSTRAINT "fk_stock_movements_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id"),
    CONSTRAINT "fk_stock_movements_order_id" FOREIGN KEY ("order_id") REFERENCES "orders" ("order_id")
) STRICT;
-- serves: a product's stock history
CREATE INDEX IF NOT EXISTS "ix_stock_movements_product_id_created_at" ON "stock_movements" ("product_id", "created_at");

-- product_images: a product's images and their search descriptors (ecom images add)
CREATE TABLE IF NOT EXISTS "product_images" (
    "product_id" TEXT NOT NULL CHECK (length("product_id") <= 64),
    "sha256" TEXT NOT NULL CHECK (length("sha256") <= 64), -- hex SHA-256 of the file's bytes
    "source" TEXT NOT NULL CHECK (length("source") <= 1000), -- path or URL it came from
    "width" INTEGER NOT NULL CHECK ("width" >= 1),
    "height" INTEGER NOT NULL CHECK ("height" >= 1),
    "file_bytes" INTEGER NOT NULL CHECK ("file_bytes" >= 0), -- size of the file
    "method" TEXT NOT NULL CHECK (length("method") <= 32), -- descriptor version
    "preview" BLOB, -- the first part of descriptors: what every search reads
    "descriptors" BLOB NOT NULL, -- what image search compares
    "added_at" TEXT, -- ISO 8601 UTC
    PRIMARY KEY ("product_id", "sha256"),
    CONSTRAINT "fk_product_images_product_id" FOREIGN KEY ("product_id") REFERENCES "products" ("product_id")
) STRICT;

-- summary_sales_monthly: sales per calendar month (YYYY-MM) and product: units, revenue, and the sales holding it (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_sales_monthly (month TEXT NOT NULL, product_id TEXT NOT NULL, units INTEGER NOT NULL, revenue INTEGER NOT NULL, orders INTEGER NOT NULL, PRIMARY KEY (month, product_id)) STRICT, WITHOUT ROWID;

-- summary_sales_daily: sales per day: orders, units, revenue (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_sales_daily (day TEXT NOT NULL PRIMARY KEY, orders INTEGER NOT NULL, units INTEGER NOT NULL, revenue INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_customer_sales: purchases (sales with lines) per customer, all time; sales = orders (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_sales (customer_id TEXT NOT NULL PRIMARY KEY, orders INTEGER NOT NULL, items INTEGER NOT NULL, revenue INTEGER NOT NULL, sales INTEGER NOT NULL, days INTEGER NOT NULL, first_sale_at TEXT NOT NULL, last_sale_at TEXT NOT NULL) STRICT, WITHOUT ROWID;

-- summary_customer_months: purchases per customer and calendar month (YYYY-MM), with the month of the customer's first purchase (cohort) (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_months (customer_id TEXT NOT NULL, month TEXT NOT NULL, cohort TEXT NOT NULL, orders INTEGER NOT NULL, items INTEGER NOT NULL, revenue INTEGER NOT NULL, days INTEGER NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, PRIMARY KEY (customer_id, month)) STRICT, WITHOUT ROWID;

-- summary_delivery_monthly: deliveries per purchase month, partner ('' for none) and delivery month (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_delivery_monthly (month TEXT NOT NULL, partner_id TEXT NOT NULL, delivered_month TEXT NOT NULL, delivered INTEGER NOT NULL, on_time INTEGER NOT NULL, late_seconds INTEGER NOT NULL, PRIMARY KEY (month, partner_id, delivered_month)) STRICT, WITHOUT ROWID;

-- summary_carts: every cart with its lines, items and total at the prices in summary_cart_prices (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_carts (cart_id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, status TEXT NOT NULL, n_lines INTEGER NOT NULL, items INTEGER NOT NULL, total INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_cart_prices: the product prices the cart totals were computed with (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_cart_prices (product_id TEXT NOT NULL PRIMARY KEY, price INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_product_reviews: reviews per product: how many, and the sum of their scores (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_product_reviews (product_id TEXT NOT NULL PRIMARY KEY, reviews INTEGER NOT NULL, score_sum INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_product_wishlists: wishlists per product: how many hold it, and their distinct customers (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_product_wishlists (product_id TEXT NOT NULL PRIMARY KEY, wishlists INTEGER NOT NULL, customers INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_payments_daily: payments per day paid (YYYY-MM-DD, '' without paid_at) and method (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_payments_daily (day TEXT NOT NULL, method TEXT NOT NULL, payments INTEGER NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (day, method)) STRICT, WITHOUT ROWID;

-- summary_supplier_products: per supplier with supplies: the products it supplies and their units (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_supplier_products (supplier_id TEXT NOT NULL PRIMARY KEY, products INTEGER NOT NULL, units INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_dirty_months: months whose orders changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_months (month TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_customers: customers whose sales changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_customers (customer_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_carts: carts whose lines changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_carts (cart_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_products: products whose reviews or wishlists changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_products (product_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_prices: products whose price may have changed since the cart totals were computed (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_prices (product_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_payment_months: months (YYYY-MM, '' without paid_at) whose payments changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_payment_months (month TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_suppliers: suppliers whose supplies changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_suppliers (supplier_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_pairs_monthly: sales per pair of products bought together (a < b) and month (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_pairs_monthly (product_a TEXT NOT NULL, product_b TEXT NOT NULL, month TEXT NOT NULL, orders INTEGER NOT NULL, PRIMARY KEY (product_a, product_b, month)) STRICT, WITHOUT ROWID;

-- summary_dirty_pair_months: months whose orders changed since the pair counts were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_pair_months (month TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_dirty_customer_months: months whose orders changed since the customers' rows were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_customer_months (month TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;

-- summary_customer_wishlists: per customer with wishlists: how many, and the distinct products on them (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_wishlists (customer_id TEXT NOT NULL PRIMARY KEY, wishlists INTEGER NOT NULL, products INTEGER NOT NULL) STRICT, WITHOUT ROWID;

-- summary_dirty_wishlist_customers: customers whose wishlists changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_wishlist_customers (customer_id TEXT NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;
-- serves: the carts report, in its order
CREATE INDEX IF NOT EXISTS ix_summary_carts_report ON summary_carts (total DESC, cart_id, customer_id, status, n_lines, items);
-- serves: customer-orders --limit, its first customers
CREATE INDEX IF NOT EXISTS ix_summary_customer_sales_report ON summary_customer_sales (items DESC, orders DESC, customer_id);
-- serves: rebuilding one month's pair counts
CREATE INDEX IF NOT EXISTS ix_summary_pairs_monthly_month ON summary_pairs_monthly (month);
-- serves: wishlists --by customer --limit, its first customers
CREATE INDEX IF NOT EXISTS ix_summary_customer_wishlists_report ON summary_customer_wishlists (products DESC, customer_id);

-- indexes an earlier ecom made, replaced since
DROP INDEX IF EXISTS "ix_payments_method_paid_at_amount";
DROP INDEX IF EXISTS "ix_orders_customer_id_purchased_at_status";
DROP INDEX IF EXISTS "ix_orders_sales";

INSERT OR IGNORE INTO "ecom_meta" ("name", "value") VALUES ('schema_version', '1');
