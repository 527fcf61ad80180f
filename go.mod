module github.com/pony-build/pony

go 1.26.8
