/** glibc pieces of a simulated process: the malloc of glibc 2.39 and a minimal host for it. */
export * from "./malloc";
export * from "./sparse_host";
