package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// pony-build's XML-RPC API, with its argument and return shapes (see
// ctb/pony-build, pony_build/remote_api.py and coordinator.py):
//
//	add_results(client_info, results_list) → [result_key, auth_key]
//	get_results(result_key) → [receipt, client_info, results_list]
//	check_should_build(client_info, reserve_build=True, build_allowance=0) → [flag, reason]
//	get_tagsets_for_package(package) → [tagset, …], each a list of strings
//	get_last_result_for_tagset(package, tagset) → [receipt, client_info, results_list], or 0
//
// receipt is {result_key, time (float seconds since the epoch), client_ip}.
// Errors are faults: faultCode is the HTTP status the JSON API would answer
// (400, 401, 403, 404, 413, 500, 503) for the Service's errors, and the
// usual XML-RPC codes for protocol errors (see the fault* constants).
// Authentication is the Authorization: Bearer header, as for the JSON API.

// XML-RPC fault codes for protocol errors (the "specification for fault
// code interoperability").
const (
	faultParse          = -32700 // not well-formed XML
	faultInvalidRequest = -32600 // XML, but not a methodCall
	faultNoMethod       = -32601
	faultBadParams      = -32602
)

// xmlrpcFault is an error answered as a fault with its own code.
type xmlrpcFault struct {
	Code int
	Msg  string
}

func (f *xmlrpcFault) Error() string { return f.Msg }

func badParams(format string, args ...any) error {
	return &xmlrpcFault{Code: faultBadParams, Msg: fmt.Sprintf(format, args...)}
}

// xmlrpcRequest is what a method gets.
type xmlrpcRequest struct {
	ctx      context.Context
	secret   string
	clientIP string
	idemKey  string
	params   []any
	size     int
}

type xmlrpcMethod func(s *Server, r *xmlrpcRequest) (any, error)

var xmlrpcMethods = map[string]xmlrpcMethod{
	"add_results":                (*Server).xAddResults,
	"get_results":                (*Server).xGetResults,
	"check_should_build":         (*Server).xCheckShouldBuild,
	"get_tagsets_for_package":    (*Server).xGetTagsets,
	"get_last_result_for_tagset": (*Server).xGetLastResultForTagset,
	"system.listMethods":         (*Server).xListMethods,
}

// xmlrpc serves POST /xmlrpc. Every answer is 200 with a methodResponse;
// errors are faults, as XML-RPC clients expect.
func (s *Server) xmlrpc(c *gin.Context) {
	v, err := s.xmlrpcCall(c)
	var out bytes.Buffer
	if err == nil {
		if err = encodeResponse(&out, v); err != nil {
			err = fmt.Errorf("encode answer: %w", err)
			out.Reset()
		}
	}
	if err != nil {
		code, msg := faultOf(err)
		if code >= 500 {
			_ = c.Error(err)
		}
		encodeFault(&out, code, msg)
	}
	c.Data(200, "text/xml; charset=utf-8", out.Bytes())
}

// faultOf maps an error to a fault code and a message that is safe to show.
func faultOf(err error) (int, string) {
	var f *xmlrpcFault
	if errors.As(err, &f) {
		return f.Code, f.Msg
	}
	var se *xmlrpcSyntaxError
	if errors.As(err, &se) {
		if se.Malformed {
			return faultParse, "malformed XML: " + se.Error()
		}
		return faultInvalidRequest, "not a valid XML-RPC methodCall: " + se.Error()
	}
	if errors.Is(err, errXMLRPCLimit) {
		return 413, err.Error()
	}
	return statusOf(aggregator.ErrorCode(err)), aggregator.ErrorMessage(err)
}

