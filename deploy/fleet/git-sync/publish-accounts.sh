#!/bin/bash
# Publishes the account files of a git-sync checkout into the directory the
# reconciler runs. git-sync runs it in the new commit's worktree after every
# sync that changed the commit (and once at start).
#
# Each file is copied beside its destination under a hidden name and renamed
# into place, so that the reconciler never reads half a file, and the files
# that left the repository are removed. The destination is a plain directory
# whose own files change, which the reconciler's directory watch sees. The
# checkout is reached through a symlink that git-sync swaps on every commit,
# deleting the old target: a watch on the checkout would see one commit only.
#
#   ACCOUNTS_PATH  the account files' directory in the repository (accounts)
#   ACCOUNTS_OUT   the directory the reconciler runs (/accounts)
set -euo pipefail
src=${ACCOUNTS_PATH:-accounts}
out=${ACCOUNTS_OUT:-/accounts}
if [ ! -d "$src" ]; then
  echo "publish-accounts: commit ${GITSYNC_HASH:-?} has no directory $src" >&2
  exit 1
fi
shopt -s nullglob
# Hidden files are not accounts (the globs skip them, as the reconciler does).
for f in "$src"/*.yaml "$src"/*.yml; do
  [ -f "$f" ] || continue
  name=${f##*/}
  cp "$f" "$out/.$name.tmp"
  mv -f "$out/.$name.tmp" "$out/$name"
done
for f in "$out"/*.yaml "$out"/*.yml; do
  name=${f##*/}
  [ -f "$src/$name" ] || rm -f "$f"
done
echo "publish-accounts: published $src of commit ${GITSYNC_HASH:-?}"
