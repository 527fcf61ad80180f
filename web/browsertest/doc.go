// Package browsertest holds the web pages' real-browser test: it starts the
// real pony-server binary on a SQLite database seeded by the real
// pony-report binary, drives Debian's headless Chromium through it with
// chromedp, checks what a person sees, and saves full-page screenshots,
// light and dark, under docs/screenshots/.
//
// It has no code of its own: everything is in its tests. Chromium is found
// through PONY_CHROMIUM (scripts/test.sh installs and exports it) or on the
// PATH; without it the test skips, except in CI (CI set), where it fails.
package browsertest
