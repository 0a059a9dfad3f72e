#!/usr/bin/env bash
# Regenerates the unicode_loose collation table and its golden test data from Go's
# golang.org/x/text (Debian's golang-golang-x-text-dev, x/text 0.7.0; the table is CLDR 23 and
# has not changed since 2013). Not part of the build or of CI: the outputs are committed.
#
#   scripts/unicode-loose/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -f /usr/share/gocode/src/golang.org/x/text/collate/tables.go ]] || ! command -v go >/dev/null; then
    sudo_or_not=""
    [[ $(id -u) -ne 0 ]] && sudo_or_not=sudo
    $sudo_or_not apt-get install -y golang-go golang-golang-x-text-dev
fi
export GO111MODULE=off GOPATH=/usr/share/gocode
here=scripts/unicode-loose
data=crates/kernels/tests/data
python3 "$here/gen_tables.py" > crates/kernels/src/unicode_loose/tables.rs
go run "$here/golden.go" codepoints > "$data/unicode_loose_codepoints.txt"
python3 "$here/golden_inputs.py" | go run "$here/golden.go" strings > "$data/unicode_loose_strings.tsv"
echo "regenerated: crates/kernels/src/unicode_loose/tables.rs, $data/unicode_loose_{codepoints.txt,strings.tsv}"
