/**
 * The PGlite extensions the embedded database loads when it opens. Each entry
 * is the extension's name (the key PGlite expects, and the name the module
 * exports it under) → the module to import it from. Names, not the imported
 * objects: the database runs in a worker thread, which imports them itself.
 * @example export const PGLITE_EXTENSIONS = { pg_trgm: '@electric-sql/pglite/contrib/pg_trgm' };
 */
/** pg_trgm: the trigram GIN index of the items search (migrations 2026_12_03_0009_items_search, 2026_12_04_0010_items_search_text). */
export const PGLITE_EXTENSIONS: Readonly<Record<string, string>> = {
  pg_trgm: '@electric-sql/pglite/contrib/pg_trgm',
};

/** PGlite's `extensions` option, built by importing each module of `specs`. */
export async function loadPgliteExtensions(
  specs: Readonly<Record<string, string>>,
): Promise<Record<string, unknown>> {
  const extensions: Record<string, unknown> = {};
  for (const [name, specifier] of Object.entries(specs)) {
    const module = (await import(specifier)) as Record<string, unknown>;
    const extension = module[name];
    if (extension === undefined) throw new Error(`${specifier} does not export the PGlite extension ${name}`);
    extensions[name] = extension;
  }
  return extensions;
}
