#!/usr/bin/env bash
# Seeds both fuzz corpora with the compiled fixtures and some of the system's shared libraries.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=$(ls -d ../target/debug/build/dynplug-fixtures-*/out/fixtures 2>/dev/null | head -1)
[ -n "$fixtures" ] || { (cd .. && cargo build -p dynplug-fixtures); fixtures=$(ls -d ../target/debug/build/dynplug-fixtures-*/out/fixtures | head -1); }
for t in elf_parse dry_run; do
    mkdir -p corpus/$t
    cp -L "$fixtures"/*.so corpus/$t/
    for l in libz.so.1 libgcc_s.so.1 libffi.so.8 libexpat.so.1 libm.so.6; do
        [ -e /lib/x86_64-linux-gnu/$l ] && cp -L /lib/x86_64-linux-gnu/$l corpus/$t/
    done
done
