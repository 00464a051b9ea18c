#!/usr/bin/env bash
# The vendored crates are the published ones plus our patches, nothing else:
#
#   vendor/check.sh                  each vendor/CRATE = the crate as published on crates.io
#                                    (its Cargo.toml, licences, README, CHANGES and src/)
#                                    with vendor/patches/CRATE-VERSION.patch applied
#   vendor/check.sh --upstream-tests CRATE
#                                    the published crate whole (its own tests too), the patch
#                                    applied, and its own test suite run on it: do this when a
#                                    crate is upgraded or its patch changes
#
# How to upgrade a crate or change its patch: vendor/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

version_of() { sed -n 's/^version = "\(.*\)"$/\1/p' "$here/$1/Cargo.toml" | head -n1; }

published() { # CRATE VERSION -> the unpacked published crate under $work
  curl -sSfL "https://static.crates.io/crates/$1/$1-$2.crate" | tar -xz -C "$work"
  echo "$work/$1-$2"
}

if [ "${1:-}" = "--upstream-tests" ]; then
  crate="${2:?which crate}"
  version="$(version_of "$crate")"
  source="$(published "$crate" "$version")"
  (cd "$source" && patch -p1 --quiet < "$here/patches/$crate-$version.patch")
  echo "== $crate $version, patched: its own tests"
  # Its own lock file, its own target directory: the crate as upstream tests it.
  (cd "$source" && CARGO_TARGET_DIR="$work/target" cargo test --locked --all-features)
  exit 0
fi

status=0
for dir in "$here"/*/; do
  crate="$(basename "$dir")"
  [ "$crate" = patches ] && continue
  version="$(version_of "$crate")"
  source="$(published "$crate" "$version")"
  expected="$work/expected-$crate"
  mkdir -p "$expected"
  for kept in Cargo.toml LICENSE-APACHE LICENSE-MIT README.md CHANGES.md src; do
    [ -e "$source/$kept" ] && cp -r "$source/$kept" "$expected/"
  done
  (cd "$expected" && patch -p1 --quiet < "$here/patches/$crate-$version.patch")
  if diff -r --exclude=PATCHED.md "$expected" "$here/$crate"; then
    echo "vendor/$crate = $crate $version as published + patches/$crate-$version.patch"
  else
    echo "vendor/$crate differs from $crate $version + its patch (above): regenerate the patch (vendor/README.md)"
    status=1
  fi
done
exit $status
