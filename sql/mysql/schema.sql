-- ecom schema version 1, mysql dialect.
-- Generated from ecomcli/schema.py by `python -m ecomcli.backends.sql`: do not edit.
-- Runnable by hand; `ecom init-db` runs exactly this file.

-- ecom's own bookkeeping: the schema version, for migrations
CREATE TABLE IF NOT EXISTS `ecom_meta` (
    `name` VARCHAR(64) NOT NULL PRIMARY KEY,
    `value` VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- categories: product categories
CREATE TABLE IF NOT EXISTS `categories` (
    `category_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(100) NOT NULL, -- display name
    `parent_id` VARCHAR(64), -- parent category, for a tree
    PRIMARY KEY (`category_id`),
    CONSTRAINT `fk_categories_parent_id` FOREIGN KEY (`parent_id`) REFERENCES `categories` (`category_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- customers: people who buy: name, phone, gender, date of birth, email
CREATE TABLE IF NOT EXISTS `customers` (
    `customer_id` VARCHAR(64) NOT NULL,
    `first_name` VARCHAR(100),
    `last_name` VARCHAR(100),
    `email` VARCHAR(254),
    `phone` VARCHAR(32),
    `gender` VARCHAR(6) CHECK (`gender` IN ('female', 'male', 'other')),
    `date_of_birth` DATE,
    `created_at` DATETIME,
    PRIMARY KEY (`customer_id`),
    INDEX `ix_customers_email` (`email`) -- customer lookup by email
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- customer_addresses: a customer's postal addresses (a customer may have several)
CREATE TABLE IF NOT EXISTS `customer_addresses` (
    `address_id` VARCHAR(64) NOT NULL,
    `customer_id` VARCHAR(64) NOT NULL,
    `street` VARCHAR(200),
    `postal_code` VARCHAR(16) NOT NULL,
    `city` VARCHAR(100),
    `state` VARCHAR(64),
    `country` VARCHAR(2), -- ISO 3166 alpha-2
    PRIMARY KEY (`address_id`),
    CONSTRAINT `fk_customer_addresses_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- logins: a customer's login: email and a slow salted password hash
CREATE TABLE IF NOT EXISTS `logins` (
    `customer_id` VARCHAR(64) NOT NULL,
    `email` VARCHAR(254) NOT NULL UNIQUE,
    `password_hash` VARCHAR(255) NOT NULL, -- scrypt hash with its salt and cost: never the password
    `updated_at` DATETIME,
    PRIMARY KEY (`customer_id`),
    CONSTRAINT `fk_logins_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- payment_cards: saved cards: brand, last four digits and expiry only (never a number or CVV)
CREATE TABLE IF NOT EXISTS `payment_cards` (
    `card_id` VARCHAR(64) NOT NULL,
    `customer_id` VARCHAR(64) NOT NULL,
    `brand` VARCHAR(32) NOT NULL,
    `last4` VARCHAR(4) NOT NULL,
    `exp_month` INT NOT NULL CHECK (`exp_month` >= 1 AND `exp_month` <= 12),
    `exp_year` INT NOT NULL CHECK (`exp_year` >= 2000 AND `exp_year` <= 2100),
    PRIMARY KEY (`card_id`),
    CONSTRAINT `fk_payment_cards_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- suppliers: who supplies products
CREATE TABLE IF NOT EXISTS `suppliers` (
    `supplier_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(200) NOT NULL,
    `email` VARCHAR(254),
    `phone` VARCHAR(32),
    `city` VARCHAR(100),
    `state` VARCHAR(64),
    `lead_time_days` INT CHECK (`lead_time_days` >= 0 AND `lead_time_days` <= 365), -- days from a purchase order to the delivery (restock report: 7 when empty)
    PRIMARY KEY (`supplier_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- delivery_partners: carriers that deliver orders: name and contact
CREATE TABLE IF NOT EXISTS `delivery_partners` (
    `partner_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(200) NOT NULL,
    `phone` VARCHAR(32),
    `email` VARCHAR(254),
    PRIMARY KEY (`partner_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- products: what the store sells: price, rating, stock, and clothes / electronics attributes
CREATE TABLE IF NOT EXISTS `products` (
    `product_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(200) NOT NULL,
    `category_id` VARCHAR(64),
    `kind` VARCHAR(11) NOT NULL DEFAULT 'general' CHECK (`kind` IN ('general', 'clothes', 'electronics')),
    `price` DECIMAL(12,2) NOT NULL CHECK (`price` >= 0),
    `rating` DECIMAL(3,2) CHECK (`rating` >= 0 AND `rating` <= 5), -- catalogue rating
    `units_in_stock` INT NOT NULL DEFAULT 0 CHECK (`units_in_stock` >= 0),
    `reorder_level` INT NOT NULL DEFAULT 10 CHECK (`reorder_level` >= 0),
    `size` VARCHAR(4) CHECK (`size` IN ('XS', 'S', 'M', 'L', 'XL', 'XXL', 'XXXL')), -- clothes
    `material` VARCHAR(64), -- clothes
    `gender` VARCHAR(6) CHECK (`gender` IN ('women', 'men', 'unisex', 'kids')), -- clothes: who it is cut for
    `weight_g` INT CHECK (`weight_g` >= 0), -- electronics and shipping
    `length_cm` DECIMAL(8,2) CHECK (`length_cm` >= 0),
    `width_cm` DECIMAL(8,2) CHECK (`width_cm` >= 0),
    `height_cm` DECIMAL(8,2) CHECK (`height_cm` >= 0),
    `created_at` DATETIME,
    PRIMARY KEY (`product_id`),
    CONSTRAINT `fk_products_category_id` FOREIGN KEY (`category_id`) REFERENCES `categories` (`category_id`),
    INDEX `ix_products_category_id` (`category_id`), -- categories report, product list by category
    INDEX `ix_products_units_in_stock` (`units_in_stock`), -- low-stock report
    INDEX `ix_products_kind_size` (`kind`, `size`) -- clothes by size (plus sizes)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- supplies: which supplier supplies which product, and how many units
CREATE TABLE IF NOT EXISTS `supplies` (
    `supplier_id` VARCHAR(64) NOT NULL,
    `product_id` VARCHAR(64) NOT NULL,
    `units` INT NOT NULL DEFAULT 0 CHECK (`units` >= 0), -- units supplied
    PRIMARY KEY (`supplier_id`, `product_id`),
    CONSTRAINT `fk_supplies_supplier_id` FOREIGN KEY (`supplier_id`) REFERENCES `suppliers` (`supplier_id`),
    CONSTRAINT `fk_supplies_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`),
    INDEX `ix_supplies_product_id` (`product_id`) -- low-stock report: suppliers of a product
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- carts: a customer's shopping cart
CREATE TABLE IF NOT EXISTS `carts` (
    `cart_id` VARCHAR(64) NOT NULL,
    `customer_id` VARCHAR(64) NOT NULL,
    `status` VARCHAR(11) NOT NULL DEFAULT 'open' CHECK (`status` IN ('open', 'checked_out', 'abandoned')),
    `created_at` DATETIME,
    `updated_at` DATETIME,
    PRIMARY KEY (`cart_id`),
    CONSTRAINT `fk_carts_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`),
    INDEX `ix_carts_customer_id` (`customer_id`) -- a customer's carts
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- cart_items: the quantity of each product in a cart
CREATE TABLE IF NOT EXISTS `cart_items` (
    `cart_id` VARCHAR(64) NOT NULL,
    `product_id` VARCHAR(64) NOT NULL,
    `quantity` INT NOT NULL DEFAULT 1 CHECK (`quantity` >= 1),
    `added_at` DATETIME,
    PRIMARY KEY (`cart_id`, `product_id`),
    CONSTRAINT `fk_cart_items_cart_id` FOREIGN KEY (`cart_id`) REFERENCES `carts` (`cart_id`),
    CONSTRAINT `fk_cart_items_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- wishlists: a customer's wishlist
CREATE TABLE IF NOT EXISTS `wishlists` (
    `wishlist_id` VARCHAR(64) NOT NULL,
    `customer_id` VARCHAR(64) NOT NULL,
    `name` VARCHAR(100),
    `created_at` DATETIME,
    PRIMARY KEY (`wishlist_id`),
    CONSTRAINT `fk_wishlists_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`),
    INDEX `ix_wishlists_customer_id` (`customer_id`) -- a customer's wishlists
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- wishlist_items: the products on a wishlist
CREATE TABLE IF NOT EXISTS `wishlist_items` (
    `wishlist_id` VARCHAR(64) NOT NULL,
    `product_id` VARCHAR(64) NOT NULL,
    `added_at` DATETIME,
    PRIMARY KEY (`wishlist_id`, `product_id`),
    CONSTRAINT `fk_wishlist_items_wishlist_id` FOREIGN KEY (`wishlist_id`) REFERENCES `wishlists` (`wishlist_id`),
    CONSTRAINT `fk_wishlist_items_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`),
    INDEX `ix_wishlist_items_product_id` (`product_id`) -- wishlists --by product: a product's wishlist lines
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- orders: orders: customer, cart, status and its timestamps, delivery partner
CREATE TABLE IF NOT EXISTS `orders` (
    `order_id` VARCHAR(64) NOT NULL,
    `customer_id` VARCHAR(64) NOT NULL,
    `cart_id` VARCHAR(64), -- the cart the order came from
    `status` VARCHAR(9) NOT NULL DEFAULT 'pending' CHECK (`status` IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'returned')),
    `purchased_at` DATETIME NOT NULL,
    `approved_at` DATETIME,
    `shipped_at` DATETIME,
    `delivered_at` DATETIME,
    `estimated_delivery_at` DATETIME,
    `delivery_partner_id` VARCHAR(64),
    PRIMARY KEY (`order_id`),
    CONSTRAINT `fk_orders_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`),
    CONSTRAINT `fk_orders_cart_id` FOREIGN KEY (`cart_id`) REFERENCES `carts` (`cart_id`),
    CONSTRAINT `fk_orders_delivery_partner_id` FOREIGN KEY (`delivery_partner_id`) REFERENCES `delivery_partners` (`partner_id`),
    INDEX `ix_orders_purchased_at` (`purchased_at`), -- sales, forecast, top-products by period
    INDEX `ix_orders_customer_id_purchased_at_status_order_id` (`customer_id`, `purchased_at`, `status`, `order_id`), -- a customer's orders; customer-orders, customer-activity, the customers summary of a marked customer (covering: the walk to the lines reads no order row; InnoDB holds order_id in every index anyway)
    INDEX `ix_orders_delivery_partner_id` (`delivery_partner_id`) -- delivery report
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- order_items: order lines: product, quantity, unit price at the time of sale
CREATE TABLE IF NOT EXISTS `order_items` (
    `order_id` VARCHAR(64) NOT NULL,
    `line_no` INT NOT NULL CHECK (`line_no` >= 1),
    `product_id` VARCHAR(64) NOT NULL,
    `supplier_id` VARCHAR(64), -- who fulfilled the line
    `quantity` INT NOT NULL DEFAULT 1 CHECK (`quantity` >= 1),
    `unit_price` DECIMAL(12,2) NOT NULL CHECK (`unit_price` >= 0), -- price at the time of sale
    `freight` DECIMAL(12,2) CHECK (`freight` >= 0),
    PRIMARY KEY (`order_id`, `line_no`),
    CONSTRAINT `fk_order_items_order_id` FOREIGN KEY (`order_id`) REFERENCES `orders` (`order_id`),
    CONSTRAINT `fk_order_items_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`),
    CONSTRAINT `fk_order_items_supplier_id` FOREIGN KEY (`supplier_id`) REFERENCES `suppliers` (`supplier_id`),
    INDEX `ix_order_items_product_id` (`product_id`) -- top-products, categories, product delete check
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- payments: payments: method, customer, time, amount
CREATE TABLE IF NOT EXISTS `payments` (
    `payment_id` VARCHAR(64) NOT NULL,
    `order_id` VARCHAR(64),
    `customer_id` VARCHAR(64),
    `method` VARCHAR(16) NOT NULL CHECK (`method` IN ('credit_card', 'debit_card', 'wallet', 'voucher', 'bank_transfer', 'cash_on_delivery', 'other')),
    `amount` DECIMAL(12,2) NOT NULL CHECK (`amount` >= 0),
    `installments` INT DEFAULT 1 CHECK (`installments` >= 1),
    `paid_at` DATETIME,
    `card_id` VARCHAR(64),
    PRIMARY KEY (`payment_id`),
    CONSTRAINT `fk_payments_order_id` FOREIGN KEY (`order_id`) REFERENCES `orders` (`order_id`),
    CONSTRAINT `fk_payments_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`),
    CONSTRAINT `fk_payments_card_id` FOREIGN KEY (`card_id`) REFERENCES `payment_cards` (`card_id`),
    INDEX `ix_payments_order_id` (`order_id`), -- an order's payments
    INDEX `ix_payments_customer_id_method` (`customer_id`, `method`), -- carts report: customers paying by a method
    INDEX `ix_payments_paid_at_method_amount` (`paid_at`, `method`, `amount`) -- payments report and its summary: covering, a month's payments by range
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- reviews: product reviews: score 1-5, title, comment
CREATE TABLE IF NOT EXISTS `reviews` (
    `review_id` VARCHAR(64) NOT NULL,
    `product_id` VARCHAR(64),
    `order_id` VARCHAR(64),
    `customer_id` VARCHAR(64),
    `score` INT NOT NULL CHECK (`score` >= 1 AND `score` <= 5),
    `title` VARCHAR(200),
    `comment` TEXT,
    `created_at` DATETIME,
    PRIMARY KEY (`review_id`),
    CONSTRAINT `fk_reviews_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`),
    CONSTRAINT `fk_reviews_order_id` FOREIGN KEY (`order_id`) REFERENCES `orders` (`order_id`),
    CONSTRAINT `fk_reviews_customer_id` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`customer_id`),
    INDEX `ix_reviews_product_id` (`product_id`), -- ratings report
    INDEX `ix_reviews_product_id_score` (`product_id`, `score`), -- ratings report: covering (0.46 s to 0.03 s, SQLite)
    INDEX `ix_reviews_order_id` (`order_id`) -- an order's reviews
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- stock_movements: every change of a product's stock, so current stock can be explained
CREATE TABLE IF NOT EXISTS `stock_movements` (
    `movement_id` VARCHAR(64) NOT NULL,
    `product_id` VARCHAR(64) NOT NULL,
    `delta` INT NOT NULL, -- units in (+) or out (-)
    `reason` VARCHAR(7) NOT NULL CHECK (`reason` IN ('initial', 'restock', 'adjust', 'sale', 'cancel', 'return', 'import')),
    `order_id` VARCHAR(64),
    `note` VARCHAR(200),
    `created_at` DATETIME NOT NULL,
    PRIMARY KEY (`movement_id`),
    CONSTRAINT `fk_stock_movements_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`),
    CONSTRAINT `fk_stock_movements_order_id` FOREIGN KEY (`order_id`) REFERENCES `orders` (`order_id`),
    INDEX `ix_stock_movements_product_id_created_at` (`product_id`, `created_at`) -- a product's stock history
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- product_images: a product's images and their search descriptors (ecom images add)
CREATE TABLE IF NOT EXISTS `product_images` (
    `product_id` VARCHAR(64) NOT NULL,
    `sha256` VARCHAR(64) NOT NULL, -- hex SHA-256 of the file's bytes
    `source` VARCHAR(1000) NOT NULL, -- path or URL it came from
    `width` INT NOT NULL CHECK (`width` >= 1),
    `height` INT NOT NULL CHECK (`height` >= 1),
    `file_bytes` INT NOT NULL CHECK (`file_bytes` >= 0), -- size of the file
    `method` VARCHAR(32) NOT NULL, -- descriptor version
    `preview` MEDIUMBLOB, -- the first part of descriptors: what every search reads
    `descriptors` MEDIUMBLOB NOT NULL, -- what image search compares
    `added_at` DATETIME,
    PRIMARY KEY (`product_id`, `sha256`),
    CONSTRAINT `fk_product_images_product_id` FOREIGN KEY (`product_id`) REFERENCES `products` (`product_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_sales_monthly: sales per calendar month (YYYY-MM) and product: units, revenue, and the sales holding it (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_sales_monthly (month CHAR(7) NOT NULL, product_id VARCHAR(64) NOT NULL, units BIGINT NOT NULL, revenue DECIMAL(20,2) NOT NULL, orders BIGINT NOT NULL, PRIMARY KEY (month, product_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_sales_daily: sales per day: orders, units, revenue (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_sales_daily (day DATE NOT NULL PRIMARY KEY, orders BIGINT NOT NULL, units BIGINT NOT NULL, revenue DECIMAL(20,2) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_customer_sales: purchases (sales with lines) per customer, all time; sales = orders (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_sales (customer_id VARCHAR(64) NOT NULL PRIMARY KEY, orders BIGINT NOT NULL, items BIGINT NOT NULL, revenue DECIMAL(20,2) NOT NULL, sales BIGINT NOT NULL, days BIGINT NOT NULL, first_sale_at DATETIME NOT NULL, last_sale_at DATETIME NOT NULL, INDEX ix_summary_customer_sales_report (items DESC, orders DESC, customer_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_customer_months: purchases per customer and calendar month (YYYY-MM), with the month of the customer's first purchase (cohort) (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_months (customer_id VARCHAR(64) NOT NULL, month CHAR(7) NOT NULL, cohort CHAR(7) NOT NULL, orders BIGINT NOT NULL, items BIGINT NOT NULL, revenue DECIMAL(20,2) NOT NULL, days BIGINT NOT NULL, first_at DATETIME NOT NULL, last_at DATETIME NOT NULL, PRIMARY KEY (customer_id, month)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_delivery_monthly: deliveries per purchase month, partner ('' for none) and delivery month (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_delivery_monthly (month CHAR(7) NOT NULL, partner_id VARCHAR(64) NOT NULL, delivered_month CHAR(7) NOT NULL, delivered BIGINT NOT NULL, on_time BIGINT NOT NULL, late_seconds BIGINT NOT NULL, PRIMARY KEY (month, partner_id, delivered_month)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_carts: every cart with its lines, items and total at the prices in summary_cart_prices (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_carts (cart_id VARCHAR(64) NOT NULL PRIMARY KEY, customer_id VARCHAR(64) NOT NULL, status VARCHAR(11) NOT NULL, n_lines BIGINT NOT NULL, items BIGINT NOT NULL, total DECIMAL(20,2) NOT NULL, INDEX ix_summary_carts_report (total DESC, cart_id, customer_id, status, n_lines, items)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_cart_prices: the product prices the cart totals were computed with (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_cart_prices (product_id VARCHAR(64) NOT NULL PRIMARY KEY, price DECIMAL(12,2) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_product_reviews: reviews per product: how many, and the sum of their scores (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_product_reviews (product_id VARCHAR(64) NOT NULL PRIMARY KEY, reviews BIGINT NOT NULL, score_sum BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_product_wishlists: wishlists per product: how many hold it, and their distinct customers (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_product_wishlists (product_id VARCHAR(64) NOT NULL PRIMARY KEY, wishlists BIGINT NOT NULL, customers BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_payments_daily: payments per day paid (YYYY-MM-DD, '' without paid_at) and method (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_payments_daily (day CHAR(10) NOT NULL, method VARCHAR(16) NOT NULL, payments BIGINT NOT NULL, amount DECIMAL(20,2) NOT NULL, PRIMARY KEY (day, method)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_supplier_products: per supplier with supplies: the products it supplies and their units (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_supplier_products (supplier_id VARCHAR(64) NOT NULL PRIMARY KEY, products BIGINT NOT NULL, units BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_months: months whose orders changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_months (month CHAR(7) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_customers: customers whose sales changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_customers (customer_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_carts: carts whose lines changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_carts (cart_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_products: products whose reviews or wishlists changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_products (product_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_prices: products whose price may have changed since the cart totals were computed (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_prices (product_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_payment_months: months (YYYY-MM, '' without paid_at) whose payments changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_payment_months (month CHAR(7) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_suppliers: suppliers whose supplies changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_suppliers (supplier_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_pairs_monthly: sales per pair of products bought together (a < b) and month (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_pairs_monthly (product_a VARCHAR(64) NOT NULL, product_b VARCHAR(64) NOT NULL, month CHAR(7) NOT NULL, orders BIGINT NOT NULL, PRIMARY KEY (product_a, product_b, month), INDEX ix_summary_pairs_monthly_month (month)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_pair_months: months whose orders changed since the pair counts were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_pair_months (month CHAR(7) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_customer_months: months whose orders changed since the customers' rows were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_customer_months (month CHAR(7) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_customer_wishlists: per customer with wishlists: how many, and the distinct products on them (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_customer_wishlists (customer_id VARCHAR(64) NOT NULL PRIMARY KEY, wishlists BIGINT NOT NULL, products BIGINT NOT NULL, INDEX ix_summary_customer_wishlists_report (products DESC, customer_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- summary_dirty_wishlist_customers: customers whose wishlists changed since the summaries were rebuilt (derived: see ecomcli/backends/summaries.py)
CREATE TABLE IF NOT EXISTS summary_dirty_wishlist_customers (customer_id VARCHAR(64) NOT NULL PRIMARY KEY, taken INTEGER NOT NULL DEFAULT 0) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO `ecom_meta` (`name`, `value`) VALUES ('schema_version', '1');