func (s *Server) xmlrpcCall(c *gin.Context) (any, error) {
	secret, err := bearer(c.Request)
	if err != nil {
		return nil, err
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	call, err := decodeMethodCall(body, defaultXMLRPCLimits)
	if err != nil {
		return nil, err
	}
	m, ok := xmlrpcMethods[call.Method]
	if !ok {
		return nil, &xmlrpcFault{Code: faultNoMethod, Msg: fmt.Sprintf("unknown method %q (want %s)", clip(call.Method), strings.Join(methodNames(), ", "))}
	}
	return m(s, &xmlrpcRequest{
		ctx: c.Request.Context(), secret: secret, clientIP: c.ClientIP(),
		idemKey: c.GetHeader("Idempotency-Key"), params: call.Params, size: len(body),
	})
}

// methodNames lists the methods, sorted (a literal: xmlrpcMethods refers
// to xListMethods, which answers it).
func methodNames() []string {
	return []string{"add_results", "check_should_build", "get_last_result_for_tagset", "get_results", "get_tagsets_for_package", "system.listMethods"}
}

func (s *Server) xListMethods(r *xmlrpcRequest) (any, error) {
	if len(r.params) != 0 {
		return nil, badParams("system.listMethods takes no parameters, got %d", len(r.params))
	}
	return methodNames(), nil
}

// xAddResults is add_results(client_info, results_list) → [result_key,
// auth_key]. A retried call with the same Idempotency-Key header returns
// the first result's key and an empty auth_key.
func (s *Server) xAddResults(r *xmlrpcRequest) (_ any, err error) {
	outcome, tests := outcomeRejected, 0
	defer func() {
		if err != nil && statusOf(aggregator.ErrorCode(err)) >= 500 {
			if _, isFault := err.(*xmlrpcFault); !isFault {
				outcome = outcomeFailed
			}
		}
		s.metrics.ingested(outcome, "xmlrpc", r.size, tests)
	}()
	if len(r.params) != 2 {
		return nil, badParams("add_results takes (client_info, results_list), got %d parameters", len(r.params))
	}
	ci, ok := r.params[0].(map[string]any)
	if !ok {
		return nil, badParams("add_results: client_info must be a struct, got %s", xmlrpcType(r.params[0]))
	}
	list, ok := r.params[1].([]any)
	if !ok {
		return nil, badParams("add_results: results_list must be an array, got %s", xmlrpcType(r.params[1]))
	}
	if err := s.authenticate(r.ctx, r.secret, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	bag, err := bagFromXMLRPC(ci, list)
	if err != nil {
		return nil, err
	}
	for i := range bag.Steps {
		tests += len(bag.Steps[i].Tests)
	}
	if err := s.authorize(r.ctx, r.secret, bag.ClientInfo.Package, aggregator.ScopeWrite); err != nil {
		return nil, err
	}
	res, err := s.svc.Ingest(r.ctx, bag, aggregator.IngestOptions{IdempotencyKey: r.idemKey, ClientIP: r.clientIP})
	if err != nil {
		return nil, err
	}
	outcome = outcomeCreated
	if res.Existed {
		outcome = outcomeReplayed
	}
	return []any{res.Receipt.ResultKey, res.AuthKey}, nil
}

// xGetResults is get_results(result_key) → [receipt, client_info,
// results_list]. pony-build's keys were integers; one is read as its
// decimal text.
func (s *Server) xGetResults(r *xmlrpcRequest) (any, error) {
	if len(r.params) != 1 {
		return nil, badParams("get_results takes (result_key), got %d parameters", len(r.params))
	}
	key, err := xmlrpcString("result_key", r.params[0])
	if err != nil {
		return nil, badParams("get_results: %v", err)
	}
	if err := s.authenticate(r.ctx, r.secret, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	bag, err := s.svc.Result(r.ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r.ctx, r.secret, bag.ClientInfo.Package, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	return bagTriple(bag)
}

// xCheckShouldBuild is check_should_build(client_info, reserve_build=True,
// build_allowance=0) → [flag, reason]. Reserving needs a write token.
func (s *Server) xCheckShouldBuild(r *xmlrpcRequest) (any, error) {
	if len(r.params) < 1 || len(r.params) > 3 {
		return nil, badParams("check_should_build takes (client_info, reserve_build=True, build_allowance=0), got %d parameters", len(r.params))
	}
	ci, ok := r.params[0].(map[string]any)
	if !ok {
		return nil, badParams("check_should_build: client_info must be a struct, got %s", xmlrpcType(r.params[0]))
	}
	info, err := clientInfoFromXMLRPC(ci)
	if err != nil {
		return nil, err
	}
	req := aggregator.BuildRequest{Env: s.svc.EnvOf(info), Reserve: true}
	if len(r.params) > 1 {
		if req.Reserve, err = xmlrpcBool("reserve_build", r.params[1]); err != nil {
			return nil, badParams("check_should_build: %v", err)
		}
	}
	if len(r.params) > 2 {
		secs, err := xmlrpcSeconds("build_allowance", r.params[2])
		if err != nil {
			return nil, badParams("check_should_build: %v", err)
		}
		req.Allowance = time.Duration(secs * float64(time.Second))
	}
	scope := aggregator.ScopeRead
	if req.Reserve {
		scope = aggregator.ScopeWrite
	}
	if err := s.authorize(r.ctx, r.secret, info.Package, scope); err != nil {
		return nil, err
	}
	ans, err := s.svc.ShouldBuild(r.ctx, req)
	if err != nil {
		return nil, err
	}
	return []any{ans.Build, ans.Message}, nil
}

// xGetTagsets is get_tagsets_for_package(package) → the tagsets with
// results, each a sorted list of strings (tags, __package=, __arch=,
// __host=, and __runtime= when known).
func (s *Server) xGetTagsets(r *xmlrpcRequest) (any, error) {
	if len(r.params) != 1 {
		return nil, badParams("get_tagsets_for_package takes (package), got %d parameters", len(r.params))
	}
	pkg, err := xmlrpcString("package", r.params[0])
	if err != nil {
		return nil, badParams("get_tagsets_for_package: %v", err)
	}
	if err := s.authorize(r.ctx, r.secret, pkg, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	ts, err := s.svc.Tagsets(r.ctx, pkg)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Env.Tagset())
	}
	return out, nil
}

// xGetLastResultForTagset is get_last_result_for_tagset(package, tagset) →
// [receipt, client_info, results_list], or 0 when there is none (as
// pony-build answered). A tagset without __package= is read as package's.
func (s *Server) xGetLastResultForTagset(r *xmlrpcRequest) (any, error) {
	if len(r.params) != 2 {
		return nil, badParams("get_last_result_for_tagset takes (package, tagset), got %d parameters", len(r.params))
	}
	pkg, err := xmlrpcString("package", r.params[0])
	if err != nil {
		return nil, badParams("get_last_result_for_tagset: %v", err)
	}
	list, ok := r.params[1].([]any)
	if !ok {
		return nil, badParams("get_last_result_for_tagset: tagset must be an array of strings, got %s", xmlrpcType(r.params[1]))
	}
	tagset := make([]string, len(list))
	for i, v := range list {
		if tagset[i], err = xmlrpcString(fmt.Sprintf("tagset[%d]", i), v); err != nil {
			return nil, badParams("get_last_result_for_tagset: %v", err)
		}
	}
	env := aggregator.EnvFromTagset(tagset)
	if env.Package == "" {
		env.Package = pkg
	}
	if err := s.authorize(r.ctx, r.secret, pkg, aggregator.ScopeRead); err != nil {
		return nil, err
	}
	if env.Package != pkg {
		return int64(0), nil
	}
	bag, err := s.svc.LastForEnv(r.ctx, env)
	if aggregator.ErrorCode(err) == aggregator.ENotFound {
		return int64(0), nil
	}
	if err != nil {
		return nil, err
	}
	return bagTriple(bag)
}

// bagTriple is a stored bag as pony-build returned it: [receipt,
// client_info, results_list].
func bagTriple(bag *pony.Bag) ([]any, error) {
	receipt := map[string]any{}
	if r := bag.Receipt; r != nil {
		receipt["result_key"] = r.ResultKey
		receipt["time"] = float64(r.Time.UnixMicro()) / 1e6
		receipt["client_ip"] = r.ClientIP
	}
	ci, err := jsonToXMLRPC(bag.ClientInfo)
	if err != nil {
		return nil, fmt.Errorf("client_info: %w", err)
	}
	m, _ := ci.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	// pony-build's readers index these keys without checking.
	for _, k := range []string{"package", "host", "arch"} {
		if _, ok := m[k]; !ok {
			m[k] = ""
		}
	}
	if _, ok := m["tags"]; !ok {
		m["tags"] = []any{}
	}
	if _, ok := m["success"]; !ok {
		m["success"] = bag.Success()
	}
	steps := bag.Steps
	if steps == nil {
		steps = []pony.Step{}
	}
	list, err := jsonToXMLRPC(steps)
	if err != nil {
		return nil, fmt.Errorf("results_list: %w", err)
	}
	return []any{receipt, m, list}, nil
}

// jsonToXMLRPC turns a value's JSON form into XML-RPC values: numbers
// become ints when whole (durations stay doubles), null becomes nil.
func jsonToXMLRPC(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var g any
	if err := d.Decode(&g); err != nil {
		return nil, err
	}
	return numbers(g, ""), nil
}

func numbers(v any, key string) any {
	switch v := v.(type) {
	case json.Number:
		if key != "duration" && key != "time" {
			if n, err := v.Int64(); err == nil {
				return n
			}
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e, k)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e, key)
		}
	}
	return v
}

// xmlrpcType names a decoded value's XML-RPC type, for messages.
func xmlrpcType(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "a string"
	case int64:
		return "an int"
	case bool:
		return "a boolean"
	case float64:
		return "a double"
	case time.Time:
		return "a dateTime"
	case []byte:
		return "base64"
	case map[string]any:
		return "a struct"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// xmlrpcString reads a string field; ints and doubles are read as their
// text, base64 as its bytes (when UTF-8), nil as "".
func xmlrpcString(field string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case []byte:
		if utf8.Valid(v) {
			return string(v), nil
		}
		return strings.ToValidUTF8(string(v), "\uFFFD"), nil
	}
	return "", fmt.Errorf("%s must be a string, got %s", field, xmlrpcType(v))
}

func xmlrpcBool(field string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("%s must be a boolean, got %s", field, xmlrpcType(v))
}

// xmlrpcSeconds reads a duration in seconds; nil, negative and non-finite
// values (old clients send -1 for "unknown") read as 0.
func xmlrpcSeconds(field string, v any) (float64, error) {
	var f float64
	switch v := v.(type) {
	case nil:
		return 0, nil
	case int64:
		f = float64(v)
	case float64:
		f = v
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return 0, fmt.Errorf("%s must be a number of seconds, got %q", field, clip(v))
		}
	default:
		return 0, fmt.Errorf("%s must be a number of seconds, got %s", field, xmlrpcType(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, nil
	}
	return f, nil
}

// toJSONValue turns a decoded XML-RPC value into one encoding/json writes
// as the client meant it: dateTimes as RFC 3339 text, base64 as its text
// when UTF-8 (else as base64 text), non-finite doubles as text.
func toJSONValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return v
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = toJSONValue(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = toJSONValue(e)
		}
		return l
	}
	return v
}

