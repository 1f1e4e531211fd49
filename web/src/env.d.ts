/** Set at build time by vite.config.ts. */
declare const __API_ORIGIN__: string;
declare const __DEV_READ_KEY__: string;
