"""PostgreSQL-only pieces of the catalog: the search-vector function and trigger, the GIN
indexes for full-text search and attribute containment, and a backfill of category paths.
On SQLite these operations do nothing (search falls back to icontains there)."""

from django.db import migrations

SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_product_document(p_name text, p_sku text, p_description text, p_brand uuid)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(p_name, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(p_name, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(p_sku, '')), 'A')
        || setweight(to_tsvector('english', coalesce((SELECT name FROM catalog_brand WHERE id = p_brand), '')), 'B')
        || setweight(to_tsvector('english', coalesce(p_description, '')), 'C')
$$;

CREATE OR REPLACE FUNCTION catalog_product_search_vector_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name OR NEW.sku IS DISTINCT FROM OLD.sku
       OR NEW.description IS DISTINCT FROM OLD.description OR NEW.brand_id IS DISTINCT FROM OLD.brand_id
       OR NEW.search_vector IS NULL THEN
        NEW.search_vector := catalog_product_document(NEW.name, NEW.sku, NEW.description, NEW.brand_id);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER catalog_product_search_vector
    BEFORE INSERT OR UPDATE ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_product_search_vector_trg();

-- A brand rename changes the document of each of its products.
CREATE OR REPLACE FUNCTION catalog_brand_renamed_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        UPDATE catalog_product
           SET search_vector = catalog_product_document(name, sku, description, brand_id)
         WHERE brand_id = NEW.id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER catalog_brand_renamed
    AFTER UPDATE ON catalog_brand
    FOR EACH ROW EXECUTE FUNCTION catalog_brand_renamed_trg();

CREATE INDEX IF NOT EXISTS catalog_prod_search_gin ON catalog_product USING gin (search_vector);
CREATE INDEX IF NOT EXISTS catalog_prod_attrs_gin ON catalog_product USING gin (attributes jsonb_path_ops);
UPDATE catalog_product SET search_vector = catalog_product_document(name, sku, description, brand_id);
"""

REVERSE = """
DROP TRIGGER IF EXISTS catalog_brand_renamed ON catalog_brand;
DROP TRIGGER IF EXISTS catalog_product_search_vector ON catalog_product;
DROP FUNCTION IF EXISTS catalog_brand_renamed_trg();
DROP FUNCTION IF EXISTS catalog_product_search_vector_trg();
DROP FUNCTION IF EXISTS catalog_product_document(text, text, text, uuid);
DROP INDEX IF EXISTS catalog_prod_search_gin;
DROP INDEX IF EXISTS catalog_prod_attrs_gin;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_FUNCTION)
    # Backfill materialised paths, parents before children.
    Category = apps.get_model("catalog", "Category")
    by_parent: dict = {}
    for cat in Category.objects.all():
        by_parent.setdefault(cat.parent_id, []).append(cat)
    stack = [(c, "", 0) for c in by_parent.get(None, [])]
    while stack:
        cat, prefix, depth = stack.pop()
        cat.path, cat.depth = f"{prefix}{cat.id.hex}/", depth
        cat.save(update_fields=["path", "depth"])
        stack.extend((child, cat.path, depth + 1) for child in by_parent.get(cat.id, []))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_tree_search_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
