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
# The Mach-O fixtures (x86_64 and arm64, chained and opcode fixups, dylibs and bundles).
mkdir -p corpus/macho
for f in "$fixtures"/macho/*/*.dylib "$fixtures"/macho/*/*.bundle; do
    cp -L "$f" "corpus/macho/$(basename "$(dirname "$f")")_$(basename "$f")"
done
