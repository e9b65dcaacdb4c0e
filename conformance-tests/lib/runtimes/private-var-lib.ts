/**
 * Shell that gives the current (private) mount namespace a throwaway /var/lib: an overlay over the
 * machine's, with its upper layer on a tmpfs mounted at "$0". Runtimes that write under /var/lib
 * whatever their configuration says (containerd 1.6's and podman's libcni cache, podman's
 * blob-info cache) run after it, inside `unshare --mount`, so the machine's /var/lib is never
 * touched. Append the rest of the script with `&&`.
 */
export const THROWAWAY_VAR_LIB =
  'mount -t tmpfs tmpfs "$0" && mkdir "$0/upper" "$0/work" && ' +
  'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$0/upper,workdir=$0/work" /var/lib';
