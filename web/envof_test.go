package web

import (
	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// EnvOf is no read: countingScoreboard passes it through uncounted.
func (c *countingScoreboard) EnvOf(ci pony.ClientInfo) aggregator.Env { return c.sb.EnvOf(ci) }
