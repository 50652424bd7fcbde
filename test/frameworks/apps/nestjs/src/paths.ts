/** The global prefix (from GLOBAL_PREFIX), as a path: `/portal`, or `` without one. */
export const prefix = process.env.GLOBAL_PREFIX ? `/${process.env.GLOBAL_PREFIX}` : '';