func rawJSON(v any) (json.RawMessage, error) {
	return json.Marshal(toJSONValue(v))
}

// invalid is an EInvalid error for a bag sent over XML-RPC.
func invalid(format string, args ...any) error {
	return aggregator.Errorf(aggregator.EInvalid, format, args...)
}

// clientInfoFromXMLRPC reads an old client's client_info: package, host,
// arch, tags (an array, or one string), success (a boolean or 0/1),
// duration, and the fields pony.ClientInfo adds; every other key is kept
// as sent.
func clientInfoFromXMLRPC(m map[string]any) (pony.ClientInfo, error) {
	var ci pony.ClientInfo
	var err error
	for k, v := range m {
		switch k {
		case "package", "host", "arch", "runtime", "commit", "branch", "build_url":
			s, e := xmlrpcString("client_info."+k, v)
			if e != nil {
				return ci, invalid("%v", e)
			}
			switch k {
			case "package":
				ci.Package = s
			case "host":
				ci.Host = s
			case "arch":
				ci.Arch = s
			case "runtime":
				ci.Runtime = s
			case "commit":
				ci.Commit = s
			case "branch":
				ci.Branch = s
			case "build_url":
				ci.BuildURL = s
			}
		case "tags":
			if ci.Tags, err = xmlrpcTags(v); err != nil {
				return ci, err
			}
		case "success":
			if v == nil {
				continue
			}
			b, e := xmlrpcBool("client_info.success", v)
			if e != nil {
				return ci, invalid("%v", e)
			}
			ci.Success = &b
		case "duration":
			if ci.Duration, err = xmlrpcSeconds("client_info.duration", v); err != nil {
				return ci, invalid("%v", err)
			}
		default:
			raw, e := rawJSON(v)
			if e != nil {
				return ci, invalid("client_info.%s: %v", k, e)
			}
			if ci.Extra == nil {
				ci.Extra = map[string]json.RawMessage{}
			}
			ci.Extra[k] = raw
		}
	}
	if ci.Package == "" {
		return ci, invalid("client_info.package: is required (the name of the project being tested)")
	}
	return ci, nil
}

