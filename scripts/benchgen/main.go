// Command benchgen writes a large generated report, for benchmarks and
// memory measurements:
//
//	go run ./scripts/benchgen -format junit -n 50000 -o /tmp/big.xml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/pony-build/pony/internal/benchgen"
)

func main() {
	format := flag.String("format", "", "report format: gotest, junit or tap")
	n := flag.Int("n", 50000, "number of tests")
	out := flag.String("o", "-", "output file, - for standard output")
	flag.IntVar(&benchgen.ExtraPassingOutput, "passing-output", 0, "extra log lines printed by each passing test")
	flag.Parse()
	if err := run(*format, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func run(format string, n int, out string) error {
	f := os.Stdout
	if out != "-" {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		defer f.Close()
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := benchgen.Generate(format, w, n); err != nil {
		return err
	}
	return w.Flush()
}
