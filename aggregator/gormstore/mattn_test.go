//go:build cgo

package gormstore

import "gorm.io/driver/sqlite"

// The cgo driver (github.com/mattn/go-sqlite3 under gorm.io/driver/sqlite)
// is only in the tests, to compare it with the pure-Go driver the server
// uses (see BenchmarkCreateResult50k).
func init() { sqliteDialectors["mattn"] = sqlite.Open }