func xmlrpcTags(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		tags := make([]string, 0, len(v))
		for i, t := range v {
			s, err := xmlrpcString(fmt.Sprintf("client_info.tags[%d]", i), t)
			if err != nil {
				return nil, invalid("%v", err)
			}
			tags = append(tags, s)
		}
		return tags, nil
	}
	return nil, invalid("client_info.tags must be an array of strings, got %s", xmlrpcType(v))
}

// bagFromXMLRPC reads add_results' arguments into a bag. Old clients'
// quirks are absorbed: a step's status may be nil (it never ran: -1) or a
// boolean, output may be nil or base64, duration may be nil or -1
// (unknown: 0), command may be an array; keys beyond the bag's are kept as
// step extra keys.
func bagFromXMLRPC(ci map[string]any, list []any) (*pony.Bag, error) {
	info, err := clientInfoFromXMLRPC(ci)
	if err != nil {
		return nil, err
	}
	bag := &pony.Bag{ClientInfo: info, Steps: make([]pony.Step, 0, len(list))}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, invalid("results_list[%d] must be a struct, got %s", i, xmlrpcType(e))
		}
		st, err := stepFromXMLRPC(fmt.Sprintf("results_list[%d]", i), m)
		if err != nil {
			return nil, err
		}
		bag.Steps = append(bag.Steps, st)
	}
	return bag, nil
}

