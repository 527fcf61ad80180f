#!/bin/sh
# Regenerates the go test -json inputs of the end-to-end tests from the tiny
# module in tinymod/ (real `go test` output; run from this directory).
set -eu
cd tinymod
go test -json -count=1 -run 'TestUpper|TestTable|TestSkipped' . > ../pass.json
go test -json -count=1 . > ../fail.json || true
cd ..
# A stream cut mid-line, as when the runner is killed: the first 1200 bytes.
head -c 1200 fail.json > truncated.json
