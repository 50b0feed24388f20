/** esbuild bundles CSS imports into app.css; for the type-checker they are side effects only. */
declare module '*.css';
