package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// envFromQuery reads an environment from package, host, arch, runtime and
// repeated tag.
func envFromQuery(q query) aggregator.Env {
	return aggregator.Env{Package: q.get("package"), Host: q.get("host"), Arch: q.get("arch"), Runtime: q.get("runtime"), Tags: q.tags()}
}

// getShouldBuild answers pony-build's "should I build?". With reserve=1 a
// yes also reserves the build (for allowance seconds), which needs a write
// token; otherwise a read is enough.
func (s *Server) getShouldBuild(c *gin.Context) (*reply, error) {
	q, err := newQuery(c, "package", "host", "arch", "runtime", "tag", "reserve", "allowance")
	if err != nil {
		return nil, err
	}
	req := aggregator.BuildRequest{Env: envFromQuery(q)}
	if req.Env.Package == "" {
		return nil, aggregator.Errorf(aggregator.EInvalid, "query parameter package is required")
	}
	if v := q.get("reserve"); v != "" {
		if req.Reserve, err = parseBool(v); err != nil {
			return nil, aggregator.Errorf(aggregator.EInvalid, "query parameter reserve: %v", err)
		}
	}
	if v := q.get("allowance"); v != "" {
		secs, err := parseSeconds(v)
		if err != nil {
			return nil, aggregator.Errorf(aggregator.EInvalid, "query parameter allowance: %v", err)
		}
		req.Allowance = time.Duration(secs * float64(time.Second))
	}
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	scope := aggregator.ScopeRead
	if req.Reserve {
		scope = aggregator.ScopeWrite
	}
	if err := s.authorize(c.Request.Context(), secret, req.Env.Package, scope); err != nil {
		return nil, err
	}
	ans, err := s.svc.ShouldBuild(c.Request.Context(), req)
	if err != nil {
		return nil, err
	}
	return &reply{body: ans}, nil
}

// buildRequestReply is the answer to POST /api/v1/should-build/request.
type buildRequestReply struct {
	Requested bool           `json:"requested"`
	Env       aggregator.Env `json:"env"`
	Tagset    []string       `json:"tagset"`
}

// postBuildRequest asks the next machine of an environment to build. The
// environment is a JSON body {"package", "host", "arch", "runtime",
// "tags"} or, with no body, the query (package, host, arch, runtime, tag).
func (s *Server) postBuildRequest(c *gin.Context) (*reply, error) {
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	if err := s.authenticate(c.Request.Context(), secret, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	var env aggregator.Env
	if len(bytes.TrimSpace(body)) > 0 {
		if _, err := newQuery(c); err != nil {
			return nil, aggregator.Errorf(aggregator.EInvalid, "send the environment either as a JSON body or as query parameters, not both")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil {
			return nil, aggregator.Errorf(aggregator.EInvalid, "bad environment JSON (want {\"package\", \"host\", \"arch\", \"runtime\", \"tags\"}): %v", err)
		}
	} else {
		q, err := newQuery(c, "package", "host", "arch", "runtime", "tag")
		if err != nil {
			return nil, err
		}
		env = envFromQuery(q)
	}
	if env.Package == "" {
		return nil, aggregator.Errorf(aggregator.EInvalid, "package is required")
	}
	if err := s.authorize(c.Request.Context(), secret, env.Package, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	if err := s.svc.RequestBuild(c.Request.Context(), env); err != nil {
		return nil, err
	}
	env = aggregator.NewEnv(ciOf(env))
	return &reply{status: http.StatusOK, body: buildRequestReply{Requested: true, Env: env, Tagset: env.Tagset()}}, nil
}

// ciOf is the client_info an environment describes.
func ciOf(env aggregator.Env) pony.ClientInfo {
	return pony.ClientInfo{Package: env.Package, Host: env.Host, Arch: env.Arch, Runtime: env.Runtime, Tags: env.Tags}
}
