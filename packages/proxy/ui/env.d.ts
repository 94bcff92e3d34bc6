/** esbuild bundles the stylesheets a module imports into the page's one CSS file. */
declare module "*.css" {}