func stepFromXMLRPC(p string, m map[string]any) (pony.Step, error) {
	var st pony.Step
	var err error
	for k, v := range m {
		switch k {
		case "type", "name", "output", "errout", "format":
			s, e := xmlrpcString(p+"."+k, v)
			if e != nil {
				return st, invalid("%v", e)
			}
			switch k {
			case "type":
				st.Type = s
			case "name":
				st.Name = s
			case "output":
				st.Output = s
			case "errout":
				st.Errout = s
			case "format":
				st.Format = s
			}
		case "command":
			if l, ok := v.([]any); ok {
				parts := make([]string, len(l))
				for i, a := range l {
					if parts[i], err = xmlrpcString(fmt.Sprintf("%s.command[%d]", p, i), a); err != nil {
						return st, invalid("%v", err)
					}
				}
				st.Command = strings.Join(parts, " ")
			} else if st.Command, err = xmlrpcString(p+".command", v); err != nil {
				return st, invalid("%v", err)
			}
		case "status":
			if st.Status, err = xmlrpcStatus(p+".status", v); err != nil {
				return st, err
			}
		case "duration":
			if st.Duration, err = xmlrpcSeconds(p+".duration", v); err != nil {
				return st, invalid("%v", err)
			}
		case "incomplete":
			if st.Incomplete, err = xmlrpcBool(p+".incomplete", v); err != nil {
				return st, invalid("%v", err)
			}
		case "tests":
			raw, e := rawJSON(v)
			if e == nil {
				e = json.Unmarshal(raw, &st.Tests)
			}
			if e != nil {
				return st, invalid("%s.tests: %v", p, e)
			}
		case "totals":
			// Computed from the tests, never taken from the client.
		default:
			raw, e := rawJSON(v)
			if e != nil {
				return st, invalid("%s.%s: %v", p, k, e)
			}
			if st.Extra == nil {
				st.Extra = map[string]json.RawMessage{}
			}
			st.Extra[k] = raw
		}
	}
	return st, nil
}

// xmlrpcStatus reads a step's exit status: an int (or a whole double, or
// its text); a boolean as Python's int(); nil as -1 (never ran).
func xmlrpcStatus(field string, v any) (int, error) {
	switch v := v.(type) {
	case nil:
		return -1, nil
	case int64:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, invalid("%s: %d is not an exit status", field, v)
		}
		return int(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= math.MaxInt32 {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, nil
		}
	}
	return 0, invalid("%s must be an exit status (an int), got %s", field, xmlrpcType(v))
}
