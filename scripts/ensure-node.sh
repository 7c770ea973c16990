#!/usr/bin/env bash
# Prints a directory holding the Node.js that .nvmrc names, to put first on
# PATH:  export PATH="$(scripts/ensure-node.sh):$PATH"
# If the `node` on PATH already is that major version, prints its own
# directory. Otherwise it fetches the official build from the npm registry
# (the node-<os>-<arch> packages that the `node` package itself installs) into
# .tools/, once. Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="$(tr -d ' \n\r' < "$root/.nvmrc")"
major="${want%%.*}"

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "ensure-node: no Node.js package for $(uname -s); install Node.js $want yourself (https://nodejs.org)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "ensure-node: no Node.js package for $(uname -m); install Node.js $want yourself" >&2; exit 1 ;;
esac

dir="$root/.tools/node-$want-$os-$arch"
if [ ! -x "$dir/bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to fetch Node.js $want" >&2; exit 1; }
  echo "ensure-node: fetching Node.js $want ($os-$arch) from the npm registry into .tools/" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-$os-$arch@$want" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-"$os"-"$arch"-*.tgz -C "$tmp/unpacked"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp/unpacked/package" "$dir"
  "$dir/bin/node" -v >/dev/null
fi
echo "$dir/bin"
